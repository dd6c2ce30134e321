"""Appends per second and latency over HTTP, against the library's own save and raw inserts.

Run on demand (not in CI):

    .venv/bin/python bench/http_append.py [--store postgres|sqlite] [--events 1600]
        [--rate 100 --seconds 20] [--postgres URL] [--modes off,on]

On a fresh store (a new PostgreSQL schema, or a new SQLite file) it measures, in one run:

- baseline ``library``: the eventsourcing library's own ``save()`` of one pre-decided
  CommentAdded event per call (decided beforehand, as in bench/store_append.py), one thread;
- baseline ``raw``: one autocommitted single-row INSERT of the same bytes per call
  (psycopg / sqlite3);
- ``http``: ``POST /cases/{id}/events`` of a CommentAdded to a real ``yishi serve`` process
  (uvicorn on 127.0.0.1, projections off), with group commit off and on
  (``YISHI_GROUP_COMMIT``): 1 client, and 16 clients each on its own case (closed loop:
  each client sends its next request when the answer to the last arrives); then an open
  loop paced at ``--rate`` requests per second over 16 connections for ``--seconds``
  (latency counted from the scheduled send time, so queueing is included).

The clients are one asyncio loop speaking HTTP/1.1 keep-alive on raw sockets, so that the
load generator takes little of the machine's CPU. The machine is shared and noisy, so the
closed-loop runs and the baselines are interleaved in ``--rounds`` rounds (each round: the
baselines, then each mode); the ratio is the median of the per-round ratios. Prints
appends/s, p50/p99 latency, the server's CPU per append, the ratio http / library, and the
server's peak resident memory (VmHWM).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import psycopg

from api.credentials import Credentials
from domain.application import Cases, open_cases
from domain.case import Case
from domain.directory.csvfile import parse
from domain.model import Actor, Role

DEFAULT_PG = os.environ.get("YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPORT = {"compound_id": "JX", "community_id": "C1", "title": "bench", "description": "bench",
          "category": "other", "channel": "api"}
COMMUNITY = Actor("bench-community", Role.COMMUNITY)
DIRECTORY = "level,code,name,parent\nstreet,S1,街道,\ncommunity,C1,社区,S1\ncompound,JX,小区,C1\n"


# Stores ----------------------------------------------------------------------------------


def register_directory(app: Cases) -> Cases:
    """Register the benchmarks' compound JX of community C1 (cases are filed only into a
    registered compound)."""
    app.directory.apply_rows(parse(DIRECTORY), Actor("bench-admin", Role.ADMIN))
    return app


@contextmanager
def fresh_store(kind: str, pg_base: str) -> Iterator[str]:
    """A database URL on an empty store, removed afterwards."""
    if kind == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            yield f"sqlite:///{tmp}/bench.db"
        return
    schema = f"yishi_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_base, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"{pg_base}?schema={schema}&pool_size=16"
    finally:
        with psycopg.connect(pg_base, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def rate(n: int, step: Callable[[int], object]) -> float:
    started = time.perf_counter()
    for i in range(n):
        step(i)
    return n / (time.perf_counter() - started)


def library_save(app: Cases, n: int) -> float:
    """The library's save() of one pre-decided event per call."""
    case = app.report_problem(COMMUNITY, REPORT).case
    for i in range(n):
        case.record("CommentAdded", {"text": f"note {i}"}, COMMUNITY, app.clock.now())
    events = case.collect_events()
    assert all(isinstance(e, Case.Event) for e in events)
    return rate(n, lambda i: app.save(events[i]))


