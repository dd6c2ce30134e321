"""Appends per second through the application service, against raw single-row inserts.

Run on demand (not in CI):

    .venv/bin/python bench/store_append.py [--events 2000] [--postgres URL]

For SQLite and PostgreSQL it measures, in the same run:
- yishi: `Cases.record` of one CommentAdded per call (load, decide, hash, save);
- library: the eventsourcing library's own `save()` of one pre-built event per call;
- raw: one autocommitted single-row INSERT of the same bytes per call (sqlite3 / psycopg).
and prints events per second and the ratios yishi/raw and yishi/library.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import tempfile
import time
import uuid
from collections.abc import Callable

import psycopg
from http_append import register_directory

from domain.application import Cases, open_cases
from domain.model import Actor, Role

GRID = Actor("bench-grid", Role.GRID_WORKER)
REPORT = {
    "compound_id": "JX",
    "community_id": "C1",
    "title": "bench",
    "description": "bench",
    "category": "other",
    "channel": "api",
}


def rate(n: int, step: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(n):
        step(i)
    return n / (time.perf_counter() - started)


def measure(app: Cases, n: int, raw_insert: Callable[[bytes], None]) -> dict[str, float]:
    case_id = app.report_problem(GRID, REPORT).case.id
    yishi = rate(n, lambda i: app.record(case_id, "CommentAdded", {"text": f"note {i}"}, GRID))

    other = app.report_problem(GRID, REPORT).case

    def library_save(i: int) -> None:
        other.record("CommentAdded", {"text": f"note {i}"}, GRID, app.clock.now())
        app.save(other)

    library = rate(n, library_save)

    sample = app.recorder.select_events(case_id, limit=1)[0].state
    raw = rate(n, lambda i: raw_insert(sample))
    return {"yishi": yishi, "library": library, "raw": raw}


def sqlite_run(n: int) -> dict[str, float]:
    path = os.path.join(tempfile.mkdtemp(), "bench.db")
    app = register_directory(open_cases(f"sqlite:///{path}"))
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("CREATE TABLE raw_events (id INTEGER PRIMARY KEY, oid TEXT, v INT, state BLOB)")

    def insert(state: bytes) -> None:
        conn.execute(
            "INSERT INTO raw_events (oid, v, state) VALUES (?, ?, ?)", (uuid.uuid4().hex, 1, state)
        )

    return measure(app, n, insert)


def postgres_run(n: int, base: str) -> dict[str, float]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    conn = psycopg.connect(base, autocommit=True)
    conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        app = register_directory(open_cases(f"{base}?schema={schema}"))
        conn.execute(
            f'CREATE TABLE "{schema}".raw_events (id bigserial PRIMARY KEY,'
            " oid uuid, v bigint, state bytea)"
        )

        def insert(state: bytes) -> None:
            conn.execute(
                f'INSERT INTO "{schema}".raw_events (oid, v, state) VALUES (%s, %s, %s)',
                (uuid.uuid4(), 1, state),
            )

        result = measure(app, n, insert)
        app.close()
        return result
    finally:
        conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    args = parser.parse_args()
    for name, result in (
        ("sqlite", sqlite_run(args.events)),
        ("postgres", postgres_run(args.events, args.postgres)),
    ):
        print(
            f"{name:9} yishi {result['yishi']:8.0f}/s  library save {result['library']:8.0f}/s"
            f"  raw insert {result['raw']:8.0f}/s  yishi/raw {result['yishi'] / result['raw']:.2f}"
            f"  yishi/library {result['yishi'] / result['library']:.2f}"
        )


if __name__ == "__main__":
    main()
