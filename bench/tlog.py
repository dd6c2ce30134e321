"""The verifiable log's speed: catch-up, the auditor's verification, proofs, exposure.

Run on demand (not in CI):

    .venv/bin/python bench/tlog.py --schema NAME       # an existing PostgreSQL district
    .venv/bin/python bench/tlog.py --cases 5000        # a fresh SQLite district
    .venv/bin/python bench/tlog.py --exposure 30       # the exposure window under load
    .venv/bin/python bench/tlog.py --schema NAME --compare ../old-checkout --rounds 2

With ``--compare TREE`` each section runs in child processes, alternately with the code of
TREE (an older checkout) and with this tree's, and the medians and ratios new/old are
printed at the end (``--only SECTION`` picks sections: catch-up, audit, proofs).

It measures, in one run, over the same store:
- catch-up: ``LogFollower.catch_up()`` into empty log tables (leaves, tiles, entry
  bundles), beside the baseline, a raw read of the same rows (position, stream, version,
  state; one ordered scan) (target: 50,000 events/s);
- ``yishi audit verify`` of a whole-log bundle (``verify_log_bundle`` in process: chains,
  leaves, root, signature) (target 50,000 events/s), and the export that writes it;
- a 20-event case bundle: the check in process (target < 100 ms) and the whole command in
  a new process (target < 1 s), beside ``python -c pass``;
- ``GET /cases/{id}/proof`` for a 20-event case through the HTTP app (uvicorn, httpx):
  p50/p95 of 200 requests (target p95 < 20 ms);
- with ``--exposure S``: events appended at a steady rate for S seconds while the server's
  log thread runs with the default cadence (1,000 leaves or 60 s): the time from each
  append to the first checkpoint that covers it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from uuid import UUID

import httpx
import psycopg
import uvicorn

from api.http.app import create_app
from api.http.settings import Settings
from api.progress import Progress
from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.model import Actor, Role
from domain.tlog.bundle import read_log_bundle, verify_case_bundle, verify_log_bundle
from domain.tlog.note import Signer
from projections import tlog_store as ls
from projections.tlog_reads import case_bundle, write_log_bundle
from projections.tlog_signer import LogSigner, read_key, write_key
from simulation.driver import generate

NOW = datetime(2026, 11, 1, tzinfo=UTC)
TARGET = 50_000
RESIDENT = Actor("resident-1", Role.RESIDENT, frozenset({"JX"}))
REPORT = {"compound_id": "JX", "community_id": "C1", "title": "地下车库漏水",
          "description": "The garage leaks.", "category": "facilities", "channel": "wechat"}
PG = os.environ.get("YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


def raw_read(app: Cases) -> tuple[int, float]:
    started = time.perf_counter()
    count = 0
    datastore = app.recorder.datastore  # type: ignore[attr-defined]
    if app.db.dialect == "postgres":
        with psycopg.connect(PG) as conn, conn.cursor(name="raw") as curs:
            curs.itersize = 5000
            curs.execute("SELECT notification_id, originator_id, originator_version, state"
                         f' FROM "{datastore.schema}".yishi_events ORDER BY notification_id')
            for _row in curs:
                count += 1
    else:
        with datastore.transaction(commit=False) as curs:
            curs.execute("SELECT rowid, originator_id, originator_version, state"
                         " FROM stored_events ORDER BY rowid")
            for _row in curs.fetchall():
                count += 1
    return count, time.perf_counter() - started


def reset_log(app: Cases) -> None:
    """Empty log tables; on PostgreSQL truncated, so that no run inherits the dead rows
    and the autovacuum work of the run before it."""
    ls.ensure_tables(app.db)
    empty = "TRUNCATE" if app.db.dialect == "postgres" else "DELETE FROM"
    for name in ("leaves", "tiles", "entries", "checkpoints"):
        app.db.execute(f"{empty} {ls.table(app.db, name)}")
    app.db.execute(f"UPDATE {ls.table(app.db, 'state')} SET size = 0, position = 0")


def postgres_cpu() -> float:
    """CPU seconds used so far by every PostgreSQL process on this machine (others' too:
    an upper bound for the server's share of a run on a shared machine)."""
    total = 0
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        if "(postgres)" in stat:
            fields = stat.rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def catch_up(app: Cases) -> None:
    reset_log(app)
    started, cpu, server = time.perf_counter(), time.process_time(), postgres_cpu()
    leaves = ls.LogFollower(app).catch_up()
    seconds = time.perf_counter() - started
    cpu, server = time.process_time() - cpu, postgres_cpu() - server
    print(f"catch-up CPU per event: {cpu / leaves * 1e6:.1f} us here, {server / leaves * 1e6:.1f}"
          " us in all PostgreSQL processes")
    result("catch-up CPU us/event (this process)", cpu / leaves * 1e6)
    result("catch-up CPU us/event (all PostgreSQL)", server / leaves * 1e6)
    raw, raw_seconds = raw_read(app)
    rate, raw_rate = leaves / seconds, raw / raw_seconds
    print(f"catch-up: {leaves:,} leaves in {seconds:.2f} s = {rate:,.0f} events/s"
          f" ({'meets' if rate >= TARGET else 'misses'} {TARGET:,}); raw read {raw:,} rows"
          f" in {raw_seconds:.2f} s = {raw_rate:,.0f} rows/s; ratio {rate / raw_rate:.2f}")
    result("catch-up events/s", rate)
    result("raw read rows/s", raw_rate)
    result("catch-up / raw read", rate / raw_rate)


def audit(app: Cases, tmp: Path, signer: Signer, bundle: Path | None = None) -> None:
    """``bundle``: a whole-log bundle file to verify, exported first if it does not exist
    (default: a new one in ``tmp``)."""
    if bundle is None or not bundle.exists():
        bundle = bundle or tmp / "log.jsonl"
        LogSigner(app).sign()
        started = time.perf_counter()
        with bundle.open("wb") as out:
            size = write_log_bundle(app, out)
        print(f"export --all: {size:,} leaves in {time.perf_counter() - started:.2f} s,"
              f" {bundle.stat().st_size / 1e6:,.0f} MB")
    started, cpu = time.perf_counter(), time.process_time()
    with bundle.open("rb") as handle:
        header, records = read_log_bundle(handle)
        report = verify_log_bundle(header, records, signer.verifier)
    seconds, cpu = time.perf_counter() - started, time.process_time() - cpu
    assert report.ok, report.findings[:3]
    size = int(header["size"])
    print(f"audit verify (whole log): {size:,} events in {seconds:.2f} s ="
          f" {size / seconds:,.0f} events/s ({'meets' if size / seconds >= TARGET else 'misses'}"
          f" {TARGET:,}); {size / cpu:,.0f} events per CPU second")
    result("audit verify events/s", size / seconds)
    result("audit verify events per CPU s", size / cpu)
    case_id = twenty_event_case(app)
    document = case_bundle(app, case_id)
    started = time.perf_counter()
    report = verify_case_bundle(document, signer.verifier)
    check_ms = (time.perf_counter() - started) * 1000
    assert report.ok, report.findings
    path = tmp / "case.json"
    import json  # noqa: PLC0415

    path.write_text(json.dumps(document))
    command = [sys.executable, "-m", "api.cli", "audit", "verify", str(path), "--key",
               signer.verifier.text()]
    walls = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True)
        walls.append(time.perf_counter() - started)
    bare = []
    for _ in range(5):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], check=True)
        bare.append(time.perf_counter() - started)
    print(f"audit verify (20-event case): check {check_ms:.1f} ms (target < 100);"
          f" command median {statistics.median(walls) * 1000:.0f} ms (target < 1000),"
          f" python -c pass {statistics.median(bare) * 1000:.0f} ms")
    result("case bundle check ms", check_ms)
    result("case bundle command ms", statistics.median(walls) * 1000)


