"""The directory decides where a case is filed, and what a scope covers (practices.md).

Stories over a real application: the import file's contract, filing into registered
compounds only, with the directory's community, cases that keep where they were filed,
scopes at every level, providers over time, sealed team names, and the same hash chain.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from domain.directory.csvfile import parse
from domain.errors import (
    CommunityMismatch,
    DirectoryRefused,
    OutOfScope,
    PermissionDenied,
    UnknownUnit,
)
from domain.model import Actor, Role
from tests.conftest import report_data
from tests.district import OPERATOR

EXAMPLE = """\
level,code,name,parent,households,kind,provider,provider_from
street,JD1,示范街道,,,,,
community,K1,幸福社区,JD1,,,,
provider,LC2,绿城物业,,,property_company,,
compound,JX2,锦绣佳苑,K1,420,,LC2,2025-01-01
compound,JT2,涧田集资楼,K1,96,,,
grid,JX2-G1,锦绣佳苑一网格,JX2,,,,
"""


def _grid(*compounds: str) -> Actor:
    return Actor("grid-9", Role.GRID_WORKER, frozenset(compounds))


def test_the_example_file_registers_its_units_and_a_second_import_records_nothing(
    app: Cases,
) -> None:
    first = app.directory.apply_rows(parse(EXAMPLE), OPERATOR)
    head = app.head_position()
    second = app.directory.apply_rows(parse("\ufeff" + EXAMPLE), OPERATOR)
    assert (first.added, first.assignments) == (6, 1)
    assert second.events == 0
    assert app.head_position() == head
    unit = app.directory.unit("JX2")
    assert unit is not None
    assert (unit.name, unit.parent, unit.households) == ("锦绣佳苑", "K1", 420)
    assert unit.provider == "LC2"


@pytest.mark.parametrize(("row", "line", "field"), [
    ("compound,X1,某小区,NOPE,,,,", 3, "parent"),
    ("compound,X1,,K1,,,,", 3, "name"),
    ("compound,X 1,某小区,K1,,,,", 3, "code"),
    ("grid,G9,某网格,K1,,,,", 3, "parent"),
    ("compound,X1,某小区,K1,100001,,,", 3, "households"),
    ("compound,X1,某小区,K1,,,NOPE,", 3, "provider"),
    ("provider,P9,某物业,,,landlord,,", 3, "kind"),
    ("compound,X1,某小区,K1,,,,2025-02-30", 3, "provider_from"),
    ("county,X1,某县,,,,,", 3, "level"),
])
def test_a_bad_row_is_reported_with_its_line_and_nothing_is_imported(
    app: Cases, row: str, line: int, field: str
) -> None:
    text = "level,code,name,parent,households,kind,provider,provider_from\n" + \
        "community,K1,幸福社区,S1,,,,\n" + row + "\n"
    head = app.head_position()
    with pytest.raises(DirectoryRefused) as refused:
        app.directory.apply_rows(parse(text), OPERATOR)
    assert refused.value.errors[0]["line"] == line
    assert refused.value.errors[0]["field"] == field
    assert app.head_position() == head
    assert app.directory.unit("K1") is None


def test_only_a_registered_compound_takes_a_case(app: Cases) -> None:
    head = app.head_position()
    with pytest.raises(UnknownUnit) as refused:
        app.report_problem(_grid("NOWHERE"), report_data(compound_id="NOWHERE"))
    assert "register" in refused.value.hint
    with pytest.raises(UnknownUnit):  # a community's code is not a compound
        app.report_problem(_grid("C1"), report_data(compound_id="C1"))
    assert app.head_position() == head


def test_the_community_is_the_directorys_and_a_body_may_only_repeat_it(app: Cases) -> None:
    data = report_data()
    del data["community_id"]
    case = app.report_problem(_grid("JX"), data).case
    assert case.community_id == "C1"
    with pytest.raises(CommunityMismatch) as refused:
        app.report_problem(_grid("JX"), report_data(community_id="C2"))
    assert refused.value.registered == "C1"


def test_a_community_cannot_file_into_a_compound_of_another_community(app: Cases) -> None:
    community = Actor("community-1", Role.COMMUNITY, communities=frozenset({"C1"}))
    head = app.head_position()
    with pytest.raises(CommunityMismatch):  # the body's community is not the case's
        app.report_problem(community, report_data(compound_id="HY", community_id="C1"))
    data = report_data(compound_id="HY")
    del data["community_id"]
    with pytest.raises(OutOfScope):
        app.report_problem(community, data)
    assert app.head_position() == head


def test_a_case_keeps_where_it_was_filed_when_its_compound_moves(app: Cases) -> None:
    before = app.report_problem(_grid("JT"), report_data(compound_id="JT", community_id="C1"))
    app.directory.apply_rows(parse("level,code,name,parent\ncompound,JT,涧田集资楼,C2\n"),
                             OPERATOR)
    data = report_data(compound_id="JT")
    del data["community_id"]
    after = app.report_problem(_grid("JT"), data)
    assert app.get_case(before.case.id).community_id == "C1"
    assert after.case.community_id == "C2"
    c1 = Actor("community-1", Role.COMMUNITY, communities=frozenset({"C1"}))
    c2 = Actor("community-2", Role.COMMUNITY, communities=frozenset({"C2"}))
    assert app.get_case(before.case.id, reader=c1).id == before.case.id
    with pytest.raises(OutOfScope):
        app.get_case(after.case.id, reader=c1)
    assert app.get_case(after.case.id, reader=c2).id == after.case.id


@pytest.mark.parametrize(("named", "sees_jx", "sees_hy", "sees_other"), [
    ({("street", "S1")}, True, True, False),
    ({("street", "S2")}, False, False, True),
    ({("community", "C2")}, False, True, False),
    ({("compound", "JX")}, True, False, False),
    ({("grid", "JX-G1")}, True, False, False),
    ({("area", "A1")}, True, False, False),
])
def test_a_scope_names_units_at_any_level_and_covers_everything_beneath(
    app: Cases, named: set[tuple[str, str]], sees_jx: bool, sees_hy: bool, sees_other: bool
) -> None:
    app.directory.apply_rows(parse(
        "level,code,name,parent\narea,A1,东片区,C1\ncompound,JX,锦绣佳苑,A1\n"), OPERATOR)
    staff = Actor("staff", Role.COMMUNITY, communities=frozenset({"C1", "C2", "C9"}))
    ids = {}
    for compound in ("JX", "HY", "OTHER"):
        data = report_data(compound_id=compound)
        del data["community_id"]
        ids[compound] = app.report_problem(staff, data).case.id
    reader = Actor("reader", Role.AUDITOR, units=frozenset(named))
    for compound, expected in (("JX", sees_jx), ("HY", sees_hy), ("OTHER", sees_other)):
        if expected:
            assert app.get_case(ids[compound], reader=reader).compound_id == compound
        else:
            with pytest.raises(OutOfScope):
                app.get_case(ids[compound], reader=reader)


def test_a_scope_naming_units_never_reads_as_the_whole_store(app: Cases) -> None:
    assert not Actor("x", Role.AUDITOR, units=frozenset({("street", "NOPE")})).is_district_wide
    data = report_data()
    case = app.report_problem(_grid("JX"), data).case
    with pytest.raises(OutOfScope):
        app.get_case(case.id, reader=Actor("x", Role.AUDITOR,
                                           units=frozenset({("street", "NOPE")})))


def test_who_served_a_compound_in_march_is_answerable(app: Cases, clock: ManualClock) -> None:
    app.directory.apply_rows(parse(
        "level,code,name,parent,kind,provider,provider_from\n"
        "provider,WK,万科物业,,property_company,,\n"
        "compound,JX,锦绣佳苑,C1,,WK,2026-04-01\n"), OPERATOR)
    unit = app.directory.unit("JX")
    assert unit is not None
    assert unit.provider_on("2026-03-15") == "LC"
    assert unit.provider_on("2026-04-02") == "WK"
    assert unit.provider_on("2024-12-31") is None
    history = [type(e).__name__ for e in app.directory.history("JX")]
    assert history == ["UnitRegistered", "ProviderAssigned", "ProviderAssigned"]


def test_only_an_admin_changes_the_directory_and_only_within_its_scope(app: Cases) -> None:
    with pytest.raises(PermissionDenied):
        app.directory.apply_rows(parse(EXAMPLE), _grid("JX"))
    scoped = Actor("admin-c1", Role.ADMIN, communities=frozenset({"C1"}))
    app.directory.apply_rows(parse("level,code,name,parent\ncompound,NEW,新小区,C1\n"), scoped)
    for row in ("compound,NEW2,新小区,C2", "compound,HY,和园改名,C2", "street,S3,新街道,",
                "compound,JX,锦绣佳苑,C2", "compound,HY,和园,C1"):
        with pytest.raises(DirectoryRefused):
            app.directory.apply_rows(parse("level,code,name,parent\n" + row + "\n"), scoped)


def test_grid_team_names_are_sealed_and_erasable(app: Cases) -> None:
    app.directory.set_team("JX-G1", [("full_time", "李专职"), ("part_time", "王兼职")], OPERATOR)
    unit = app.directory.unit("JX-G1")
    assert unit is not None
    events = app.directory.history("JX-G1")
    assert "李专职" not in repr([e.data for e in events])
    staff = Actor("c", Role.COMMUNITY, communities=frozenset({"C1"}))
    resident = Actor("r", Role.RESIDENT, frozenset({"JX"}))
    assert [m["name"] for m in app.directory.team(unit, staff)] == ["李专职", "王兼职"]
    assert app.directory.team(unit, resident) == [{"role": "full_time"}, {"role": "part_time"}]
    app.erase_subject(unit.team[0]["subject_id"], OPERATOR)
    assert [m["name"] for m in app.directory.team(unit, staff)] == [None, "王兼职"]


def test_the_directorys_streams_carry_the_same_hash_chain(app: Cases, clock: ManualClock) -> None:
    app.report_problem(_grid("JX"), report_data())
    clock.advance(timedelta(minutes=1))
    reports = list(app.verify_all())
    assert reports
    assert all(r.valid for r in reports)
    units = {r.case_id for r in reports} - set(app.case_ids())
    assert len(units) == len(app.directory.view.units)
