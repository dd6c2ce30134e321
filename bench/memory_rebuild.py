"""Peak resident memory of a full projection rebuild, at two or more sizes of the log.

Run on demand (not in CI):

    .venv/bin/python bench/memory_rebuild.py --schema yishi_growth_100000 \
        --schema yishi_growth_1000000 [--postgres URL] [--load EVENTS ...] [--drop]

For each PostgreSQL schema it runs ``yishi projections rebuild`` as a subprocess on it and
reports the child's peak resident set (``ru_maxrss`` of ``os.wait4`` for that child alone)
together with the events rebuilt and the rate; it also samples ``VmRSS`` from /proc every
0.2 s, to show whether memory grows during the run or levels off. A schema that does not
exist yet is created and loaded with ``yishi demo`` first (``--load`` gives the events per
schema, about 15.8 events per case); ``--drop`` drops the schemas afterwards.

Target: peak under 300 MB at 1M events, and not growing with the number of events.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import psycopg

TARGET_MB = 300
EVENTS_PER_CASE = 15.8
YISHI = str(Path(sys.executable).with_name("yishi"))


def rss_kb(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def events_in(base: str, schema: str) -> int | None:
    with psycopg.connect(base, autocommit=True) as conn:
        exists = conn.execute(
            "SELECT 1 FROM information_schema.tables WHERE table_schema = %s"
            " AND table_name = 'yishi_events'", (schema,)).fetchone()
        if not exists:
            return None
        row = conn.execute(f'SELECT COUNT(*) FROM "{schema}".yishi_events').fetchone()
        return int(row[0]) if row else 0


def load(base: str, schema: str, events: int) -> None:
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    cases = max(1, round(events / EVENTS_PER_CASE))
    subprocess.run([YISHI, "--database-url", f"{base}?schema={schema}", "demo", "--cases",
                    str(cases), "--seed", "1", "--now", "2026-11-01"],
                   check=True, stdout=subprocess.DEVNULL)


def rebuild(base: str, schema: str, batch_size: int) -> dict[str, float]:
    """Run one rebuild; reaped with os.wait4 for this child's own ru_maxrss."""
    started = time.perf_counter()
    child = subprocess.Popen(
        [YISHI, "--database-url", f"{base}?schema={schema}", "projections", "rebuild",
         "--batch-size", str(batch_size)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    samples: list[tuple[float, int]] = []
    while True:
        pid, status, usage = os.wait4(child.pid, os.WNOHANG)
        if pid:
            break
        kb = rss_kb(child.pid)
        if kb is not None:
            samples.append((time.perf_counter() - started, kb))
        time.sleep(0.2)
    child.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.perf_counter() - started
    if child.returncode != 0:
        raise SystemExit(f"rebuild failed on {schema} (exit {child.returncode})")
    quarter = [kb for t, kb in samples if t <= seconds / 4]
    half = [kb for t, kb in samples if t <= seconds / 2]
    return {"seconds": seconds, "maxrss_kb": usage.ru_maxrss,
            "sampled_peak_kb": max((kb for _t, kb in samples), default=0),
            "quarter_kb": max(quarter, default=0), "half_kb": max(half, default=0)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--postgres", default=os.environ.get(
        "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--schema", action="append", required=True)
    parser.add_argument("--load", type=int, action="append", default=[],
                        help="events to load into a schema that does not exist yet")
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--drop", action="store_true")
    args = parser.parse_args()
    print(f"bench/memory_rebuild.py: {os.cpu_count()} cores, load average "
          f"{os.getloadavg()[0]:.2f}; target peak < {TARGET_MB} MB, flat in the events")
    results = []
    try:
        for index, schema in enumerate(args.schema):
            events = events_in(args.postgres, schema)
            if events is None:
                if index >= len(args.load):
                    raise SystemExit(f"schema {schema} has no events and no --load for it")
                load(args.postgres, schema, args.load[index])
                events = events_in(args.postgres, schema) or 0
            run = rebuild(args.postgres, schema, args.batch_size)
            mb = run["maxrss_kb"] / 1024
            results.append((schema, events, mb))
            print(f"  {schema}: {events:,} events rebuilt in {run['seconds']:.1f} s "
                  f"({events / run['seconds']:,.0f} events/s); peak RSS {mb:,.0f} MB "
                  f"(by a quarter of the run {run['quarter_kb'] / 1024:,.0f} MB, by half "
                  f"{run['half_kb'] / 1024:,.0f} MB); load average "
                  f"{os.getloadavg()[0]:.2f}")
    finally:
        if args.drop:
            with psycopg.connect(args.postgres, autocommit=True) as conn:
                for schema in args.schema:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    for schema, events, mb in results:
        verdict = "meets" if mb < TARGET_MB else "misses"
        print(f"RESULT {schema}: {events:,} events, peak RSS {mb:,.0f} MB ({verdict} "
              f"< {TARGET_MB} MB)")
    if len(results) >= 2:
        (_s, small_events, small), (_l, large_events, large) = results[0], results[-1]
        print(f"RESULT growth: x{large_events / small_events:.1f} events -> "
              f"x{large / small:.2f} peak memory")


if __name__ == "__main__":
    main()
