"""The simulated district: deterministic, verifiable, and shaped like a real street (模拟街道)."""

from __future__ import annotations

import importlib.util
import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from api.cli import main
from api.progress import Progress
from domain.application import Cases, open_cases
from domain.case_reads import StoredCaseEvent
from domain.catalogue import Category
from domain.clock import ManualClock
from simulation.district import YEAR, build_district, grid_code
from simulation.driver import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)


def simulate(url: str, cases: int, seed: int) -> Cases:
    app = open_cases(url, clock=ManualClock(NOW))
    generate(app, cases=cases, seed=seed, now=NOW)
    return app


def heads(app: Cases) -> dict[str, str]:
    return {str(case_id): app.get_case(case_id).head_hash for case_id in app.case_ids()}


@pytest.fixture(scope="module")
def district() -> Iterator[Cases]:
    app = simulate("memory:", 300, seed=7)
    yield app
    app.close()


@pytest.fixture(scope="module")
def histories(district: Cases) -> list[list[StoredCaseEvent]]:
    return [district.history(case_id) for case_id in district.case_ids()]


def test_the_same_seed_gives_the_same_events_and_another_seed_does_not() -> None:
    first, again, other = (simulate("memory:", 80, seed) for seed in (1, 1, 2))
    try:
        assert len(heads(first)) == 80
        assert heads(first) == heads(again)
        assert set(heads(first).values()).isdisjoint(heads(other).values())
    finally:
        for app in (first, again, other):
            app.close()


def test_worker_processes_simulate_the_same_events() -> None:
    here, there = open_cases("memory:"), open_cases("memory:")
    try:
        generate(here, cases=120, seed=5, now=NOW, chunk=40)
        generate(there, cases=120, seed=5, now=NOW, chunk=40, workers=1)
        assert heads(here) == heads(there)
    finally:
        here.close()
        there.close()


def test_every_chain_verifies(district: Cases) -> None:
    reports = list(district.verify_all())
    assert len([r for r in reports if r.stream == "case"]) == 300
    assert len([r for r in reports if r.stream == "unit"]) == len(district.directory.view.units)
    assert all(report.valid for report in reports)


def test_one_street_with_communities_compounds_and_some_without_a_property_company() -> None:
    street = build_district(7)
    assert 5 <= len(street.communities) <= 6
    assert 30 <= len(street.compounds) <= 40
    assert 3 <= len(street.without_property()) < len(street.compounds) // 2
    assert {c.community for c in street.compounds} == set(street.communities)


def test_work_in_compounds_without_a_property_company_never_goes_to_one(
    histories: list[list[StoredCaseEvent]],
) -> None:
    without = {c.id for c in build_district(7).without_property()}
    assigned: Counter[tuple[bool, str]] = Counter()
    for events in histories:
        compound = events[0].data["compound_id"]
        for event in events:
            if event.type == "ImplementationAssigned":
                assigned[compound in without, event.data["assignee_role"]] += 1
    assert assigned[True, "owners_committee"]
    assert assigned[True, "community"]
    assert assigned[True, "property_company"] == 0
    assert assigned[False, "property_company"] > assigned[False, "community"]


def test_grid_workers_reports_and_collections_carry_their_compounds_grid(
    histories: list[list[StoredCaseEvent]],
) -> None:
    stamped: Counter[tuple[str, str, bool]] = Counter()
    for events in histories:
        compound = events[0].data["compound_id"]
        for event in events:
            if event.type in ("ProblemReported", "ProblemCollected"):
                grid = event.data.get("grid")
                stamped[event.type, event.actor_role, grid is not None] += 1
                assert grid in (None, grid_code(compound))
                assert (grid is not None) == (event.actor_role == "grid_worker")
    assert stamped["ProblemReported", "grid_worker", True]
    assert stamped["ProblemCollected", "grid_worker", True]
    assert stamped["ProblemCollected", "community", False]


def test_every_category_loops_merges_and_withdrawals_occur(
    histories: list[list[StoredCaseEvent]],
) -> None:
    types = Counter(event.type for events in histories for event in events)
    categories = {events[0].data["category"] for events in histories}
    channels = {events[0].data["channel"] for events in histories}
    assert categories == {c.value for c in Category}
    assert len(channels) >= 5
    for looped in ("TopicReturned", "ObjectionRaised", "CaseReopened", "CaseMerged",
                   "ReportMerged", "CaseWithdrawn", "TopicRejected", "CommentAdded"):
        assert types[looped] > 0, looped
    outcomes = Counter(e.data.get("outcome") or e.data.get("verdict") for events in histories
                       for e in events if e.type in ("MeetingHeld", "SupervisionRecorded"))
    assert outcomes["not_agreed"]
    assert outcomes["failed"]
    sources = Counter(e.data["source"] for events in histories for e in events
                      if e.type == "ResidentRated")
    assert sources["resident"]
    assert sources["callback"]


def test_some_cases_are_still_open_and_some_are_overdue(district: Cases) -> None:
    cases = [district.get_case(case_id) for case_id in district.case_ids()]
    still_open = [case for case in cases if case.is_open]
    resolutions = Counter(str(case.resolution) for case in cases if not case.is_open)
    assert 0 < len(still_open) < len(cases) // 2
    assert any(district.limits.is_overdue(case, NOW) for case in still_open)
    assert set(resolutions) == {"resolved", "rejected", "withdrawn", "merged", "no_consensus"}


