"""Figures remembered by the projection position are given again until an event moves it,
and are then computed anew (projections/cell_reads.py, docs/adr/0083-figures-by-position.md).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import cell_figures, queries
from projections.cell_reads import FigureCache, figure_cache
from projections.queries import Scope
from projections.service import ProjectionService
from tests.projections.histories import play, random_history

C1 = Scope(communities=frozenset({"C1"}))


def _counting(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How many times each figure is computed from the cells."""
    calls = {"closure": 0, "satisfaction": 0, "flow": 0}
    for name in calls:
        real: Callable[..., Any] = getattr(cell_figures, name)

        def counted(*args: Any, _real: Callable[..., Any] = real, _name: str = name) -> Any:
            calls[_name] += 1
            return _real(*args)

        monkeypatch.setattr(cell_figures, name, counted)
    return calls


def _figures(app: Cases, scope: Scope = queries.EVERYTHING) -> list[dict[str, Any]]:
    month = {"group_by": "community", "period": "month"}
    return [queries.closure(app, scope, **month), queries.satisfaction(app, scope, **month),
            queries.steps(app, scope)]


def _per_case(app: Cases, scope: Scope = queries.EVERYTHING) -> list[dict[str, Any]]:
    month = {"group_by": "community", "period": "month"}
    return [queries.closure(app, scope, cells=False, **month),
            queries.satisfaction(app, scope, cells=False, **month),
            queries.steps(app, scope, cells=False)]


def test_a_figure_is_computed_once_per_position_and_anew_after_an_event(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    case_ids: list[Any] = []
    play(app, clock, random_history(seed=5, length=120), case_ids)
    service.catch_up()
    calls = _counting(monkeypatch)
    first = _figures(app)
    assert calls == {"closure": 1, "satisfaction": 1, "flow": 1}
    assert _figures(app) == first, "the same position: the same figures"
    assert calls == {"closure": 1, "satisfaction": 1, "flow": 1}, "given again, not computed"
    assert _figures(app, C1) != first  # another scope is another figure
    assert calls == {"closure": 2, "satisfaction": 2, "flow": 2}

    # A new event (and the projections catching up) moves the position: computed anew, and
    # equal to the per-case fold, which remembers nothing.
    position = first[0]["position"]
    play(app, clock, random_history(seed=6, length=30), case_ids)
    service.catch_up()
    after = _figures(app)
    assert after[0]["position"] > position
    assert calls == {"closure": 3, "satisfaction": 3, "flow": 3}
    assert after != first
    for fast, slow in zip(after, _per_case(app), strict=True):
        fast.pop("as_of")
        slow.pop("as_of")
        assert fast == slow


def test_overdue_moves_with_the_clock_while_the_position_stands(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    play(app, clock, random_history(seed=8, length=120))
    service.catch_up()
    calls = _counting(monkeypatch)
    before = queries.steps(app)
    clock.advance(timedelta(days=60))  # every open step's deadline passes; no event
    later = queries.steps(app)
    assert calls["flow"] == 1, "the flow is remembered; only overdue is counted again"
    assert later["position"] == before["position"]
    assert sum(s["overdue"] for s in later["steps"]) > sum(s["overdue"] for s in before["steps"])
    assert later == queries.steps(app, cells=False)


def test_a_moment_asked_for_is_never_remembered(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    play(app, clock, random_history(seed=9, length=60))
    service.catch_up()
    queries.closure(app, as_of=clock.now() + timedelta(days=1))
    assert len(figure_cache(app)) == 0
    queries.closure(app)
    assert len(figure_cache(app)) == 1


def test_the_figure_cache_keeps_the_most_recently_used() -> None:
    cache = FigureCache(limit=2)
    cache.put(("a",), ("A", 1))
    cache.put(("b",), ("B", 2))
    assert cache.get(("a",)) == ("A", 1)
    cache.put(("c",), ("C", 3))
    assert cache.get(("b",)) is None
    assert cache.get(("a",)) == ("A", 1)
    assert len(cache) == 2


def test_overdue_alone_is_the_flows_overdue_on_both_ways(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    play(app, clock, random_history(seed=12, length=150))
    service.catch_up()
    for moment in (None, clock.now() + timedelta(days=3), clock.now() + timedelta(days=40)):
        for scope in (queries.EVERYTHING, C1):
            flow = queries.steps(app, scope, as_of=moment)
            wanted = {item["step"]: item["overdue"] for item in flow["steps"]}
            assert queries.overdue(app, scope, as_of=moment)["overdue"] == wanted
            assert queries.overdue(app, scope, as_of=moment, cells=False)["overdue"] == wanted
        clock.advance(timedelta(days=7))
    assert any(queries.overdue(app)["overdue"].values())
