"""Erasure by shredding a subject's key (PIPL): the contact is gone, nothing else moves."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from domain.errors import OutOfScope, PermissionDenied
from domain.model import Actor, Role, Step
from tests.conftest import People, report_data
from tests.domain.helpers import state_of
from tests.stories import advance, open_case

AppFactory = Callable[[str], Cases]


def test_erasing_a_reporter_leaves_history_version_and_chain_untouched(
    store_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(store_url)
    case_id = open_case(app)
    advance(app, clock, case_id, Step.PUBLISH)
    staff_case = app.report_problem(
        People.grid, report_data(reporter={"name": "王五", "phone": "13700000000"})).case.id
    history, state = app.history(case_id), state_of(app.get_case(case_id))
    assert app.reporter_of(app.get_case(case_id)) == {"name": "张三", "phone": "13800000000"}

    assert app.erase_subject("resident:resident-1", People.admin) is True

    case = app.get_case(case_id)
    assert app.reporter_of(case) == {"erased": True}
    assert app.history(case_id) == history
    assert case.version == history[-1].version
    assert state_of(case) == state
    assert app.verify(case_id).valid
    assert app.reporter_of(app.get_case(staff_case)) == {"name": "王五", "phone": "13700000000"}
    assert all(report.valid for report in app.verify_all())
    assert app.erase_subject("resident:resident-1", People.admin) is False
    assert app.erase_subject("resident:nobody", People.admin) is False


def test_a_resident_who_reports_again_after_erasure_does_not_reopen_the_old_contact(
    store_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(store_url)
    old_case = open_case(app)
    app.erase_subject("resident:resident-1", People.admin)
    new_case = app.report_problem(
        People.resident, report_data(reporter={"name": "张三", "phone": "13811111111"})).case
    assert app.reporter_of(new_case) == {"name": "张三", "phone": "13811111111"}
    assert app.reporter_of(app.get_case(old_case)) == {"erased": True}


@pytest.mark.parametrize("actor", [People.community, People.auditor, People.resident],
                         ids=lambda a: a.role.value)
def test_only_an_admin_may_erase_personal_data(
    app: Cases, actor: object
) -> None:
    case_id = open_case(app)
    with pytest.raises(PermissionDenied):
        app.erase_subject("resident:resident-1", actor)  # type: ignore[arg-type]
    assert app.reporter_of(app.get_case(case_id)) == {"name": "张三", "phone": "13800000000"}


@pytest.mark.parametrize(
    "actor",
    [People.property, Actor("resident-9", Role.RESIDENT, frozenset({"OTHER"}))],
    ids=["a-role-that-may-not-report", "a-resident-of-another-compound"],
)
def test_a_refused_report_leaves_no_personal_data_key_behind(
    store_url: str, app_factory: AppFactory, actor: Actor
) -> None:
    app = app_factory(store_url)
    with pytest.raises((PermissionDenied, OutOfScope)):
        app.report_problem(actor, report_data())
    assert app.db.execute(f"SELECT subject_id FROM {app.db.table('yishi_subject_keys')}") == []
    assert list(app.case_ids()) == []
