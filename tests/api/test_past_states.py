"""A past state is judged at its own moment, and agrees with the figures at that moment.

``GET /cases/{id}?as_of=T`` computes ``overdue`` at T (not now), ``?version=N`` at the time
version N was recorded; for random histories and moments the case reads and
``/stats/steps?as_of=T`` count the same backlog and overdue cases in each step.
"""

from __future__ import annotations

from collections import Counter
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.clock import ManualClock
from domain.model import Role
from projections.service import ProjectionService
from tests.api.conftest import LiveServer, Token, issue
from tests.api.helpers import open_case
from tests.projections.histories import examples, moves, play


def _get(client: httpx.Client, who: Token, path: str, **params: Any) -> httpx.Response:
    return client.get(path, params=params, headers=who.headers)


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_a_case_read_an_hour_after_its_report_is_judged_at_the_moment_asked(
    store: str, request: pytest.FixtureRequest, client_for: Any, clock: ManualClock
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    auditor = issue(server, Role.AUDITOR)
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    case_id = open_case(client, resident)
    reported = clock.now()
    clock.advance(timedelta(days=3))  # collect is due in 2 days: overdue now
    assert _get(client, auditor, f"/cases/{case_id}").json()["overdue"] is True
    then = (reported + timedelta(hours=1)).isoformat()
    assert _get(client, auditor, f"/cases/{case_id}", as_of=then).json()["overdue"] is False
    assert _get(client, auditor, f"/cases/{case_id}", version=1).json()["overdue"] is False
    ProjectionService(server.cases).catch_up()
    figures = _get(client, auditor, "/stats/steps", as_of=then).json()["steps"]
    assert {s["step"]: s["overdue"] for s in figures}["collect"] == 0


@pytest.mark.postgres
@examples(10)
@given(history=moves, pick=st.integers(0, 10_000), shift=st.sampled_from(
    [timedelta(0), timedelta(seconds=1), timedelta(hours=20), timedelta(days=3)]))
def test_case_reads_and_the_step_figures_agree_at_any_moment(
    pg_server: LiveServer, client_for: Any, clock: ManualClock,
    history: list[tuple[int, int, int]], pick: int, shift: timedelta,
) -> None:
    app = pg_server.cases
    client = client_for(pg_server)
    auditor = issue(pg_server, Role.AUDITOR)
    play(app, clock, history[:40])
    ProjectionService(app).catch_up()
    events = [e for case_id in app.case_ids() for e in app.history(case_id)]
    moment = min(events[pick % len(events)].recorded_at + shift, clock.now())
    figures = _get(client, auditor, "/stats/steps", as_of=moment.isoformat()).json()
    backlog: Counter[str] = Counter()
    overdue: Counter[str] = Counter()
    for case_id in app.case_ids():
        read = _get(client, auditor, f"/cases/{case_id}", as_of=moment.isoformat())
        if read.status_code == 404:  # reported after the moment
            assert app.history(case_id)[0].recorded_at > moment
            continue
        body = read.json()
        if body["status"] == "open":
            backlog[body["step"]] += 1
            overdue[body["step"]] += body["overdue"]
        at_version = _get(client, auditor, f"/cases/{case_id}", version=body["version"]).json()
        recorded = app.history(case_id)[body["version"] - 1].recorded_at
        state = app.get_case(case_id, version=body["version"])
        assert at_version["overdue"] == app.limits.is_overdue(state, recorded)
    for step in figures["steps"]:
        assert (step["backlog"], step["overdue"]) == (
            backlog[step["step"]], overdue[step["step"]]), (step, moment)