def twenty_event_case(app: Cases) -> UUID:
    for case_id in app.case_ids():
        if len(app.positions(case_id)) >= 20:
            return case_id
    raise SystemExit("no case with 20 events")


def serve(url: str) -> tuple[uvicorn.Server, int]:
    app = create_app(Settings(database_url=url, projections=False))
    config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning")
    server = uvicorn.Server(config)
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, port


def analyze(app: Cases) -> None:
    """Table statistics, as autovacuum keeps them in production (the test server runs with
    autovacuum off, and a freshly loaded district has none: plans are then guesses)."""
    if app.db.dialect == "postgres":
        for name in ("yishi_events", *(f"yishi_tlog_{t}" for t in
                                       ("leaves", "tiles", "entries", "checkpoints"))):
            app.db.execute(f"ANALYZE {app.db.table(name)}")


def proofs(app: Cases, url: str) -> None:
    case_id = twenty_event_case(app)
    analyze(app)
    if ls.read_state(app.db).size and LogSigner(app).due():  # proofs need a checkpoint
        LogSigner(app).sign()
    from api.credentials import Credentials  # noqa: PLC0415

    token = Credentials(app.db).create(Role.AUDITOR)
    server, port = serve(url)
    times = []
    with httpx.Client(base_url=f"http://127.0.0.1:{port}",
                      headers={"Authorization": f"Bearer {token}"}) as client:
        for _ in range(20):
            client.get(f"/cases/{case_id}/proof").raise_for_status()
        cpu = time.process_time()  # the server's thread and this client's, both here
        for _ in range(200):
            started = time.perf_counter()
            answer = client.get(f"/cases/{case_id}/proof")
            times.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200
        cpu = (time.process_time() - cpu) / 200 * 1000
    server.should_exit = True
    times.sort()
    p95 = times[int(len(times) * 0.95)]
    print(f"GET /cases/{{id}}/proof (20 events, {app.head_position():,} in the log):"
          f" p50 {statistics.median(times):.1f} ms, p95 {p95:.1f} ms"
          f" ({'meets' if p95 < 20 else 'misses'} 20 ms)")
    print(f"  CPU per request (server and client in this process): {cpu:.1f} ms")
    result("proof p50 ms", statistics.median(times))
    result("proof CPU ms per request (server + client)", cpu)
    result("proof p95 ms", p95)


