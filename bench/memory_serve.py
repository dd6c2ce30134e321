"""Peak resident memory of ``yishi serve`` under the append load, as the store grows.

Run on demand (not in CI):

    .venv/bin/python bench/memory_serve.py [--store postgres|sqlite] [--cases 2000]
        [--steps 0,50000,200000] [--appends 3200] [--postgres URL]

On a fresh store, for each step it first grows the store to that many events (cases of
about 100 events each, saved 500 events per transaction from this process), then starts a
real ``yishi serve`` (group commit as configured by default, projections off), reads its
resident memory when idle (the baseline), and sends ``--appends`` appends from 16 clients,
each to a random one of ``--cases`` cases (so the aggregate cache fills), followed by one
GET /cases/{id}/events of the largest case. It prints the idle and peak resident memory
(VmHWM) per step and the ratio peak / idle. Target: the peak stays under 300 MB and does not
grow with the number of events in the store.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
from uuid import UUID

from http_append import (
    COMMUNITY,
    DEFAULT_PG,
    REPORT,
    Connection,
    Server,
    comment,
    fresh_store,
    register_directory,
)

from api.credentials import Credentials
from domain.application import Cases, open_cases


def grow(app: Cases, ids: list[UUID], events: int, target: int) -> int:
    """Add cases of 100 events until the store holds ``target`` events."""
    batch = []
    while events < target:
        case = app.report_problem(COMMUNITY, REPORT).case
        for i in range(99):
            case.record("CommentAdded", {"text": f"note {i}"}, COMMUNITY, app.clock.now())
        batch.append(case)
        ids.append(case.id)
        events += 100
        if len(batch) == 5:
            app.save(*batch)
            batch = []
    if batch:
        app.save(*batch)
    return events


async def load(port: int, token: str, ids: list[UUID], appends: int, clients: int = 16) -> float:
    conns = [await Connection.open(port) for _ in range(clients)]
    rng = random.Random(1)
    targets = [str(rng.choice(ids)) for _ in range(appends)]

    async def client(c: int) -> None:
        for i in range(c, appends, clients):
            status, body = await conns[c].request(
                "POST", f"/cases/{targets[i]}/events", comment(i), token)
            assert status == 201, body

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    elapsed = time.perf_counter() - started
    status, _ = await conns[0].request("GET", f"/cases/{ids[0]}/events", token=token)
    assert status == 200
    for conn in conns:
        conn.close()
    return appends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--cases", type=int, default=2000, help="cases the appends go to")
    parser.add_argument("--steps", default="0,50000,200000", help="store sizes (events)")
    parser.add_argument("--appends", type=int, default=3200)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    args = parser.parse_args()
    rows = []
    with fresh_store(args.store, args.postgres) as url:
        app = register_directory(open_cases(url, group_commit=False))
        try:
            token = Credentials(app.db).create("community", name="bench")
            ids: list[UUID] = []
            # The cases the appends go to: small ones, reported first.
            for _ in range(args.cases):
                ids.append(app.report_problem(COMMUNITY, REPORT).case.id)
            events = len(ids)
            big: list[UUID] = []
            for step in (int(s) for s in args.steps.split(",")):
                events = grow(app, big, events, step)
                server = Server(url)
                try:
                    idle = server.memory_kib()["VmRSS"]
                    rate = asyncio.run(load(server.port, token, ids, args.appends))
                    memory = server.memory_kib()
                finally:
                    server.stop()
                rows.append((events, idle, memory["VmHWM"], memory["VmRSS"], rate))
        finally:
            app.close()
    print(f"{args.store}; {args.appends} appends from 16 clients over {args.cases} cases per"
          f" step; load average {os.getloadavg()[0]:.2f}")
    print(f"{'events in store':>16} {'idle MB':>8} {'peak MB':>8} {'end MB':>8}"
          f" {'peak/idle':>9} {'appends/s':>9}")
    for events, idle, peak, end, rate in rows:
        print(f"{events:16} {idle / 1024:8.0f} {peak / 1024:8.0f} {end / 1024:8.0f}"
              f" {peak / idle:9.2f} {rate:9.0f}")
    peaks = [r[2] / 1024 for r in rows]
    print(f"TARGET peak under 300 MB, not growing with the store: "
          f"{'MET' if max(peaks) < 300 and peaks[-1] < peaks[0] * 1.2 + 10 else 'MISSED'}"
          f" (peaks {', '.join(f'{p:.0f}' for p in peaks)} MB)")


if __name__ == "__main__":
    main()