def test_reports_span_the_year_before_now_and_nothing_happens_after_it(
    histories: list[list[StoredCaseEvent]],
) -> None:
    reported = [events[0].recorded_at for events in histories]
    assert min(reported) < NOW - YEAR + timedelta(days=20)
    assert max(reported) > NOW - timedelta(days=20)
    assert len({(t + timedelta(hours=8)).month for t in reported}) == 12
    assert max(events[-1].recorded_at for events in histories) <= NOW
    for events in histories:
        times = [event.recorded_at for event in events]
        assert times == sorted(times)


def test_the_seasons_show_rain_in_summer_heating_in_winter_and_planting_in_spring(
    histories: list[list[StoredCaseEvent]],
) -> None:
    by_season: dict[str, Counter[str]] = {"spring": Counter(), "summer": Counter(),
                                          "winter": Counter()}
    seasons = {3: "spring", 4: "spring", 5: "spring", 6: "summer", 7: "summer", 8: "summer",
               12: "winter", 1: "winter", 2: "winter"}
    for events in histories:
        season = seasons.get((events[0].recorded_at + timedelta(hours=8)).month)
        if season:
            title = events[0].data["title"]
            words = ("漏水", "污水", "暖气", "种")
            by_season[season].update(word for word in words if word in title)
    summer, winter, spring = by_season["summer"], by_season["winter"], by_season["spring"]
    assert summer["漏水"] + summer["污水"] > 3 * (winter["漏水"] + winter["污水"])
    assert winter["暖气"] > 3 * summer["暖气"]
    assert spring["种"] > winter["种"]


def test_reporter_contacts_are_sealed_and_open_with_the_stored_keys(district: Cases) -> None:
    sealed = [case for case_id in district.case_ids()
              if (case := district.get_case(case_id)).reporter is not None]
    assert len(sealed) > 50
    for case in sealed[:20]:
        assert "ciphertext" in case.reporter  # type: ignore[operator]
        contact = district.reporter_of(case)
        assert contact is not None
        assert contact["phone"].isdigit()
        assert contact["name"]


def test_the_command_fills_a_store_and_says_how_to_look_around(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    status = main(["demo", "--cases", "50", "--seed", "1", "--now", "2026-11-01",
                   "--database-url", sqlite_url])
    out = capsys.readouterr().out
    assert status == 0
    assert "50 cases" in out
    assert " replay " in out
    assert f"--database-url {sqlite_url} verify" in out
    if importlib.util.find_spec("api.credentials") is not None:
        for role in ("resident", "community", "property_company", "auditor", "admin"):
            assert f"  {role} " in out
        assert "curl -H 'Authorization: Bearer yst_" in out
    assert main(["--database-url", sqlite_url, "verify"]) == 0
    capsys.readouterr()
    # The projections and the points policy are caught up; the policy reads past its own
    # awards (README: "yishi demo leaves them caught up"; the log is built by the server).
    assert main(["--database-url", sqlite_url, "projections", "status"]) == 0
    lines = [line for line in capsys.readouterr().out.splitlines()
             if " lag " in line and not line.startswith("log ")]
    assert any(line.split()[0] == "points" for line in lines), lines
    assert all(line.split()[-1] == "0" for line in lines), lines


def test_the_command_refuses_a_store_that_already_holds_events(
    sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--cases", "3", "--database-url", sqlite_url]) == 0
    capsys.readouterr()
    assert main(["demo", "--cases", "3", "--database-url", sqlite_url]) == 2
    assert "already holds" in capsys.readouterr().err


@pytest.mark.parametrize("bad", ["0", "-1", "abc"])
def test_a_bad_case_count_is_one_line_and_status_2(
    bad: str, sqlite_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--cases", bad, "--database-url", sqlite_url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert err.startswith("yishi: --cases")


@pytest.mark.postgres
def test_a_small_district_on_postgresql_equals_the_one_in_memory(pg_url: str) -> None:
    stored, reference = simulate(pg_url, 60, seed=3), simulate("memory:", 60, seed=3)
    try:
        assert all(report.valid for report in stored.verify_all())
        assert heads(stored) == heads(reference)
    finally:
        stored.close()
        reference.close()


class FakeTerminal(io.StringIO):
    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


@pytest.mark.parametrize("tty", [True, False])
def test_progress_is_a_bar_on_a_terminal_and_plain_lines_elsewhere(tty: bool) -> None:
    stream = FakeTerminal(tty)
    progress = Progress(200, "cases", stream=stream, quiet_for=0.0, every=0.0)
    progress(100, 1600)
    progress(200, 3200)
    text = stream.getvalue()
    if tty:
        assert text.startswith("\r[")
        assert "100%" in text
        assert text.endswith("\n")
    else:
        assert text.splitlines()[0].startswith("demo: 100/200 cases")
        assert "\r" not in text


def test_progress_stays_silent_when_the_work_is_quick() -> None:
    stream = FakeTerminal(True)
    progress = Progress(10, stream=stream)
    progress(5)
    progress(10)
    assert stream.getvalue() == ""
