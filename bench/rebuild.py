"""How fast ``yishi projections rebuild`` runs on PostgreSQL, next to a raw psycopg baseline.

Run on demand (not part of the test suite):

    .venv/bin/python -m bench.rebuild --cases 20000
    .venv/bin/python -m bench.rebuild --cases 2000 --url postgresql://postgres@127.0.0.1/test

It loads N cases (on average about 10 events each, straight through the method to various
depths) into a fresh PostgreSQL schema with batched ``app.save(*cases)``, then measures:

- ``rebuild``: every read model rebuilt from the first event into a fresh generation;
- the raw baseline, in the same run: read the same rows from the events table in batches and
  insert as many rows into a scratch table in batches (``executemany``, one transaction per
  batch), with psycopg and nothing else; and the same with COPY.

It prints events per second of each and the ratios. The schema is dropped at the end.
"""

from __future__ import annotations

import argparse
import os
import random
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg

from domain.application import Cases, open_cases
from domain.case import Case
from domain.model import Actor, Role
from projections import queries
from projections.service import rebuild

BASE = os.environ.get("YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

GRID = Actor("grid-1", Role.GRID_WORKER)
COMMUNITY = Actor("community-1", Role.COMMUNITY)
PARTY = Actor("party-1", Role.PARTY_BRANCH)
OWNERS = Actor("owners-1", Role.OWNERS_COMMITTEE)
PROPERTY = Actor("property-1", Role.PROPERTY_COMPANY)
RESIDENT = Actor("resident-1", Role.RESIDENT)
COMPOUNDS = [(f"X{i:02d}", f"C{i % 7}") for i in range(40)]

#: The straight path: (event, actor, data, hours after the previous event).
PATH: list[tuple[str, Actor, dict[str, Any], int]] = [
    ("ProblemCollected", GRID, {"category": "facilities", "description": "checked"}, 5),
    ("TopicFormed", GRID, {"title": "repair", "question": "who pays?", "parties": ["owners"]}, 20),
    ("TopicApproved", PARTY, {"opinion": "ok"}, 30),
    ("StakeholderConsulted", COMMUNITY, {"party": "property", "opinion": "half"}, 48),
    ("MeetingScheduled", COMMUNITY, {"scheduled_at": "2026-02-01T09:00:00+00:00",
                                     "venue": "hall"}, 4),
    ("MeetingHeld", OWNERS, {"attendees": 20, "votes": {"for": 15, "against": 3, "abstain": 2},
                             "outcome": "agreed"}, 50),
    ("DecisionPublished", COMMUNITY, {"channels": ["board"], "notice": "n",
                                      "publicity_days": 5}, 10),
    ("PublicityClosed", COMMUNITY, {}, 121),
    ("ImplementationAssigned", COMMUNITY, {"assignee_role": "property_company",
                                           "assignee": "green", "due_at":
                                           "2026-04-01T00:00:00+00:00"}, 3),
    ("ImplementationAccepted", PROPERTY, {}, 6),
    ("ProgressReported", PROPERTY, {"percent": 50}, 100),
    ("ImplementationCompleted", PROPERTY, {"summary": "done"}, 100),
    ("SupervisionRecorded", PARTY, {"verdict": "passed"}, 20),
    ("ResidentRated", RESIDENT, {"satisfaction": "satisfied", "source": "resident"}, 10),
    ("CaseClosed", COMMUNITY, {"resolution": "resolved"}, 5),
]


def make_case(rng: random.Random, index: int) -> Case:
    compound, community = COMPOUNDS[index % len(COMPOUNDS)]
    at = START + timedelta(minutes=17 * index)
    case = Case.report(uuid.uuid4(), {
        "compound_id": compound, "community_id": community, "title": f"problem {index}",
        "description": "as reported", "category": "facilities", "channel": "wechat",
    }, RESIDENT, at)
    for event, actor, data, hours in PATH[: rng.randint(3, len(PATH))]:
        at += timedelta(hours=hours)
        case.record(event, data, actor, at)
    return case


def load(app: Cases, cases: int, batch: int = 200) -> int:
    rng = random.Random(1)
    for start in range(0, cases, batch):
        app.save(*[make_case(rng, i) for i in range(start, min(cases, start + batch))])
    return app.head_position()


def raw_baseline(url: str, schema: str, rows_per_batch: int, copy: bool) -> tuple[int, float]:
    """Read the events in batches and write as many rows in batches, with plain psycopg."""
    with psycopg.connect(url) as conn:
        conn.execute(f'DROP TABLE IF EXISTS "{schema}".raw_copy')
        conn.execute(
            f'CREATE TABLE "{schema}".raw_copy (position BIGINT PRIMARY KEY, case_id TEXT,'
            " version INTEGER, topic TEXT, state BYTEA)"
        )
        conn.commit()
        started = time.perf_counter()
        after = 0
        total = 0
        while True:
            with conn.transaction():
                rows = conn.execute(
                    f'SELECT notification_id, originator_id::text, originator_version, topic,'
                    f' state FROM "{schema}".yishi_events WHERE notification_id > %s'
                    " ORDER BY notification_id LIMIT %s",
                    (after, rows_per_batch),
                ).fetchall()
                if not rows:
                    break
                with conn.cursor() as cur:
                    if copy:
                        with cur.copy(f'COPY "{schema}".raw_copy FROM STDIN') as out:
                            for row in rows:
                                out.write_row(row)
                    else:
                        cur.executemany(
                            f'INSERT INTO "{schema}".raw_copy VALUES (%s, %s, %s, %s, %s)', rows
                        )
            after = rows[-1][0]
            total += len(rows)
        return total, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=20_000)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--url", default=BASE)
    args = parser.parse_args()

    schema = f"yishi_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.url, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        app = open_cases(f"{args.url}?schema={schema}")
        started = time.perf_counter()
        events = load(app, args.cases)
        loaded = time.perf_counter() - started
        print(f"loaded {args.cases} cases, {events} events in {loaded:.1f} s "
              f"({events / loaded:,.0f} events/s)")
        result = rebuild(app, batch_size=args.batch_size)
        rebuild_rate = result["events"] / result["seconds"]
        print(f"rebuild:        {result['events']} events in {result['seconds']:.2f} s = "
              f"{rebuild_rate:,.0f} events/s")
        for label, call in (
            ("closure by compound and month", lambda: queries.closure(
                app, group_by=["compound"], period="month")),
            ("steps", lambda: queries.steps(app)),
            ("satisfaction by category", lambda: queries.satisfaction(app, group_by="category")),
            ("case list, text search", lambda: queries.list_cases(app, text="problem 19")),
            ("audit trail of one actor", lambda: queries.audit(app, actor_id="party-1")),
        ):
            began = time.perf_counter()
            call()
            print(f"query {label}: {(time.perf_counter() - began) * 1000:.0f} ms")
        rows, seconds = raw_baseline(args.url, schema, args.batch_size, copy=False)
        many_rate = rows / seconds
        print(f"raw executemany: {rows} rows in {seconds:.2f} s = {many_rate:,.0f} rows/s")
        rows, seconds = raw_baseline(args.url, schema, args.batch_size, copy=True)
        copy_rate = rows / seconds
        print(f"raw COPY:        {rows} rows in {seconds:.2f} s = {copy_rate:,.0f} rows/s")
        print(f"ratio rebuild / raw executemany = {rebuild_rate / many_rate:.2f}; "
              f"rebuild / raw COPY = {rebuild_rate / copy_rate:.2f}")
        app.close()
    finally:
        with psycopg.connect(args.url, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