def raw_insert(app: Cases, url: str, n: int) -> float:
    """One autocommitted single-row INSERT of the same bytes per call."""
    case_id = app.report_problem(COMMUNITY, REPORT).case.id
    sample = app.recorder.select_events(case_id, limit=1)[0].state
    if url.startswith("sqlite"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("CREATE TABLE IF NOT EXISTS raw_events"
                     " (id INTEGER PRIMARY KEY, oid TEXT, v INT, state BLOB)")
        try:
            return rate(n, lambda i: conn.execute(
                "INSERT INTO raw_events (oid, v, state) VALUES (?, ?, ?)",
                (uuid.uuid4().hex, 1, sample)))
        finally:
            conn.close()
    base, _, query = url.partition("?")
    schema = dict(p.split("=") for p in query.split("&"))["schema"]
    with psycopg.connect(base, autocommit=True) as pg:
        pg.execute(f'CREATE TABLE IF NOT EXISTS "{schema}".raw_events'
                   " (id bigserial PRIMARY KEY, oid uuid, v bigint, state bytea)")
        return rate(n, lambda i: pg.execute(
            f'INSERT INTO "{schema}".raw_events (oid, v, state) VALUES (%s, %s, %s)',
            (uuid.uuid4(), 1, sample)))


# The server ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Server:
    """``yishi serve`` in a subprocess (what production runs), projections off."""

    def __init__(self, url: str, group_commit: bool | None = None,
                 extra_env: dict[str, str] | None = None, tree: str | None = None,
                 serve_args: list[str] | None = None) -> None:
        self.port = free_port()
        env = {**os.environ, **(extra_env or {})}
        env.pop("YISHI_GROUP_COMMIT", None)
        if group_commit is not None:
            env["YISHI_GROUP_COMMIT"] = "y" if group_commit else "n"
        # ``tree``: another checkout of yishi (``python -m`` imports from the working
        # directory first), to compare a server before and after a change in one run.
        self.process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--database-url", url, "serve", "--port",
             str(self.port), "--no-projections", *(serve_args or [])],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, cwd=tree,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                status, _ = asyncio.run(one_request(self.port, "GET", "/healthz"))
                if status == 200:
                    return
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("yishi serve did not start")

    def memory_kib(self) -> dict[str, int]:
        """VmRSS (now) and VmHWM (peak) of the server process (and its workers), in KiB."""
        result = {"VmRSS": 0, "VmHWM": 0}
        for pid in [self.process.pid, *self._children()]:
            with open(f"/proc/{pid}/status") as status:
                for line in status:
                    key, _, value = line.partition(":")
                    if key in result:
                        result[key] += int(value.split()[0])
        return result

    def cpu_seconds(self) -> float:
        """User + system CPU the server process and its children (--workers) have used."""
        total = 0
        for pid in [self.process.pid, *self._children()]:
            try:
                with open(f"/proc/{pid}/stat") as stat:
                    fields = stat.read().rpartition(")")[2].split()
            except FileNotFoundError:
                continue
            total += int(fields[11]) + int(fields[12])
        return total / os.sysconf("SC_CLK_TCK")

    def _children(self) -> list[int]:
        try:
            with open(f"/proc/{self.process.pid}/task/{self.process.pid}/children") as f:
                return [int(pid) for pid in f.read().split()]
        except FileNotFoundError:
            return []

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# A light HTTP/1.1 client -----------------------------------------------------------------


