"""The case rows' ``grid`` column on a store projected before grids (docs/adr/0115): the
column is added when a process opens the store, its old rows read as no grid, new events
fill it, and a rebuild folds every case's grid from the events."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.model import Actor, Role
from projections import queries, store
from projections.service import ProjectionService, rebuild
from tests.conftest import People, report_data

JX_WORKER = Actor("grid-jx", Role.GRID_WORKER, units=frozenset({("grid", "JX-G1")}))


def _grids(app: Cases) -> dict[str | None, int]:
    found = queries.closure(app, group_by="grid")["groups"]
    return {g["group"]["grid_id"]: g["reported"] for g in found}


@pytest.mark.parametrize("url", ["sqlite_url", pytest.param("pg_url", marks=pytest.mark.postgres)])
def test_a_generation_without_the_grid_column_gets_it_and_a_rebuild_fills_it(
    app_factory: Callable[[str], Cases], url: str, request: pytest.FixtureRequest
) -> None:
    app = app_factory(request.getfixturevalue(url))
    service = ProjectionService(app)
    app.report_problem(People.resident, report_data())
    app.report_problem(JX_WORKER, report_data())
    service.catch_up()
    generation = store.current_generation(app.db)
    table = store.cases_table(app.db, generation)
    # A store projected by the version before grids: no column.
    with app.db.transaction() as cur:
        cur.execute(f"ALTER TABLE {table} DROP COLUMN grid")
    store._READY.discard(app.db)
    store.ensure_base(app.db)
    assert _grids(app) == {None: 2}  # the old rows: no grid until folded again
    app.report_problem(JX_WORKER, report_data())
    service.catch_up()
    assert _grids(app) == {None: 2, "JX-G1": 1}
    rebuild(app)
    assert _grids(app) == {None: 1, "JX-G1": 2}
