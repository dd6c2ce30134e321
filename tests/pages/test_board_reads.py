"""The notice board's reads are remembered by the projections' position and read again
once an event moves it (api/pages/routes_board.py, docs/adr/0083-figures-by-position.md)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from api.pages import routes_board
from domain.application import Cases
from domain.clock import ManualClock
from projections import queries
from projections.service import ProjectionService
from tests.projections.histories import play, random_history


def _fresh(app: Cases, compound: str) -> dict[str, Any]:
    routes_board._BOARDS.pop(app.db, None)
    return routes_board.board_data(app, compound)


def test_the_board_is_read_once_per_position_and_again_after_an_event(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    case_ids: list[Any] = []
    play(app, clock, random_history(seed=21, length=300), case_ids)
    service.catch_up()
    compound = max(("JX", "HY"), key=lambda c: queries.list_cases(app, compound=c)["count"])
    reads = {"n": 0}
    real = routes_board.events_of

    def counted(cases: Cases, ids: list[Any]) -> Any:
        reads["n"] += 1
        return real(cases, ids)

    monkeypatch.setattr(routes_board, "events_of", counted)
    first = routes_board.board_data(app, compound)
    assert routes_board.board_data(app, compound) == first
    assert reads["n"] == 1, "the same position: not read again"
    assert first["known"]

    play(app, clock, random_history(seed=22, length=200), case_ids)
    service.catch_up()
    after = routes_board.board_data(app, compound)
    assert reads["n"] == 2, "an event moved the position: read again"
    assert after == _fresh(app, compound)
    assert (after["sections"], after["counts"]) != (first["sections"], first["counts"])


def test_resolved_recently_is_judged_at_now_while_the_position_stands(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
) -> None:
    app = app_factory(sqlite_url)
    service = ProjectionService(app, batch_size=9)
    play(app, clock, random_history(seed=21, length=300))  # one case resolved in JX
    service.catch_up()
    counts = [routes_board.board_data(app, c)["counts"]["resolved"] for c in ("JX", "HY")]
    assert any(counts)
    clock.advance(routes_board.RECENT + timedelta(days=1))
    later = [routes_board.board_data(app, c)["counts"]["resolved"] for c in ("JX", "HY")]
    assert later == [0, 0]
    assert later == [_fresh(app, c)["counts"]["resolved"] for c in ("JX", "HY")]
