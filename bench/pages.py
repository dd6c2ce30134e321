"""The pages' HTML: every dashboard page and the notice board, timed over HTTP.

Run on demand (not in CI):

    .venv/bin/python bench/pages.py [--events 100000 --events 1000000] [--repeat 20]
                                    [--postgres URL] [--compare TREE]

For each size it uses the schema ``yishi_growth_<events>`` of bench/growth.py (the same
demo district: seed 1, ``--now 2026-11-01``, about 15.8 events per case), loading it and
rebuilding its projections when needed. A real ``yishi serve`` process (projections off)
answers; one keep-alive client logs in through ``/dashboard/login`` with a token made for
the run and times each page ``--repeat`` times after one warm-up: the overview (this month
and October), the rankings, the flow, the case list (first page, and overdue only), the
case page of the case with the most events, the audit trail, and the notice board of
compound C01-01 (no login). Two readers: a district-wide auditor and a community (C01).

Baselines in the same run, same client and server: ``GET /healthz`` (the HTTP round trip
alone) and the API's ``GET /stats/closure`` for the auditor (JSON of one figure).

``--compare TREE`` serves another checkout of yishi (for example ``git worktree add
--detach ../old main``) beside this one, on the same schema, with this checkout's Python
environment; the two take turns request by request, so a busy moment of the shared machine
falls on both, and each row prints both and the new/old ratio of p95.

Targets (issue 12): every dashboard page p95 under 200 ms, the notice board under 100 ms.
The schemas are kept (bench/growth.py reads the same ones); drop them by hand when done.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import httpx
import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from http_append import Server
from memory_rebuild import events_in, load

from api.credentials import Credentials
from domain.application import open_cases
from domain.clock import ManualClock
from projections import queries, store
from projections.service import rebuild

DASHBOARD_MS = 200.0
BOARD_MS = 100.0
NOW = datetime(2026, 11, 1, tzinfo=UTC)


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(0.95 * len(ordered)) - 1))]


def timed(calls: list[Callable[[], httpx.Response]], servers: list[Server], repeat: int,
          ) -> list[tuple[list[float], float]]:
    """Each call ``repeat`` times after one warm-up, the trees taking turns request by
    request (so a busier moment of the machine falls on both alike); per tree the wall
    times (ms) and the server process's CPU per request (ms: less sensitive to a busy
    machine than wall time; the database's CPU is not in it)."""
    for call in calls:
        response = call()
        assert response.status_code == 200, (response.status_code, response.text[:300])
    spent: list[list[float]] = [[] for _ in calls]
    cpu = [server.cpu_seconds() for server in servers]
    for _ in range(repeat):
        for i, call in enumerate(calls):
            started = time.perf_counter()
            response = call()
            spent[i].append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200
    return [(values, (server.cpu_seconds() - before) * 1000 / repeat)
            for values, server, before in zip(spent, servers, cpu, strict=True)]


def prepare(base: str, events_target: int) -> str:
    schema = f"yishi_growth_{events_target}"
    if events_in(base, schema) is None:
        started = time.perf_counter()
        load(base, schema, events_target)
        print(f"  {schema}: loaded in {time.perf_counter() - started:.0f} s")
    url = f"{base}?schema={schema}"
    # A freshly loaded table has no planner statistics until autovacuum gets to it: with
    # none, PostgreSQL expects every row for ``originator_id = ANY(...)`` (the board's read).
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'ANALYZE "{schema}"."yishi_events"')
    app = open_cases(url, clock=ManualClock(NOW))
    try:
        fresh = queries.freshness(app)
        if fresh["position"] < fresh["head"]:
            result = rebuild(app)
            print(f"  {schema}: projections rebuilt ({result['events']:,} events,"
                  f" {result['seconds']:.0f} s)")
    finally:
        app.close()
    return schema


PAGES = (
    ("overview", "/dashboard"),
    ("overview, October", "/dashboard?month=2026-10"),
    ("rankings", "/dashboard/rankings?month=2026-10"),
    ("flow", "/dashboard/flow"),
    ("cases", "/dashboard/cases"),
    ("cases, overdue", "/dashboard/cases?overdue=true"),
    ("case page", "/dashboard/cases/{longest}"),
    ("audit", "/dashboard/audit"),
    ("overview (en)", "/dashboard?lang=en"),
)


