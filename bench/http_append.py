"""Appends per second over HTTP on PostgreSQL, with 1 and with 16 concurrent clients.

Run on demand (not in CI):

    .venv/bin/python bench/http_append.py [--events 400] [--postgres URL]

In the same run, on a fresh PostgreSQL schema, it measures:
- baseline: ``Cases.record`` of one CommentAdded per call, in process (load, decide, hash,
  save), with 1 thread and with 16 threads each on its own case;
- http: ``POST /cases/{id}/events`` of the same event to ``yishi serve`` (a separate process,
  uvicorn), with 1 client and with 16 clients each on its own case, and 16 clients on one
  case with If-Match retries (contention);
and prints events per second and the ratio http / baseline.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx
import psycopg

from api.credentials import Credentials
from domain.application import Cases, open_cases
from domain.model import Actor, Role

DEFAULT_PG = os.environ.get("YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REPORT = {"compound_id": "JX", "community_id": "C1", "title": "bench", "description": "bench",
          "category": "other", "channel": "api"}
COMMUNITY = Actor("bench-community", Role.COMMUNITY)


def parallel(threads: int, per_thread: int, work: Callable[[int, int], object]) -> float:
    """Events per second of ``threads`` threads each doing ``per_thread`` appends."""
    barrier = threading.Barrier(threads + 1)

    def run(t: int) -> None:
        barrier.wait()
        for i in range(per_thread):
            work(t, i)

    with ThreadPoolExecutor(threads) as pool:
        futures = [pool.submit(run, t) for t in range(threads)]
        barrier.wait()
        started = time.perf_counter()
        for future in futures:
            future.result()
    return threads * per_thread / (time.perf_counter() - started)


def baseline(app: Cases, threads: int, per_thread: int) -> float:
    cases = [app.report_problem(COMMUNITY, REPORT).case.id for _ in range(threads)]
    return parallel(threads, per_thread, lambda t, i: app.record(
        cases[t], "CommentAdded", {"text": f"note {i}"}, COMMUNITY))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def over_http(url: str, token: str, threads: int, per_thread: int, one_case: bool) -> float:
    headers = {"Authorization": f"Bearer {token}"}
    clients = [httpx.Client(base_url=url, headers=headers, timeout=60) for _ in range(threads)]
    first = clients[0].post("/cases", json=REPORT)
    first.raise_for_status()
    ids = [first.json()["id"]] if one_case else [
        clients[0].post("/cases", json=REPORT).json()["id"] for _ in range(threads)]

    def append(t: int, i: int) -> None:
        case_id = ids[0] if one_case else ids[t]
        body = {"type": "CommentAdded", "data": {"text": f"client {t} note {i}"}}
        while True:  # with contention: read the version, append conditionally, retry on 412
            version = clients[t].get(f"/cases/{case_id}").headers["etag"] if one_case else None
            extra = {"If-Match": version} if version else {}
            response = clients[t].post(f"/cases/{case_id}/events", json=body, headers=extra)
            if response.status_code == 201:
                return
            if response.status_code not in (409, 412):
                raise RuntimeError(response.text)

    try:
        return parallel(threads, per_thread, append)
    finally:
        for client in clients:
            client.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=400, help="appends per measurement")
    parser.add_argument("--postgres", default=DEFAULT_PG)
    args = parser.parse_args()
    schema = f"yishi_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(args.postgres, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    url = f"{args.postgres}?schema={schema}&pool_size=16"
    app = open_cases(url)
    server = None
    try:
        token = Credentials(app.db).create("community", name="bench")
        n = args.events
        base_1 = baseline(app, 1, n)
        base_16 = baseline(app, 16, max(n // 16, 1))
        port = free_port()
        server = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "--database-url", url, "serve", "--port",
             str(port), "--no-projections"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        base_url = f"http://127.0.0.1:{port}"
        for _ in range(200):
            try:
                if httpx.get(base_url + "/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        http_1 = over_http(base_url, token, 1, n, one_case=False)
        http_16 = over_http(base_url, token, 16, max(n // 16, 1), one_case=False)
        http_16_one = over_http(base_url, token, 16, max(n // 64, 1), one_case=True)
        print(f"PostgreSQL, {n} appends per measurement, CommentAdded")
        print(f"baseline Cases.record, 1 thread:           {base_1:8.1f} events/s")
        print(f"baseline Cases.record, 16 threads:         {base_16:8.1f} events/s")
        print(f"HTTP POST, 1 client:                       {http_1:8.1f} events/s"
              f"   ratio {http_1 / base_1:.2f}")
        print(f"HTTP POST, 16 clients (own cases):         {http_16:8.1f} events/s"
              f"   ratio {http_16 / base_16:.2f}")
        print(f"HTTP POST, 16 clients (one case, If-Match): {http_16_one:7.1f} events/s")
    finally:
        if server is not None:
            server.terminate()
            server.wait(timeout=30)
        app.close()
        with psycopg.connect(args.postgres, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


if __name__ == "__main__":
    main()
