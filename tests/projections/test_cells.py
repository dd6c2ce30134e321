"""The figure cells answer exactly what the per-case fold answers, and step aside when they
cannot (projections/cells.py, docs/adr/0022-figure-cells.md).

Hypothesis plays random histories through the real application, projects them in small
batches, and compares, for every scope, window and grouping, the figures computed from the
cells with the figures folded case by case: equal to the last bit (``==``, floats
included), at the present and at a moment after the last event. A moment in the past of a
case, a cell the codes cannot represent, and a generation made before cells all fall back
to the per-case fold, which the reference tests hold to the raw events.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from projections import cells as cells_module
from projections import queries, store
from projections.fold import CaseFacts, from_us
from projections.periods import LOCAL
from projections.queries import Filters, Scope
from projections.service import ProjectionService
from tests.conftest import POSTGRES_BASE, START
from tests.district import register_district
from tests.projections.checks import GROUPINGS, SCOPES, assert_equal_to_reference
from tests.projections.histories import examples, moves, play, random_history

WINDOWS: list[dict[str, Any]] = [
    {},
    {"compound": "JX"},
    {"community": "C1", "category": ["facilities", "parking"]},
    {"channel": "phone"},
]


def _windows(app: Cases) -> list[dict[str, Any]]:
    """Fixed filters, plus a window cut inside the months and one on a month boundary."""
    reported = sorted(r[0] for r in app.db.execute(
        f"SELECT reported_at FROM {store.cases_table(app.db, store.current_generation(app.db))}"
    ))
    found = list(WINDOWS)
    if len(reported) > 2:
        start = from_us(reported[1])
        found.append({"from_": start, "to": from_us(reported[-1])})
        month = datetime(start.year, start.month, 1, tzinfo=LOCAL)
        found.append({"from_": month, "to": month + timedelta(days=62)})
    return found


def assert_cells_equal_per_case(app: Cases, moment: datetime) -> int:
    """At ``moment`` (after every event), every figure from the cells equals the per-case
    fold's, in every scope, window and grouping; returns how many answers were compared."""
    compared = 0
    for scope in SCOPES:
        reader = Scope(frozenset(scope[0]), frozenset(scope[1]))
        for window in _windows(app):
            filters = Filters.of(*(window.get(name) for name in (
                "compound", "community", "category", "channel", "from_", "to")))
            assert queries._from_cells(app, reader, filters, moment,
                                       stays=True) is not None, "the cells must answer"
            where = f"scope={scope} window={window}"
            fast = queries.steps(app, reader, as_of=moment, **window)
            slow = queries.steps(app, reader, as_of=moment, cells=False, **window)
            assert fast == slow, "steps " + where
            for names, period in GROUPINGS:
                for figure in (queries.closure, queries.satisfaction):
                    fast = figure(app, reader, group_by=names, period=period, as_of=moment,
                                  **window)
                    slow = figure(app, reader, group_by=names, period=period, as_of=moment,
                                  cells=False, **window)
                    assert fast == slow, f"{figure.__name__} {names} {period} {where}"
                    compared += 1
    return compared


def _check(url: str, history: list[tuple[int, int, int]]) -> None:
    clock = ManualClock(START)
    app = register_district(open_cases(url, clock=clock))
    try:
        service = ProjectionService(app, batch_size=5)
        half = len(history) // 2
        play(app, clock, history[:half])
        service.catch_up()
        assert_cells_equal_per_case(app, clock.now())  # fills the process's cell cache
        play(app, clock, history[half:])
        service.catch_up()
        assert assert_cells_equal_per_case(app, clock.now()) > 0  # changed cells re-read
        clock.advance(timedelta(days=400))  # everything long overdue: overdue counts change
        assert_cells_equal_per_case(app, clock.now())
    finally:
        app.close()


