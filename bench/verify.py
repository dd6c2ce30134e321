"""Hash-chain verification over a simulated district, against reading and hashing raw rows.

Run on demand (not in CI):

    .venv/bin/python bench/verify.py [--cases 20000] [--seed 1] [--store sqlite|postgres|both]
                                     [--postgres URL] [--schema NAME] [--workers 0]
                                     [--profile]

For each store it loads a fresh district with ``simulation.driver.generate`` (an SQLite file in a
temporary directory; a new PostgreSQL schema, dropped afterwards), reporting the load rate,
unless ``--schema`` names an existing PostgreSQL schema that already holds a district (it
is then used as is and kept). Then it measures in the same run:
- yishi: ``Cases.verify_all()`` (what ``yishi verify`` runs): one ordered scan of the raw
  rows; each event decoded, re-encoded and compared with the stored bytes, linked and
  re-hashed, on the orjson fast path with the reference path (Python's ``json``) for
  anything it does not vouch for (domain/verification.py, docs/adr/0004);
- reference only: the same with the fast path switched off (every event through Python's
  ``json``, as before the fast path existed);
- baseline: the same rows read raw (sqlite3 / psycopg, one query) and each row's stored
  bytes hashed with hashlib.sha256, nothing else;
and prints events per second, the ratio yishi/baseline and the target (50,000 events/s).
With ``--profile`` it runs verify_all again under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import sqlite3
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from api.progress import Progress
from domain import verification
from domain.application import Cases, open_cases
from domain.clock import ManualClock
from simulation.driver import generate

TARGET = 50_000
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def load(url: str, cases: int, seed: int, workers: int) -> Cases:
    app = open_cases(url, clock=ManualClock(NOW))
    summary = generate(app, cases=cases, seed=seed, now=NOW, progress=Progress(cases),
                       workers=workers)
    print(f"  load ({workers} worker processes): {summary.cases:,} cases, "
          f"{summary.events:,} events in "
          f"{summary.seconds:.1f} s = {summary.cases / summary.seconds:,.0f} cases/s, "
          f"{summary.events / summary.seconds:,.0f} events/s")
    return app


def time_verify(app: Cases) -> tuple[int, float]:
    started = time.perf_counter()
    events = 0
    for report in app.verify_all():
        if not report.valid:
            raise SystemExit(f"broken chain in {report.case_id}: {report.reason}")
        events += report.events
    return events, time.perf_counter() - started


def baseline_sqlite(path: str) -> tuple[int, float]:
    started = time.perf_counter()
    conn = sqlite3.connect(path)
    count = 0
    for _id, _version, state in conn.execute(
        "SELECT originator_id, originator_version, state FROM stored_events"
        " ORDER BY originator_id, originator_version"
    ):
        hashlib.sha256(state).hexdigest()
        count += 1
    conn.close()
    return count, time.perf_counter() - started


def baseline_postgres(base: str, schema: str) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    with psycopg.connect(base) as conn, conn.cursor(name="bench") as curs:
        curs.itersize = 5000
        curs.execute(
            f'SELECT originator_id, originator_version, state FROM "{schema}".yishi_events'
            " ORDER BY originator_id, originator_version"
        )
        for _id, _version, state in curs:
            hashlib.sha256(state).hexdigest()
            count += 1
    return count, time.perf_counter() - started


def time_reference(app: Cases) -> tuple[int, float]:
    """verify_all with the orjson fast path off: every event through Python's json."""
    saved = verification._FAST
    verification._FAST = False
    try:
        return time_verify(app)
    finally:
        verification._FAST = saved


def report(name: str, app: Cases, baseline: tuple[int, float], profile: bool) -> None:
    events, seconds = time_verify(app)
    raw_events, raw_seconds = baseline
    rate, raw_rate = events / seconds, raw_events / raw_seconds
    verdict = "meets" if rate >= TARGET else "misses"
    print(f"  verify_all: {events:,} events in {seconds:.2f} s = {rate:,.0f} events/s "
          f"({verdict} the target of {TARGET:,})")
    print(f"  baseline (read raw + sha256): {raw_events:,} rows in {raw_seconds:.2f} s = "
          f"{raw_rate:,.0f} events/s; yishi/baseline = {rate / raw_rate:.3f}")
    ref_events, ref_seconds = time_reference(app)
    ref_rate = ref_events / ref_seconds
    print(f"  reference path only (json): {ref_events:,} events in {ref_seconds:.2f} s = "
          f"{ref_rate:,.0f} events/s; fast/reference = {rate / ref_rate:.2f}")
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: sum(r.events for r in app.verify_all()))
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    print(f"RESULT {name}: verify {rate:,.0f} events/s ({verdict} {TARGET:,}), baseline "
          f"{raw_rate:,.0f} events/s, ratio {rate / raw_rate:.3f}; reference path only "
          f"{ref_rate:,.0f} events/s; load average {os.getloadavg()[0]:.2f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get(
        "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--schema", help="an existing PostgreSQL schema holding a district "
                        "(used as is, not dropped; implies --store postgres)")
    parser.add_argument("--workers", type=int, default=0,
                        help="simulation processes for the load (see yishi demo --workers)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    if args.schema:
        args.store = "postgres"
    print(f"bench/verify.py: {args.cases:,} cases, seed {args.seed}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.2f}")
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "bench.db")
            print(f"SQLite ({path})")
            app = load(f"sqlite:///{path}", args.cases, args.seed, args.workers)
            report("sqlite", app, baseline_sqlite(path), args.profile)
            app.close()
    if args.store in ("postgres", "both"):
        schema = args.schema or f"yishi_bench_{uuid.uuid4().hex[:8]}"
        if not args.schema:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            print(f"PostgreSQL ({args.postgres}, schema {schema})")
            url = f"{args.postgres}?schema={schema}"
            if args.schema:
                app = open_cases(url, clock=ManualClock(NOW))
                print(f"  existing district: {app.head_position():,} events")
            else:
                app = load(url, args.cases, args.seed, args.workers)
            report("postgres", app, baseline_postgres(args.postgres, schema), args.profile)
            app.close()
        finally:
            if not args.schema:
                with psycopg.connect(args.postgres, autocommit=True) as conn:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