def exposure(url: str, seconds: float, rate: float) -> None:
    from api.http.background import background_services  # noqa: PLC0415
    app = open_cases(url)
    services = background_services(app, Settings(database_url=url))
    for service in services:
        service.start()
    appended: dict[int, float] = {}
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        recorded = app.report_problem(RESIDENT, REPORT)
        assert recorded.event.position is not None
        appended[recorded.event.position] = time.time()
        time.sleep(max(0.0, 1 / rate - 0.001))
    deadline = time.monotonic() + 90
    covered: dict[int, float] = {}
    while len(covered) < len(appended) and time.monotonic() < deadline:
        rows = app.db.execute(f"SELECT size, signed_at FROM {ls.table(app.db, 'checkpoints')}"
                              " ORDER BY size")
        leaves = dict(app.db.execute(f"SELECT position, leaf_index FROM"
                                     f" {ls.table(app.db, 'leaves')}"))
        for position in appended:
            index = leaves.get(position)
            if position in covered or index is None:
                continue
            for size, signed_at in rows:
                if index < size:
                    covered[position] = datetime.fromisoformat(signed_at).timestamp()
                    break
        time.sleep(0.5)
    for service in services:
        service.stop()
    delays = sorted(covered[p] - appended[p] for p in covered)
    print(f"exposure window: {len(appended)} events at ~{len(appended) / seconds:.0f}/s for"
          f" {seconds:.0f} s: median {statistics.median(delays):.1f} s, p95"
          f" {delays[int(len(delays) * 0.95)]:.1f} s, max {delays[-1]:.1f} s"
          f" ({len(appended) - len(covered)} not covered after 90 s)")
    app.close()


def result(name: str, value: float) -> None:
    """A figure for ``--compare`` to collect from a child run."""
    print(f"RESULT {name} = {value:.6g}", flush=True)


SECTIONS = ("catch-up", "audit", "proofs")