def measure(base: str, events_target: int, repeat: int, trees: list[tuple[str, str | None]],
            ) -> list[tuple[str, float, bool]]:
    """Every page on one server per tree (``None``: this checkout), the trees taking turns;
    the verdicts of the first tree."""
    schema = prepare(base, events_target)
    url = f"{base}?schema={schema}"
    app = open_cases(url, clock=ManualClock(NOW))
    try:
        events = app.head_position()
        table = store.cases_table(app.db, store.current_generation(app.db))
        cases, = app.db.execute(f"SELECT COUNT(*) FROM {table}")[0]
        longest, = app.db.execute(f"SELECT case_id FROM {table} WHERE community_id = 'C01'"
                                  " ORDER BY version DESC, case_id LIMIT 1")[0]
        credentials = Credentials(app.db)
        tokens = {"auditor": credentials.create("auditor", name="bench/pages.py"),
                  "community C01": credentials.create("community", communities=["C01"],
                                                      name="bench/pages.py")}
    finally:
        app.close()
    print(f"\n{schema}: {events:,} events, {cases:,} cases; load average "
          f"{os.getloadavg()[0]:.2f}")
    servers = [Server(url, tree=tree) for _name, tree in trees]
    verdicts: list[tuple[str, float, bool]] = []
    try:
        clients = [httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60)
                   for server in servers]
        auditor = {"Authorization": f"Bearer {tokens['auditor']}"}
        rows: list[tuple[str, list[tuple[list[float], float]], float | None]] = []

        def row(label: str, path: str, target: float | None,
                headers: dict[str, str] | None = None) -> None:
            calls = [lambda c=c: c.get(path, headers=headers) for c in clients]
            rows.append((label, timed(calls, servers, repeat), target))  # type: ignore[misc]

        row("baseline GET /healthz", "/healthz", None)
        row("API GET /stats/closure (auditor)", "/stats/closure", None, auditor)
        row("API GET /cases (auditor)", "/cases", None, auditor)
        row("API GET /audit (auditor)", "/audit", None, auditor)
        for reader, token in tokens.items():
            for client in clients:
                client.cookies.clear()
                login = client.post("/dashboard/login",
                                    data={"token": token, "next": "/dashboard"})
                assert login.status_code == 303, login.text[:300]
            for label, path in PAGES:
                row(f"{label} [{reader}]", path.format(longest=longest), DASHBOARD_MS)
        for client in clients:
            client.cookies.clear()
        row("notice board /board/C01-01", "/board/C01-01", BOARD_MS)
        for client in clients:
            client.close()
        print(f"    load average after: {os.getloadavg()[0]:.2f}")
        bases = [statistics.median(per_tree[0]) for per_tree in rows[1][1]]
        print("    (x: p50 over the API's /stats/closure p50 of the same tree in this run; cpu:"
              " the server's CPU per request" + ("; new/old: p95 over p95)" if len(trees) > 1
                                                 else ")"))
        for label, per_tree, target in rows:
            for t, ((name, _tree), (values, cpu)) in enumerate(zip(trees, per_tree,
                                                                 strict=True)):
                worst = p95(values)
                mark = "" if target is None else ("  ok" if worst < target else "  MISSED")
                ratio = ""
                if t == 0 and len(trees) > 1:
                    ratio = f"  new/old {worst / p95(per_tree[1][0]):5.2f}"
                print(f"    {label if t == 0 else '':<40} {name:<4} p50 "
                      f"{statistics.median(values):7.1f} ms  p95 {worst:7.1f} ms  max "
                      f"{max(values):7.1f} ms  x{statistics.median(values) / bases[t]:4.1f}"
                      f"  cpu {cpu:6.1f} ms{mark}{ratio}")
                if target is not None and t == 0:
                    verdicts.append((label, worst, worst < target))
    finally:
        for server in servers:
            server.stop()
    return verdicts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, action="append")
    parser.add_argument("--postgres", default=os.environ.get(
        "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--compare", metavar="TREE",
                        help="another checkout of yishi (e.g. a worktree of main) served beside"
                             " this one, the two taking turns request by request")
    args = parser.parse_args()
    trees: list[tuple[str, str | None]] = [("new" if args.compare else "", None)]
    if args.compare:
        trees.append(("old", str(Path(args.compare).resolve())))
    print(f"bench/pages.py: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    missed = []
    for size in args.events or [100_000, 1_000_000]:
        missed += [v for v in measure(args.postgres, size, args.repeat, trees) if not v[2]]
    print("\nverdict: " + ("every page within its target" if not missed else
                           "missed: " + ", ".join(f"{label} ({ms:.0f} ms)"
                                                  for label, ms, _ in missed)))


if __name__ == "__main__":
    main()
