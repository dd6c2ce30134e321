"""The server stamps a grid worker's grid on reports and collections (docs/adr/0115).

A grid worker whose credential names a grid in the case's compound gets that grid in the
data of its ProblemReported and ProblemCollected; anyone else gets none; a body may name
only the grid the server would stamp (422 otherwise). The case's grid is that of the first
such event with one, as the projections fold it.
"""

from __future__ import annotations

from typing import Any

import pytest

from domain.application import Cases
from domain.directory.csvfile import parse
from domain.errors import InvalidEventData
from domain.model import Actor, Role
from projections.fold import EventView, apply_event
from tests.conftest import People, report_data
from tests.district import OPERATOR

JX_WORKER = Actor("grid-jx", Role.GRID_WORKER, units=frozenset({("grid", "JX-G1")}))
TWO_GRIDS = Actor("grid-two", Role.GRID_WORKER,
                  units=frozenset({("grid", "JX-G1"), ("grid", "JX-G2")}))
#: A grid worker of another compound's grid (HY-G1 lies in HY).
HY_WORKER = Actor("grid-hy", Role.GRID_WORKER, units=frozenset({("grid", "HY-G1")}))
MORE_GRIDS = """level,code,name,parent,households,kind,provider,provider_from
grid,JX-G2,锦绣佳苑二网格,JX,,,,
grid,HY-G1,和园一网格,HY,,,,
"""


@pytest.fixture
def grids(app: Cases) -> Cases:
    app.directory.apply_rows(parse(MORE_GRIDS), OPERATOR)
    return app


def _data(app: Cases, case_id: Any, event_type: str) -> dict[str, Any]:
    [event] = [e for e in app.history(case_id) if e.type == event_type]
    return event.data


def _grid(app: Cases, case_id: Any) -> str | None:
    facts = None
    for position, event in enumerate(app._case_events(case_id), start=1):
        facts = apply_event(facts, EventView.of(event), position, app.limits)
    assert facts is not None
    return facts.grid


def test_a_grid_workers_report_carries_its_grid(grids: Cases) -> None:
    case = grids.report_problem(JX_WORKER, report_data(channel="grid_patrol")).case
    assert _data(grids, case.id, "ProblemReported")["grid"] == "JX-G1"
    assert _grid(grids, case.id) == "JX-G1"


def test_a_grid_worker_without_a_grid_scope_stamps_nothing(grids: Cases) -> None:
    case = grids.report_problem(People.grid, report_data()).case  # scoped --compound JX
    assert "grid" not in _data(grids, case.id, "ProblemReported")
    grids.collect_problem(case.id, People.grid, category="facilities", description="seen")
    assert "grid" not in _data(grids, case.id, "ProblemCollected")
    assert _grid(grids, case.id) is None


def test_a_residents_report_gets_its_grid_from_the_collecting_grid_worker(
    grids: Cases,
) -> None:
    case = grids.report_problem(People.resident, report_data()).case
    assert "grid" not in _data(grids, case.id, "ProblemReported")
    grids.collect_problem(case.id, JX_WORKER, category="parking", description="seen")
    assert _data(grids, case.id, "ProblemCollected")["grid"] == "JX-G1"
    assert _grid(grids, case.id) == "JX-G1"


def test_the_first_stamped_event_decides_the_cases_grid(grids: Cases) -> None:
    case = grids.report_problem(TWO_GRIDS, report_data(grid="JX-G2")).case
    grids.collect_problem(case.id, JX_WORKER, category="parking", description="seen")
    assert _data(grids, case.id, "ProblemCollected")["grid"] == "JX-G1"
    assert _grid(grids, case.id) == "JX-G2"


def test_a_worker_with_two_grids_there_gets_the_first_unless_it_names_one(
    grids: Cases,
) -> None:
    case = grids.report_problem(TWO_GRIDS, report_data()).case
    assert _data(grids, case.id, "ProblemReported")["grid"] == "JX-G1"


@pytest.mark.parametrize(("actor", "grid"), [
    (JX_WORKER, "HY-G1"),  # a foreign grid
    (JX_WORKER, "JX-G2"),  # a grid of the compound that is not the worker's
    (People.grid, "JX-G1"),  # a worker without a grid scope
    (People.community, "JX-G1"),  # not a grid worker
])
def test_a_body_naming_a_grid_the_server_would_not_stamp_is_refused(
    grids: Cases, actor: Actor, grid: str
) -> None:
    with pytest.raises(InvalidEventData) as refused:
        grids.report_problem(actor, report_data(grid=grid))
    assert "grid" in refused.value.errors
    case = grids.report_problem(People.resident, report_data()).case
    with pytest.raises(InvalidEventData):
        grids.record(case.id, "ProblemCollected",
                     {"category": "parking", "description": "seen", "grid": grid}, actor)
    assert [e.type for e in grids.history(case.id)] == ["ProblemReported"]


def test_a_body_naming_the_stamped_grid_is_accepted(grids: Cases) -> None:
    case = grids.report_problem(JX_WORKER, report_data(grid="JX-G1")).case
    assert _data(grids, case.id, "ProblemReported")["grid"] == "JX-G1"


def test_a_grid_in_another_compound_stamps_nothing_there(grids: Cases) -> None:
    worker = Actor("grid-both", Role.GRID_WORKER,
                   units=frozenset({("grid", "HY-G1"), ("compound", "JX")}))
    case = grids.report_problem(worker, report_data()).case
    assert "grid" not in _data(grids, case.id, "ProblemReported")
    hy = grids.report_problem(worker, report_data(compound_id="HY", community_id="C2")).case
    assert _data(grids, hy.id, "ProblemReported")["grid"] == "HY-G1"