def compare(args: argparse.Namespace) -> None:
    """Run each section in child processes, alternately with the code of ``--compare``
    (an older checkout) and with this tree's, ``--rounds`` times, then print the medians
    and the ratios new/old. The children share one key file and one bundle file."""
    here = Path(__file__).resolve().parents[1]
    trees = {"old": Path(args.compare).resolve(), "new": here}
    figures: dict[tuple[str, str], list[float]] = {}
    with tempfile.TemporaryDirectory(prefix="logspeed-") as name:
        tmp = Path(name)
        write_key(tmp / "key", Signer.generate("yishi.bench/log"))
        for section in args.only or SECTIONS:
            for round_ in range(1, args.rounds + 1):
                for label, tree in trees.items():
                    command = [sys.executable, str(Path(__file__).resolve()), "--only", section,
                               "--bundle", str(tmp / "log.jsonl")]
                    command += ["--schema", args.schema] if args.schema else ["--cases",
                                                                               str(args.cases)]
                    env = {**os.environ, "PYTHONPATH": str(tree),
                           "YISHI_LOG_KEY_FILE": str(tmp / "key")}
                    print(f"--- {section}, round {round_}, {label} ({tree}),"
                          f" load {os.getloadavg()[0]:.2f}", flush=True)
                    out = subprocess.run(command, env=env, cwd=tree, check=True,
                                         capture_output=True, text=True).stdout
                    for line in out.splitlines():
                        if line.startswith("RESULT "):
                            key, value = line[7:].rsplit(" = ", 1)
                            figures.setdefault((key, label), []).append(float(value))
                        else:
                            print(f"    {line}")
    print(f"\nmedians of {args.rounds} round(s), load average now {os.getloadavg()[0]:.2f}:")
    for key in dict.fromkeys(k for k, _ in figures):
        old, new = (statistics.median(figures.get((key, t), [float("nan")]))
                    for t in ("old", "new"))
        print(f"  {key}: old {old:,.1f}, new {new:,.1f}, new/old {new / old:.2f}"
              f"  (old {figures.get((key, 'old'))}, new {figures.get((key, 'new'))})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schema", help="an existing PostgreSQL schema with a district")
    parser.add_argument("--only", action="append", choices=SECTIONS,
                        help="run only this section (repeatable)")
    parser.add_argument("--compare", metavar="TREE",
                        help="also run the sections with the code of this checkout, in"
                        " child processes alternating with this tree's; print the ratios")
    parser.add_argument("--rounds", type=int, default=1, help="rounds with --compare")
    parser.add_argument("--bundle", type=Path,
                        help="the whole-log bundle to verify (exported there if missing)")
    parser.add_argument("--cases", type=int, default=2000, help="a fresh SQLite district")
    parser.add_argument("--exposure", type=float, default=0,
                        help="seconds of appends for the exposure window (0: skip)")
    parser.add_argument("--rate", type=float, default=50, help="appends per second")
    args = parser.parse_args()
    print(f"bench/tlog.py: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}")
    if args.compare:
        compare(args)
        return
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        key = os.environ.get("YISHI_LOG_KEY_FILE")  # a key shared by --compare's children
        if key:
            signer = read_key(Path(key))
        else:
            signer = Signer.generate("yishi.bench/log")
            write_key(tmp / "key", signer)
            os.environ["YISHI_LOG_KEY_FILE"] = str(tmp / "key")
        os.environ["YISHI_LOG_ORIGIN"] = signer.name
        if args.schema:
            url = f"{PG}?schema={args.schema}"
            app = open_cases(url)
        else:
            url = f"sqlite:///{tmp / 'bench.db'}"
            app = open_cases(url, clock=ManualClock(NOW))
            generate(app, cases=args.cases, seed=1, now=NOW, progress=Progress(args.cases))
        print(f"store {url.split('@')[-1]}: {app.head_position():,} events")
        if args.exposure:
            reset_log(app)
            ls.LogFollower(app).catch_up()
            LogSigner(app).sign()
            exposure(url, args.exposure, args.rate)
            return
        sections = args.only or SECTIONS
        if "catch-up" in sections:
            catch_up(app)
        if "audit" in sections:
            audit(app, tmp, signer, args.bundle)
        if "proofs" in sections:
            proofs(app, url)
        print(f"load average {os.getloadavg()[0]:.2f}")
        app.close()


if __name__ == "__main__":
    main()
