"""Sixteen writers on one case, on the real PostgreSQL: nothing lost, nothing doubled."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.errors import VersionConflict
from domain.model import Actor, Role
from tests.stories import open_case

WRITERS = 16
AppFactory = Callable[[str], Cases]


def writer(n: int) -> Actor:
    return Actor(f"grid-{n}", Role.GRID_WORKER, frozenset({"JX"}))


def race(app: Cases, case_id: UUID, expected_version: int | None) -> list[Any]:
    """Each writer appends one comment at the same moment; returns results or errors."""
    start = threading.Barrier(WRITERS)

    def append(n: int) -> Any:
        start.wait()
        try:
            return app.record(case_id, "CommentAdded", {"text": f"writer {n}"}, writer(n),
                              expected_version=expected_version)
        except VersionConflict as conflict:
            return conflict

    with ThreadPoolExecutor(WRITERS) as pool:
        return list(pool.map(append, range(WRITERS)))


def test_of_sixteen_conditional_appends_exactly_one_wins_each_version(
    pg_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(pg_url)
    case_id = open_case(app)
    winners = []
    for round_ in range(3):
        version = app.get_case(case_id).version
        assert version == round_ + 1
        results = race(app, case_id, expected_version=version)
        won = [r for r in results if not isinstance(r, VersionConflict)]
        lost = [r for r in results if isinstance(r, VersionConflict)]
        assert len(won) == 1
        assert len(lost) == WRITERS - 1
        assert all(conflict.expected == version for conflict in lost)
        assert won[0].event.version == version + 1
        winners.append(won[0].event)

    history = app.history(case_id)
    assert [e.version for e in history] == [1, 2, 3, 4]
    assert history[1:] == winners
    assert app.verify(case_id).valid
    fresh = app_factory(pg_url)
    assert fresh.history(case_id) == history
    assert fresh.get_case(case_id).comment_count == 3


def test_sixteen_appends_on_the_head_all_land_once_each(
    pg_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(pg_url)
    case_id = open_case(app)
    results = race(app, case_id, expected_version=None)
    assert not [r for r in results if isinstance(r, VersionConflict)]

    history = app.history(case_id)
    assert [e.version for e in history] == list(range(1, WRITERS + 2))
    texts = sorted(e.data["text"] for e in history[1:])
    assert texts == sorted(f"writer {n}" for n in range(WRITERS))
    assert sorted(r.event.version for r in results) == list(range(2, WRITERS + 2))
    assert app.verify(case_id).valid
    assert app.get_case(case_id).comment_count == WRITERS
    positions = [e.position for e in history]
    assert positions == sorted(positions)
    assert len(set(positions)) == len(positions)