@examples(25)
@given(history=moves)
def test_cells_equal_the_per_case_fold_on_sqlite(history: list[tuple[int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(f"sqlite:///{Path(folder) / 'yishi.db'}", history)


@pytest.mark.postgres
@examples(6)
@given(history=moves)
def test_cells_equal_the_per_case_fold_on_postgres(
    pg_schema_factory: Callable[[], str], history: list[tuple[int, int, int]]
) -> None:
    _check(f"{POSTGRES_BASE}?schema={pg_schema_factory()}", history)


def _projected(app: Cases, clock: ManualClock, seed: int = 11) -> ProjectionService:
    service = ProjectionService(app, batch_size=9)
    play(app, clock, random_history(seed=seed, length=160))
    service.catch_up()
    return service


def _everything(app: Cases, moment: datetime) -> Any:
    return queries._from_cells(app, queries.EVERYTHING, Filters(), moment, stays=True)


def test_a_moment_before_a_cells_last_fact_is_folded_per_case(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _projected(app, clock)
    last = max(r[0] for r in app.db.execute(
        f"SELECT settled FROM {store.cells_table(app.db, store.current_generation(app.db))}"))
    assert _everything(app, from_us(last)) is not None
    assert _everything(app, from_us(last - 1)) is None
    assert_equal_to_reference(app)  # the past moments it checks go the per-case way


def test_a_cell_the_codes_cannot_represent_is_folded_per_case(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _projected(app, clock)
    facts = CaseFacts(case_id="0" * 32, version=1, step="collect", compound_id="JX",
                      community_id="C1", category="no such category", channel="phone",
                      title="t", reported_at=0, updated_at=0, step_entered_at=0,
                      last_position=1)
    assert cells_module.contribution(facts).exact is False
    table = store.cells_table(app.db, store.current_generation(app.db))
    app.db.execute(f"UPDATE {table} SET exact = 0 WHERE compound_id = 'JX'")
    assert _everything(app, clock.now()) is None
    assert queries._from_cells(app, Scope(frozenset({"HY"})), Filters(), clock.now(),
                               stays=False) is not None
    assert_equal_to_reference(app)


@pytest.mark.postgres
def test_a_generation_without_cells_is_folded_per_case_and_still_followed(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    service = _projected(app, clock)
    generation = store.current_generation(app.db)
    app.db.execute(f"DROP TABLE {store.cells_table(app.db, generation)}")
    store._CELLS.pop(app.db, None)  # what a process started after the drop knows
    assert _everything(app, clock.now()) is None
    play(app, clock, random_history(seed=12, length=40))
    service.catch_up()
    assert_equal_to_reference(app)


def test_cells_hold_each_case_once_with_its_stays(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _projected(app, clock)
    generation = store.current_generation(app.db)
    table = store.cells_table(app.db, generation)
    rows = app.db.execute(f"SELECT {store.CELL_COLUMNS} FROM {table}")
    ids: list[bytes] = []
    stays = 0
    for compound, community, month, *blobs in rows:
        cell = cells_module.Cell.decoded((compound, community, month), *blobs)
        ids.extend(cell.ids)
        stays += len(cell.stays)
        assert len(cell.ids) == len(cell.cases)
        assert set(cell.stays["case"].tolist()) <= set(range(len(cell.ids)))
    assert len(ids) == len(set(ids)) == len(app.db.execute(
        f"SELECT case_id FROM {store.cases_table(app.db, generation)}"))
    finished = app.db.execute(f"SELECT visits FROM {store.cases_table(app.db, generation)}")
    assert stays == sum(1 for (v,) in finished for visit in json.loads(v) if visit[2] is not None)


def test_the_cell_cache_is_bounded_and_keyed_by_version() -> None:
    cache = queries._CellCache(limit=100)
    cache.put((1, "JX", "C1", "2026-01"), 7, b"a" * 40, b"b" * 20)
    assert cache.get((1, "JX", "C1", "2026-01"), 7) == (b"a" * 40, b"b" * 20)
    assert cache.get((1, "JX", "C1", "2026-01"), 8) is None  # the cell changed since
    assert cache.get((2, "JX", "C1", "2026-01"), 7) is None  # another generation
    cache.put((1, "LH", "C1", "2026-01"), 3, b"c" * 30, b"")
    cache.get((1, "JX", "C1", "2026-01"), 7)  # JX used last: LH goes first
    cache.put((1, "HY", "C2", "2026-01"), 5, b"d" * 30, b"")
    assert cache.size <= 100
    assert cache.get((1, "LH", "C1", "2026-01"), 3) is None
    assert cache.get((1, "JX", "C1", "2026-01"), 7) is not None
    cache.put((1, "XL", "C2", "2026-01"), 1, b"e" * 101, b"")  # larger than the bound
    assert cache.get((1, "XL", "C2", "2026-01"), 1) is None
    assert cache.size <= 100


def test_now_on_a_clock_behind_the_writers_still_counts_every_recorded_event(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _projected(app, clock)
    table = store.cells_table(app.db, store.current_generation(app.db))
    last = from_us(max(r[0] for r in app.db.execute(f"SELECT settled FROM {table}")))
    # Another process on the same store, whose clock is two seconds behind the writer's.
    reader = open_cases(sqlite_url, clock=ManualClock(last - timedelta(seconds=2)))
    try:
        for figure in (queries.steps, queries.closure, queries.satisfaction):
            got = figure(reader)
            assert got["as_of"] == last.isoformat(), figure.__name__
            assert got == figure(reader, as_of=last, cells=False), figure.__name__
        # A moment the reader names is kept as named (and answered per case).
        assert queries.steps(reader, as_of=last - timedelta(seconds=2))["as_of"] == (
            (last - timedelta(seconds=2)).isoformat())
    finally:
        reader.close()


def test_the_pools_kept_are_bounded_by_half_the_cache(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _projected(app, clock)
    cache = queries._CellCache(limit=10**9)
    found = _everything(app, clock.now())
    assert found is not None
    pool = found[1]
    cache.keep_pool(("a",), pool)
    assert cache.pool(("a",)) is pool
    small = queries._CellCache(limit=1)  # the pool is larger than half of it: not kept
    small.keep_pool(("a",), pool)
    assert small.pool(("a",)) is None
    assert small.pool_size == 0
