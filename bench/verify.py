"""Hash-chain verification over a simulated district, against reading and hashing raw rows.

Run on demand (not in CI):

    .venv/bin/python bench/verify.py [--cases 20000] [--seed 1] [--store sqlite|postgres|both]
                                     [--postgres URL] [--workers 0] [--profile]

For each store it loads a fresh district with ``api.demo.generate`` (an SQLite file in a
temporary directory; a new PostgreSQL schema, dropped afterwards), reporting the load rate,
then measures in the same run:
- yishi: ``Cases.verify_all()`` (what ``yishi verify`` runs): every case's events read,
  decoded, re-encoded, linked and re-hashed;
- baseline: the same rows read raw (sqlite3 / psycopg, one query) and each row's stored
  bytes hashed with hashlib.sha256, nothing else;
- lean: a prototype of a faster verifier (a proposal, not what ``yishi verify`` runs): the
  same single query, each row's JSON decoded once, its canonical bytes built straight from
  the decoded dict and hashed, the links checked; no domain objects, no re-encoding;
and prints events per second, the ratio yishi/baseline and the target (50,000 events/s).
With ``--profile`` it runs verify_all again under cProfile and prints the top functions.
"""

from __future__ import annotations

import argparse
import cProfile
import hashlib
import json
import os
import pstats
import sqlite3
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg

from api.demo import Progress, generate
from domain.application import Cases, open_cases
from domain.catalogue import canonical_time
from domain.chain import GENESIS
from domain.clock import ManualClock

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


def lean_verify(rows: Iterable[tuple[Any, int, str, bytes]]) -> int:
    """Check every chain from raw rows ordered by case and version; the events checked."""
    count = 0
    case, previous, expected = None, GENESIS, 1
    loads, dumps, sha256 = json.loads, json.dumps, hashlib.sha256
    for originator_id, version, topic, state in rows:
        if originator_id != case:
            case, previous, expected = originator_id, GENESIS, 1
            case_id = str(originator_id if isinstance(originator_id, uuid.UUID)
                          else uuid.UUID(originator_id))
        if version != expected:
            raise SystemExit(f"{case_id}: version {expected} is missing")
        event = loads(state)
        if event["prev_hash"] != previous:
            raise SystemExit(f"{case_id} v{version}: previous-hash link does not match")
        recorded = event["timestamp"]["_data_"]
        if len(recorded) != 32:  # not already canonical (no microseconds printed)
            recorded = canonical_time(datetime.fromisoformat(recorded))
        document = {
            "actor": {"id": event["actor_id"], "role": event["actor_role"]},
            "case_id": case_id,
            "data": event["data"],
            "prev_hash": previous,
            "recorded_at": recorded,
            "step_after": event["step_after"],
            "step_before": event["step_before"],
            "type": topic.rpartition(".")[2],
            "version": version,
        }
        digest = sha256(dumps(document, sort_keys=True, separators=(",", ":"),
                              ensure_ascii=False).encode()).hexdigest()
        if digest != event["hash"]:
            raise SystemExit(f"{case_id} v{version}: hash does not match")
        previous, expected = digest, expected + 1
        count += 1
    return count


def timed(run: Callable[[], int]) -> tuple[int, float]:
    started = time.perf_counter()
    count = run()
    return count, time.perf_counter() - started


def lean_sqlite(path: str) -> tuple[int, float]:
    def run() -> int:
        conn = sqlite3.connect(path)
        try:
            return lean_verify(conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events"
                " ORDER BY originator_id, originator_version"))
        finally:
            conn.close()
    return timed(run)


def lean_postgres(base: str, schema: str) -> tuple[int, float]:
    def run() -> int:
        with psycopg.connect(base) as conn, conn.cursor(name="lean") as curs:
            curs.itersize = 5000
            curs.execute(
                "SELECT originator_id, originator_version, topic, state"
                f' FROM "{schema}".yishi_events ORDER BY originator_id, originator_version')
            return lean_verify(curs)
    return timed(run)


def report(name: str, app: Cases, baseline: tuple[int, float],
           lean: Callable[[], tuple[int, float]],
           profile: bool) -> None:
    events, seconds = time_verify(app)
    raw_events, raw_seconds = baseline
    rate, raw_rate = events / seconds, raw_events / raw_seconds
    verdict = "meets" if rate >= TARGET else "misses"
    print(f"  verify_all: {events:,} events in {seconds:.2f} s = {rate:,.0f} events/s "
          f"({verdict} the target of {TARGET:,})")
    print(f"  baseline (read raw + sha256): {raw_events:,} rows in {raw_seconds:.2f} s = "
          f"{raw_rate:,.0f} events/s; yishi/baseline = {rate / raw_rate:.3f}")
    lean_events, lean_seconds = lean()
    lean_rate = lean_events / lean_seconds
    print(f"  lean prototype: {lean_events:,} events in {lean_seconds:.2f} s = "
          f"{lean_rate:,.0f} events/s; lean/baseline = {lean_rate / raw_rate:.3f}")
    if profile:
        profiler = cProfile.Profile()
        profiler.runcall(lambda: sum(r.events for r in app.verify_all()))
        pstats.Stats(profiler, stream=sys.stdout).sort_stats("tottime").print_stats(15)
    print(f"RESULT {name}: verify {rate:,.0f} events/s, baseline {raw_rate:,.0f} events/s, "
          f"ratio {rate / raw_rate:.3f}; lean prototype {lean_rate:,.0f} events/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--store", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--postgres", default=os.environ.get(
        "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--workers", type=int, default=0,
                        help="simulation processes for the load (see yishi demo --workers)")
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    print(f"bench/verify.py: {args.cases:,} cases, seed {args.seed}, {os.cpu_count()} cores")
    if args.store in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as tmp:
            path = str(Path(tmp) / "bench.db")
            print(f"SQLite ({path})")
            app = load(f"sqlite:///{path}", args.cases, args.seed, args.workers)
            report("sqlite", app, baseline_sqlite(path), lambda: lean_sqlite(path),
                   args.profile)
            app.close()
    if args.store in ("postgres", "both"):
        schema = f"yishi_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        try:
            print(f"PostgreSQL ({args.postgres}, schema {schema})")
            app = load(f"{args.postgres}?schema={schema}", args.cases, args.seed,
                       args.workers)
            report("postgres", app, baseline_postgres(args.postgres, schema),
                   lambda: lean_postgres(args.postgres, schema), args.profile)
            app.close()
        finally:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')


if __name__ == "__main__":
    main()
