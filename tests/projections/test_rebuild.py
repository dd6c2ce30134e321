"""A rebuild from scratch gives the same read models as incremental processing."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import queries, store
from projections.service import ProjectionService, rebuild
from tests.projections.conftest import case_events, dump
from tests.projections.histories import play, random_history


def _incremental_then_rebuild(app: Cases, clock: ManualClock) -> None:
    service = ProjectionService(app, batch_size=13)
    history = random_history(seed=7, length=240)
    for start in range(0, len(history), 60):
        play(app, clock, history[start : start + 60])
        service.catch_up()
    before = dump(app)
    old = store.current_generation(app.db)
    seen: list[int] = []

    def during(_events: int, _position: int) -> None:
        # Dashboards keep reading the old generation until the switch.
        seen.append(store.current_generation(app.db))
        assert queries.list_cases(app, limit=1)["count"] == len(before["cases"])

    result = rebuild(app, batch_size=50, on_batch=during)
    assert seen
    assert set(seen) == {old}
    assert store.current_generation(app.db) == result["generation"] != old
    after = dump(app)
    assert after == before
    assert len(after["audit"]) == case_events(app)
    # A second rebuild drops the generation before the one it replaces.
    third = rebuild(app)
    assert third["dropped"] == [old]
    assert dump(app) == before
    # The follower carries on in the new generation.
    play(app, clock, random_history(seed=8, length=30))
    service.catch_up()
    assert service.status()["projections"]["cases"]["lag"] == 0


def test_rebuild_equals_incremental_on_sqlite(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    _incremental_then_rebuild(app_factory(sqlite_url), clock)


@pytest.mark.postgres
def test_rebuild_equals_incremental_on_postgres(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    _incremental_then_rebuild(app_factory(pg_url), clock)


def test_the_in_memory_store_projects_too(
    app_factory: Callable[[str], Cases], clock: ManualClock
) -> None:
    app = app_factory("memory:")
    play(app, clock, random_history(seed=3, length=40))
    service = ProjectionService(app)
    service.catch_up()
    assert service.status()["projections"]["audit"]["position"] == app.head_position()
