"""Reading cases of 10 to 10,000 events over HTTP, against the library's own reads.

Run on demand (not in CI):

    .venv/bin/python bench/replay.py [--store postgres|sqlite] [--sizes 10,100,1000,10000]
        [--repeat 30] [--postgres URL]

On a fresh store it builds one case per size (a report and CommentAdded events, saved 500
events per transaction, snapshots every 100 events as in production), starts a real
``yishi serve`` and measures, per size, the median and p90 of:

- ``state``: GET /cases/{id} (the state now; the aggregate cache is warm after the first);
- ``at version``: GET /cases/{id}?version=N (N = half the size: snapshot + events up to N);
- ``events``: GET /cases/{id}/events (the whole stream with actors, hashes, positions);

and, in the same run, the baseline in process (no HTTP): ``repository.get(id)``,
``repository.get(id, version=N)`` and ``list(events.get(id))`` of the library.
Target: a 100-event case in under 10 ms end to end (each of the three reads).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Callable
from functools import partial
from typing import Any

from http_append import (
    COMMUNITY,
    DEFAULT_PG,
    REPORT,
    Connection,
    Server,
    fresh_store,
    register_directory,
)

from api.credentials import Credentials
from domain.application import Cases, open_cases


def build(app: Cases, size: int) -> Any:
    """A case of ``size`` events, saved in batches (snapshots taken as production does)."""
    case = app.report_problem(COMMUNITY, REPORT).case
    for i in range(size - 1):
        case.record("CommentAdded", {"text": f"note {i}"}, COMMUNITY, app.clock.now())
        if case.version % 500 == 0:
            app.save(case)
    app.save(case)
    assert case.version == size
    return case.id


def _events(app: Cases, case_id: Any) -> list[Any]:
    return list(app.events.get(case_id))


def timed(repeat: int, call: Callable[[], object]) -> list[float]:
    call()  # warm: connections, caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p90 = ordered[min(len(ordered) - 1, int(0.9 * len(ordered)))]
    return f"{statistics.median(times):8.2f} {p90:8.2f}"


async def http_times(port: int, token: str, path: str, repeat: int) -> list[float]:
    conn = await Connection.open(port)
    try:
        status, body = await conn.request("GET", path, token=token)
        assert status == 200, body
        times = []
        for _ in range(repeat):
            started = time.perf_counter()
            status, body = await conn.request("GET", path, token=token)
            times.append((time.perf_counter() - started) * 1000)
            assert status == 200
        return times
    finally:
        conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--sizes", default="10,100,1000,10000")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--postgres", default=DEFAULT_PG)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    rows: list[tuple[int, str, list[float], list[float]]] = []
    with fresh_store(args.store, args.postgres) as url:
        app = register_directory(open_cases(url, group_commit=False))
        try:
            token = Credentials(app.db).create("community", name="bench")
            started = time.perf_counter()
            ids = {size: build(app, size) for size in sizes}
            built = time.perf_counter() - started
            reader = open_cases(url, group_commit=False)  # a fresh cache, like the server's
            server = Server(url)
            try:
                for size in sizes:
                    case_id, half = ids[size], max(size // 2, 1)
                    repeat = max(5, args.repeat if size <= 1000 else args.repeat // 6)
                    direct: dict[str, list[float]] = {
                        "state": timed(repeat, partial(reader.repository.get, case_id)),
                        "at version": timed(repeat, partial(reader.repository.get, case_id,
                                                            version=half)),
                        "events": timed(repeat, partial(_events, reader, case_id)),
                    }
                    paths = {"state": f"/cases/{case_id}",
                             "at version": f"/cases/{case_id}?version={half}",
                             "events": f"/cases/{case_id}/events"}
                    for name, path in paths.items():
                        http = asyncio.run(http_times(server.port, token, path, repeat))
                        rows.append((size, name, http, direct[name]))
            finally:
                server.stop()
                reader.close()
        finally:
            app.close()
    import os  # noqa: PLC0415

    print(f"{args.store}; {sum(sizes)} events built in {built:.1f} s; milliseconds;"
          f" load average {os.getloadavg()[0]:.2f}")
    print(f"{'events':>6} {'read':11} {'http p50':>8} {'p90':>8} {'lib p50':>8} {'p90':>8}"
          f" {'ratio':>6}")
    for size, name, http, lib in rows:
        ratio = statistics.median(http) / statistics.median(lib)
        print(f"{size:6} {name:11} {summary(http)} {summary(lib)} {ratio:6.1f}")
    for size, name, http, _lib in rows:
        if size == 100:
            p50 = statistics.median(http)
            print(f"TARGET 100-event case, {name}, under 10 ms: "
                  f"{'MET' if p50 < 10 else 'MISSED'} (p50 {p50:.2f} ms)")


if __name__ == "__main__":
    main()
