"""A rebuilt generation on PostgreSQL has its indexes (the deadline one for ?overdue=true)
and fresh planner statistics, so the dashboard queries do not fall back to scans."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import store
from projections.service import ProjectionService, rebuild
from tests.projections.histories import play, random_history


@pytest.mark.postgres
def test_a_rebuilt_generation_is_indexed_by_deadline_and_analysed(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    play(app, clock, random_history(seed=5, length=120))
    ProjectionService(app).catch_up()
    generation = rebuild(app)["generation"]
    schema = app.db.schema
    table = f"proj_cases_g{generation}"
    indexes = {name for (name,) in app.db.execute(
        "SELECT indexname FROM pg_indexes WHERE schemaname = %s AND tablename = %s",
        (schema, table))}
    assert f"proj_cases_g{generation}_deadline" in indexes
    analysed = app.db.execute(
        "SELECT last_analyze FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s",
        (schema, table))
    assert analysed[0][0] is not None
    assert store.current_generation(app.db) == generation