class Connection:
    """One keep-alive HTTP/1.1 connection; enough for JSON requests to uvicorn."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: object = None,
                      token: str | None = None) -> tuple[int, bytes]:
        payload = b"" if body is None else json.dumps(body).encode()
        head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        if token:
            head += f"Authorization: Bearer {token}\r\n"
        if body is not None:
            head += "Content-Type: application/json\r\n"
        head += f"Content-Length: {len(payload)}\r\n\r\n"
        self.writer.write(head.encode() + payload)
        status_line = await self.reader.readline()
        status = int(status_line.split()[1])
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


async def one_request(port: int, method: str, path: str, body: object = None,
                      token: str | None = None) -> tuple[int, bytes]:
    conn = await Connection.open(port)
    try:
        return await conn.request(method, path, body, token)
    finally:
        conn.close()


@dataclass
class Result:
    appends: int
    seconds: float
    latencies: list[float]  # seconds
    errors: int = 0
    server_cpu: float = 0.0  # seconds of server CPU during the run


    @property
    def per_second(self) -> float:
        return self.appends / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000

    def line(self, label: str, baseline: float | None = None) -> str:
        text = (f"{label:44} {self.per_second:8.1f}/s  p50 {self.percentile(50):6.1f} ms"
                f"  p99 {self.percentile(99):6.1f} ms")
        if baseline:
            text += f"  ratio {self.per_second / baseline:.2f}"
        if self.server_cpu:
            text += f"  server CPU {self.server_cpu / self.appends * 1000:.2f} ms/append"
        return text + (f"  errors {self.errors}" if self.errors else "")


async def new_cases(port: int, token: str, n: int) -> list[str]:
    conn = await Connection.open(port)
    try:
        ids = []
        for _ in range(n):
            status, body = await conn.request("POST", "/cases", REPORT, token)
            assert status == 201, body
            ids.append(json.loads(body)["id"])
        return ids
    finally:
        conn.close()


def comment(i: int) -> dict[str, object]:
    return {"type": "CommentAdded", "data": {"text": f"note {i}"}}


async def closed_loop(port: int, token: str, clients: int, total: int) -> Result:
    """``clients`` connections, each on its own case, each sending its next append when
    the last one is answered."""
    ids = await new_cases(port, token, clients)
    conns = [await Connection.open(port) for _ in range(clients)]
    latencies: list[float] = []
    errors = 0

    async def client(c: int) -> None:
        nonlocal errors
        for i in range(total // clients):
            sent = time.perf_counter()
            status, _ = await conns[c].request("POST", f"/cases/{ids[c]}/events", comment(i),
                                               token)
            latencies.append(time.perf_counter() - sent)
            errors += status != 201

    started = time.perf_counter()
    await asyncio.gather(*(client(c) for c in range(clients)))
    seconds = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return Result(len(latencies), seconds, latencies, errors)


async def open_loop(port: int, token: str, clients: int, per_second: float,
                    seconds: float) -> Result:
    """Requests scheduled every 1/per_second s, whatever the answers; each goes out on a
    free connection of ``clients`` (each connection on its own case). Latency is from the
    scheduled time, so waiting for a free connection counts."""
    ids = await new_cases(port, token, clients)
    free: asyncio.Queue[int] = asyncio.Queue()
    conns = [await Connection.open(port) for _ in range(clients)]
    for c in range(clients):
        free.put_nowait(c)
    latencies: list[float] = []
    errors = 0
    n = int(per_second * seconds)

    async def send(i: int, due: float) -> None:
        nonlocal errors
        c = await free.get()
        try:
            status, _ = await conns[c].request("POST", f"/cases/{ids[c]}/events", comment(i),
                                               token)
        finally:
            free.put_nowait(c)
        latencies.append(time.perf_counter() - due)
        errors += status != 201

    started = time.perf_counter()
    tasks = []
    for i in range(n):
        due = started + i / per_second
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    for conn in conns:
        conn.close()
    return Result(len(latencies), elapsed, latencies, errors)


# The run ---------------------------------------------------------------------------------


def measured(server: Server, run: Any) -> Result:
    """Run the load (a coroutine) and note the server CPU it took (case creation too)."""
    before = server.cpu_seconds()
    result: Result = asyncio.run(run)
    result.server_cpu = server.cpu_seconds() - before
    return result


def baselines(app: Cases, url: str, n: int) -> tuple[float, float]:
    return library_save(app, n), raw_insert(app, url, n)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", choices=("postgres", "sqlite"), default="postgres")
    parser.add_argument("--events", type=int, default=1600, help="appends per HTTP measurement")
    parser.add_argument("--baseline-events", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds")
    parser.add_argument("--rate", type=float, default=100.0, help="paced requests per second")
    parser.add_argument("--seconds", type=float, default=20.0, help="paced run length")
    parser.add_argument("--modes", default="off,on", help="group commit modes to run")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    parser.add_argument("--serve-args", default="",
                        help="extra arguments for `yishi serve`, e.g. '--workers 2'")
    parser.add_argument("--compare", metavar="TREE",
                        help="also run, interleaved, mode 'ref': group commit on, served from "
                        "another checkout of yishi (e.g. `git archive HEAD~3 | tar -x -C TREE`)")
    parser.add_argument("--compare-args", default="", help="extra arguments for ref's server")
    parser.add_argument("--serve-env", default="",
                        help="NAME=VALUE,... set for the candidate servers (not ref)")
    args = parser.parse_args()
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    servers: dict[str, dict[str, Any]] = {
        mode: {"group_commit": mode == "on", "serve_args": args.serve_args.split(),
               "extra_env": dict(kv.split("=", 1) for kv in args.serve_env.split(",") if kv)}
        for mode in modes
    }
    if args.compare:
        modes.append("ref")
        servers["ref"] = {"group_commit": True, "tree": args.compare,
                          "serve_args": args.compare_args.split()}
    rounds: list[dict[str, Any]] = []
    paced: dict[str, Result] = {}
    peaks: dict[str, int] = {}
    load_before = os.getloadavg()[0]
    with fresh_store(args.store, args.postgres) as url:
        app = open_cases(url, group_commit=False)
        try:
            # The directory first (a case is filed only into a registered compound), and a
            # scoped token, so every append resolves a scope (docs/adr/0070, 0071).
            register_directory(app)
            token = Credentials(app.db).create("community", communities=["C1"], name="bench")
            for r in range(args.rounds):
                row: dict[str, Any] = {}
                row["library"], row["raw"] = baselines(app, url, args.baseline_events)
                for mode in modes:
                    server = Server(url, **servers[mode])
                    try:
                        row[f"one {mode}"] = measured(
                            server, closed_loop(server.port, token, 1, args.events // 4))
                        row[f"16 {mode}"] = measured(
                            server, closed_loop(server.port, token, 16, args.events))
                        if r == args.rounds - 1 and args.seconds > 0:
                            paced[mode] = measured(server, open_loop(
                                server.port, token, 16, args.rate, args.seconds))
                        peaks[mode] = max(peaks.get(mode, 0), server.memory_kib()["VmHWM"])
                    finally:
                        server.stop()
                rounds.append(row)
        finally:
            app.close()
    med = statistics.median
    print(f"{args.store}; per round: {args.baseline_events} library saves and raw inserts,"
          f" HTTP {args.events // 4} appends with 1 client and {args.events} with 16 clients;"
          f" {args.rounds} rounds interleaved; load average {load_before:.2f} before,"
          f" {os.getloadavg()[0]:.2f} after")
    print("per round (appends/s): " + "; ".join(
        f"library {row['library']:.0f}, raw {row['raw']:.0f}, "
        + ", ".join(f"16 gc {m} {row[f'16 {m}'].per_second:.0f}" for m in modes)
        for row in rounds))
    library = med(row["library"] for row in rounds)
    raw = med(row["raw"] for row in rounds)
    print(f"{'baseline library save(), 1 event per save':46} {library:8.1f}/s  (median)")
    print(f"{'baseline raw autocommit INSERT, same bytes':46} {raw:8.1f}/s  (median)"
          f"  library/raw {library / raw:.2f}")
    ratios: dict[str, float] = {}
    for kind, clients in (("one", 1), ("16", 16)):
        for mode in modes:
            results = [row[f"{kind} {mode}"] for row in rounds]
            best = sorted(results, key=lambda x: x.per_second)[len(results) // 2]
            ratio = med(x.per_second / row["library"]
                        for x, row in zip(results, rounds, strict=True))
            if kind == "16":
                ratios[mode] = ratio
            print(best.line(f"HTTP, {clients} client(s), group commit {mode}")
                  + f"  ratio to library {ratio:.2f} (median of rounds)")
    for mode, result in paced.items():
        print(result.line(f"HTTP paced {args.rate:.0f}/s x {args.seconds:.0f}s, gc {mode}"))
    for mode, peak in peaks.items():
        print(f"server peak RSS, group commit {mode}: {peak / 1024:.0f} MB")
    if "off" in modes and "on" in modes:
        gain = med(row["16 on"].per_second / row["16 off"].per_second for row in rounds)
        print(f"group commit on / off, 16 clients: {gain:.2f} (median of rounds)")
    for mode in modes:
        if mode != "ref" and "ref" in modes:
            gain = med(row[f"16 {mode}"].per_second / row["16 ref"].per_second for row in rounds)
            print(f"16 clients, gc {mode} / ref ({args.compare}): {gain:.2f} (median of rounds)")
    print("TARGET 16 clients >= library save: " + ", ".join(
        f"gc {m} {'MET' if r >= 1 else 'MISSED'} ({r:.2f})" for m, r in ratios.items()))
    for mode, result in paced.items():
        p99 = result.percentile(99)
        print(f"TARGET p99 < 50 ms at {args.rate:.0f}/s, gc {mode}:"
              f" {'MET' if p99 < 50 else 'MISSED'} ({p99:.1f} ms)")


if __name__ == "__main__":
    main()
