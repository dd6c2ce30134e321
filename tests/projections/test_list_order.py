"""The case list orders alike on SQLite and PostgreSQL, and its cursor pages keep their place.

Random cases (ties in every key, missing deadlines, support counts) are played through both
stores with the same ids and clocks; every sort in both directions must give the same ids
in the order a plain Python sort gives (missing values last), and walking it page by page
with ``after`` must give that list exactly. Then a list is paged while writers report and
append: every case that was there at the start is seen exactly once.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from projections import queries
from projections.paging import CASE_SORTS
from projections.queries import QueryError
from projections.service import ProjectionService
from tests.conftest import POSTGRES_BASE, START, People, report_data
from tests.district import register_district
from tests.projections.histories import examples

#: The value each sort orders by, as the list shows it.
_SHOWN = {"reported_at": "reported_at", "updated_at": "updated_at", "deadline": "deadline",
          "support_count": "support_count", "position": "position"}

cases_played = st.lists(
    st.tuples(st.uuids(version=4), st.sampled_from([0, 0, 1, 30, 600]), st.integers(0, 3),
              st.integers(0, 2)),
    min_size=1, max_size=25, unique_by=lambda c: c[0],
)


def _play(app: Cases, clock: ManualClock, played: list[tuple[UUID, int, int, int]]) -> None:
    p = People
    for case_id, minutes, joins, fate in played:
        clock.advance(timedelta(minutes=minutes))
        app.report_problem(p.grid, report_data(), case_id=case_id)
        for _ in range(joins):
            app.join_report(case_id, p.grid)
        if fate == 1:
            app.collect_problem(case_id, p.grid, category="parking", description="checked")
        elif fate == 2:
            app.withdraw_case(case_id, p.community, reason="solved by itself")
    ProjectionService(app).catch_up()


def _value(row: dict[str, Any], sort: str) -> Any:
    value = row[_SHOWN[sort]]
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def expected_order(rows: list[dict[str, Any]], sort: str, descending: bool) -> list[str]:
    """Sort value then id, in the direction asked; rows without a value last either way."""
    valued = sorted((r for r in rows if _value(r, sort) is not None),
                    key=lambda r: (_value(r, sort), r["id"]), reverse=descending)
    missing = sorted((r for r in rows if _value(r, sort) is None),
                     key=lambda r: r["id"], reverse=descending)
    return [r["id"] for r in valued + missing]


def walk(app: Cases, sort: str, limit: int, **filters: Any) -> list[str]:
    """Every id of the list, page by page with the cursor."""
    seen: list[str] = []
    after = None
    while True:
        page = queries.list_cases(app, sort=sort, limit=limit, after=after, **filters)
        seen += [r["id"] for r in page["data"]]
        after = page["next_after"]
        if after is None:
            return seen


def _orders(app: Cases, limit: int) -> dict[str, list[str]]:
    found = {}
    for name in CASE_SORTS:
        for sort in (name, "-" + name):
            whole = queries.list_cases(app, sort=sort, limit=1000)
            assert whole["next_after"] is None
            ids = [r["id"] for r in whole["data"]]
            assert ids == expected_order(whole["data"], name, sort.startswith("-")), sort
            assert walk(app, sort, limit) == ids, (sort, limit)
            found[sort] = ids
    return found


@pytest.mark.postgres
@examples(12)
@given(played=cases_played, limit=st.integers(1, 7))
def test_every_sort_orders_alike_on_both_stores_and_pages_by_cursor(
    pg_schema_factory: Callable[[], str], played: list[tuple[UUID, int, int, int]], limit: int
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        orders = []
        for url in (f"sqlite:///{Path(folder) / 'yishi.db'}",
                    f"{POSTGRES_BASE}?schema={pg_schema_factory()}"):
            clock = ManualClock(START)
            app = register_district(open_cases(url, clock=clock))
            try:
                _play(app, clock, played)
                orders.append(_orders(app, limit))
            finally:
                app.close()
    sqlite, postgres = orders
    assert sqlite == postgres


def test_a_cursor_is_refused_for_another_sort_or_when_it_is_not_one(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    _play(app, clock, [(UUID(int=i + 1), 1, 0, 0) for i in range(3)])
    cursor = queries.list_cases(app, limit=1)["next_after"]
    assert cursor is not None
    for bad in ({"after": cursor, "sort": "deadline"}, {"after": "not-a-cursor"},
                {"after": cursor, "offset": 2}):
        with pytest.raises(QueryError):
            queries.list_cases(app, **bad)


@pytest.mark.postgres
def test_paging_while_writers_append_sees_every_case_exactly_once(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    _play(app, clock, [(UUID(int=i + 1), i % 2, 0, 0) for i in range(40)])
    before = {r["id"] for r in queries.list_cases(app, limit=1000)["data"]}
    service = ProjectionService(app, interval=0.01)
    service.start()
    stop = threading.Event()

    def write() -> None:
        for _ in range(60):
            if stop.is_set():
                return
            clock.advance(timedelta(seconds=1))
            case_id = app.report_problem(People.grid, report_data()).case.id
            app.join_report(case_id, People.grid)

    writer = threading.Thread(target=write)
    writer.start()
    try:
        for sort in ("-reported_at", "reported_at"):
            seen: list[str] = []
            after = None
            while True:
                service.wait_for(app.head_position())
                page = queries.list_cases(app, sort=sort, limit=3, after=after)
                seen += [r["id"] for r in page["data"]]
                if (after := page["next_after"]) is None:
                    break
            assert len(seen) == len(set(seen)), sort
            assert before <= set(seen), sort
    finally:
        stop.set()
        writer.join()
        service.stop()
    assert queries.list_cases(app)["count"] > len(before)
