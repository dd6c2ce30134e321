"""Dashboard queries as the log grows: 10k, 100k and 1M events on PostgreSQL.

Run on demand (not in CI):

    .venv/bin/python bench/growth.py [--events 10000 --events 100000 --events 1000000]
                                     [--postgres URL] [--repeat 20] [--http-repeat 5]
                                     [--keep] [--explain] [--rebuild]

For each size it uses the schema ``yishi_growth_<events>``: if it does not exist it is
created and loaded with ``yishi demo`` (seed 1, ``--now 2026-11-01``, about 15.8 events per
case), and its projections are rebuilt when they are behind the log, or with ``--rebuild``
(after a change to the read models: a generation made before the figure cells has none).
Then, with the application's clock at the demo's present, it times:

- through the query functions the HTTP routes call (projections/queries.py), ``--repeat``
  times each after two warm-up calls: ``closure`` grouped by compound and month, ``steps``,
  ``list_cases(overdue=True)`` (the first page of 50 and the count);
- the same three over HTTP from a real ``yishi serve`` process (projections off, a bearer
  token of an auditor made for the run, one keep-alive connection, the server's own clock),
  ``--http-repeat`` times each after one warm-up:
  ``/stats/closure?group_by=compound&period=month``, ``/stats/steps``,
  ``/cases?overdue=true``;
- the baseline, in the same run: a primary-key lookup of one case row in the same
  projection table through the same ``Database`` (one transaction per call).

It prints p50/p95/max in milliseconds per query and size, and the verdict against the
target: p95 under 50 ms at 1M events, and flat (p95 at the largest size over p95 at the
smallest). The schemas are dropped at the end unless ``--keep``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_append import Connection, Server

from api.credentials import Credentials
from bench.memory_rebuild import events_in, load
from domain.application import Cases, open_cases
from domain.clock import ManualClock
from projections import queries, store
from projections.service import rebuild

TARGET_MS = 50.0
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def timings(call: Callable[[], Any], repeat: int, warm: int = 2) -> list[float]:
    for _ in range(warm):
        call()
    spent = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        spent.append((time.perf_counter() - started) * 1000)
    return spent


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def line(label: str, values: list[float]) -> str:
    return (f"    {label:<34} p50 {statistics.median(values):8.1f} ms  p95 {p95(values):8.1f}"
            f" ms  max {max(values):8.1f} ms  (n={len(values)})")


def explain(app: Cases) -> None:
    """The plans of the SQL behind the three queries (EXPLAIN ANALYZE, PostgreSQL)."""
    generation = store.current_generation(app.db)
    table = store.cases_table(app.db, generation)
    now_us = int(NOW.timestamp() * 1_000_000)
    for label, sql, params in (
        ("closure/steps cohort", "SELECT case_id, compound_id, community_id, category, channel,"
         f" assignee_role, reported_at, first_response_at, closures FROM {table}"
         " WHERE reported_at <= %s", (now_us,)),
        ("overdue count", f"SELECT COUNT(*) FROM {table} WHERE deadline IS NOT NULL"
         " AND deadline < %s", (now_us,)),
        ("overdue page", f"SELECT case_id FROM {table} WHERE deadline IS NOT NULL AND"
         " deadline < %s ORDER BY reported_at DESC NULLS LAST, case_id DESC LIMIT 50",
         (now_us,)),
    ):
        with app.db.transaction() as cur:
            rows = cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params).fetchall()
        print(f"    EXPLAIN {label}:")
        for (text,) in rows:
            print(f"      {text}")


def measure(base: str, events_target: int, repeat: int, http_repeat: int,
            show_plans: bool, force_rebuild: bool = False) -> dict[str, Any]:
    schema = f"yishi_growth_{events_target}"
    events = events_in(base, schema)
    if events is None:
        started = time.perf_counter()
        load(base, schema, events_target)
        events = events_in(base, schema) or 0
        print(f"  {schema}: loaded {events:,} events in {time.perf_counter() - started:.0f} s")
    url = f"{base}?schema={schema}"
    app = open_cases(url, clock=ManualClock(NOW))
    try:
        fresh = queries.freshness(app)
        if force_rebuild or fresh["position"] < fresh["head"]:
            result = rebuild(app)
            print(f"  {schema}: projections rebuilt, {result['events']:,} events in "
                  f"{result['seconds']:.1f} s")
        generation = store.current_generation(app.db)
        table = store.cases_table(app.db, generation)
        count, some_case = app.db.execute(
            f"SELECT COUNT(*), MIN(case_id) FROM {table}")[0]
        way = ("figure cells" if queries._from_cells(app, queries.EVERYTHING, queries.Filters(),
                                                     NOW, stays=False) is not None
               else "per-case fold (no cells in this generation: use --rebuild)")
        print(f"  {schema}: {events:,} events, {count:,} cases (load average "
              f"{os.getloadavg()[0]:.2f}); figures answered by the {way}")
        results: dict[str, list[float]] = {}
        results["baseline: PK lookup of one case row"] = timings(
            lambda: app.db.execute(f"SELECT case_id, step FROM {table} WHERE case_id = %s",
                                   (some_case,)), repeat)
        results["closure by compound, month"] = timings(
            lambda: queries.closure(app, group_by="compound", period="month"), repeat)
        results["steps"] = timings(lambda: queries.steps(app), repeat)
        results["cases?overdue=true"] = timings(
            lambda: queries.list_cases(app, overdue=True), repeat)
        results.update(over_http(url, app, http_repeat))
        for label, values in results.items():
            print(line(label, values))
        if show_plans:
            explain(app)
        return {"events": events, "cases": count, "results": results}
    finally:
        app.close()


def over_http(url: str, app: Cases, repeat: int) -> dict[str, list[float]]:
    """The three reads from a real ``yishi serve`` (uvicorn, as production runs it), one
    keep-alive connection, an auditor's token; the server's clock is the real one, so
    ``as_of`` is now (after every event of the demo, like a dashboard's default)."""
    token = Credentials(app.db).create("auditor", name="bench/growth.py")
    server = Server(url)
    out: dict[str, list[float]] = {}

    async def measure_all() -> None:
        conn = await Connection.open(server.port)
        try:
            for label, path in (
                ("HTTP /stats/closure compound,month", "/stats/closure?group_by=compound"
                 "&period=month"),
                ("HTTP /stats/steps", "/stats/steps"),
                ("HTTP /cases?overdue=true", "/cases?overdue=true"),
            ):
                spent = []
                for i in range(repeat + 1):
                    started = time.perf_counter()
                    status, body = await conn.request("GET", path, token=token)
                    assert status == 200, (path, status, body[:300])
                    if i:  # the first warms the server's cell cache
                        spent.append((time.perf_counter() - started) * 1000)
                out[label] = spent
        finally:
            conn.close()

    try:
        asyncio.run(measure_all())
        peak = server.memory_kib()["VmHWM"]
        print(f"    yishi serve peak resident memory after the reads: {peak / 1024:.0f} MB")
    finally:
        server.stop()
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append")
    parser.add_argument("--postgres", default=os.environ.get(
        "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--http-repeat", type=int, default=5)
    parser.add_argument("--keep", action="store_true", help="keep the schemas")
    parser.add_argument("--explain", action="store_true", help="print the query plans")
    parser.add_argument("--rebuild", action="store_true",
                        help="rebuild the projections of existing schemas first")
    args = parser.parse_args()
    sizes = args.events or [10_000, 100_000, 1_000_000]
    print(f"bench/growth.py: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}; "
          f"sizes {', '.join(f'{n:,}' for n in sizes)} events")
    runs: list[dict[str, Any]] = []
    try:
        for size in sizes:
            runs.append(measure(args.postgres, size, args.repeat, args.http_repeat,
                                args.explain, args.rebuild))
    finally:
        if not args.keep:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                for size in sizes:
                    conn.execute(f'DROP SCHEMA IF EXISTS "yishi_growth_{size}" CASCADE')
    if not runs:
        return
    small, large = runs[0], runs[-1]
    for label in large["results"]:
        worst = p95(large["results"][label])
        first = p95(small["results"][label])
        verdict = "meets" if worst < TARGET_MS else "misses"
        print(f"RESULT {label}: p95 {first:.1f} ms at {small['events']:,} events -> "
              f"{worst:.1f} ms at {large['events']:,} (x{worst / first:.1f}); {verdict} "
              f"< {TARGET_MS:.0f} ms")


if __name__ == "__main__":
    main()
