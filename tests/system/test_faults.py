"""Appends exactly once under faults (docs/adr/0040-exactly-once.md), against the real
PostgreSQL and a real ``yishi serve`` process.

Sixteen client threads append while something goes wrong: the server's connections are
cut in a loop (``pg_terminate_backend``), the server is killed with SIGKILL and started
again, or another session holds the events table locked past the lock timeout. Every
request carries a marker of its own (a case title, a comment text, or the note of volunteer
hours recorded on a participant's points ledger), so the store says how often each was
recorded. Keyed requests are retried with their key until they get an
answer; unkeyed ones are sent once. Each test then asserts:

- no answer was a 500;
- every request answered 201 is stored exactly once;
- every Idempotency-Key is stored at most once across all its retries;
- every unkeyed request that got no 201 is stored at most once;
- every chain verifies, and the projections equal the reference fold of the raw events.
"""

from __future__ import annotations

import os
import random
import signal
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from api.credentials import Credentials
from domain.application import Cases, open_cases
from domain.case import Case, event_type_of
from domain.points import Participant
from tests.api.conftest import free_port
from tests.conftest import POSTGRES_BASE, People, report_data
from tests.district import register_district
from tests.projections import reference
from tests.projections.checks import same
from tests.system.test_multi_process import Process, processes, start, wait_until_serving, yishi

pytestmark = pytest.mark.postgres

__all__ = ["processes"]  # the fixture, imported for the tests below

THREADS = 16
#: Seconds a keyed request keeps retrying after the fault ends.
SETTLE_SECONDS = 30.0


@dataclass
class Request:
    """One logical request, over all its attempts."""

    marker: str
    keyed: bool
    statuses: list[int | str] = field(default_factory=list)

    @property
    def answered_201(self) -> bool:
        return 201 in self.statuses

    @property
    def settled(self) -> bool:
        return any(isinstance(s, int) and s < 500 for s in self.statuses)


@dataclass
class Load:
    """Client threads that append to a server, and what they were answered."""

    url: Callable[[], str]
    token: str
    cases: list[str]
    participants: list[str] = field(default_factory=list)
    requests: list[Request] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    stop: threading.Event = field(default_factory=threading.Event)

    def send(self, client: httpx.Client, request: Request, body: dict[str, Any],
             path: str, key: str | None) -> None:
        headers = {"Authorization": f"Bearer {self.token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            answer = client.post(self.url() + path, json=body, headers=headers)
        except httpx.TransportError as error:
            request.statuses.append(type(error).__name__)
            return
        request.statuses.append(answer.status_code)
        if answer.status_code == 503:
            assert answer.headers.get("retry-after"), answer.text
            assert answer.json()["code"] in ("outcome_unknown", "store_unavailable"), answer.text

    def one(self, client: httpx.Client, thread: int, n: int, rng: random.Random) -> None:
        marker = f"m-{thread}-{n}-{uuid.uuid4().hex[:8]}"
        roll = rng.random()
        keyed = roll < 0.65
        if roll < 0.25:
            path, body = "/cases", report_data(title=marker)
        elif roll < 0.4 and self.participants:  # volunteer hours (积分): never twice either
            marker = "pts-" + marker
            path = f"/points/{rng.choice(self.participants)}/events"
            body = {"type": "PointsAwarded",
                    "data": {"rule": "volunteer_hours", "hours": 1, "note": marker}}
        else:
            path = f"/cases/{rng.choice(self.cases)}/events"
            body = {"type": "CommentAdded", "data": {"text": marker}}
        request = Request(marker, keyed)
        with self.lock:
            self.requests.append(request)
        key = f"key-{marker}" if keyed else None
        self.send(client, request, body, path, key)
        # A keyed request is retried with its key until it has an answer (as clients are
        # told to); an unkeyed one is not (it cannot be retried safely).
        deadline = None
        while keyed and not request.settled:
            if self.stop.is_set():
                deadline = deadline or time.monotonic() + SETTLE_SECONDS
                assert time.monotonic() < deadline, f"{marker} never settled: {request.statuses}"
            time.sleep(0.05)
            self.send(client, request, body, path, key)

    def run(self, thread: int) -> None:
        rng = random.Random(thread)
        with httpx.Client(timeout=30) as client:
            n = 0
            while not self.stop.is_set():
                self.one(client, thread, n, rng)
                n += 1


def run_load(load: Load, fault: Callable[[], None]) -> None:
    """Sixteen threads append while ``fault`` runs; they stop when it returns."""
    errors: list[BaseException] = []

    def worker(thread: int) -> None:
        try:
            load.run(thread)
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    try:
        fault()
    finally:
        load.stop.set()
        for thread in threads:
            thread.join(timeout=SETTLE_SECONDS + 60)
    assert not errors, errors[0]


def stored_markers(url: str) -> Counter[str]:
    """How often each marker is in the store: case titles and comment texts."""
    cases = open_cases(url)
    try:
        counts: Counter[str] = Counter()
        start_at = 1
        while page := cases.recorder.select_notifications(start=start_at, limit=1000):
            for notification in page:
                event = cases.mapper.to_domain_event(notification)
                if isinstance(event, Case.Event):
                    kind = event_type_of(event)
                    if kind == "ProblemReported":
                        counts[event.data["title"]] += 1
                    elif kind == "CommentAdded":
                        counts[event.data["text"]] += 1
                elif isinstance(event, Participant.PointsAwarded) and "note" in event.data:
                    counts[event.data["note"]] += 1
            start_at = page[-1].id + 1
        return counts
    finally:
        cases.close()


def check_exactly_once(load: Load, url: str) -> dict[str, int]:
    counts = stored_markers(url)
    statuses: Counter[str] = Counter()
    for request in load.requests:
        statuses.update(str(s) for s in request.statuses)
        assert 500 not in request.statuses, request
        stored = counts[request.marker]
        if request.answered_201:
            assert stored == 1, f"answered 201 but stored {stored} times: {request}"
        else:
            assert stored <= 1, f"stored {stored} times: {request}"
    assert counts.total() >= sum(r.answered_201 for r in load.requests)
    return dict(statuses)


def check_chains_and_projections(url: str, server_url: str, token: str) -> None:
    verified = yishi(url, "verify")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr
    cases = open_cases(url)
    try:
        head = cases.head_position()
        headers = {"Authorization": f"Bearer {token}"}
        deadline = time.monotonic() + 60
        with httpx.Client(base_url=server_url, timeout=60) as client:
            while True:
                listed = client.get("/cases", headers=headers,
                                    params={"min_position": head, "limit": 1000,
                                            "sort": "position"})
                assert listed.status_code == 200, listed.text
                if listed.json()["position"] >= head:
                    break
                assert time.monotonic() < deadline, "the projections did not catch up"
            tls = reference.timelines(cases)
            expected = reference.case_list(cases, tls, datetime.now(UTC))
            same(sorted(listed.json()["data"], key=lambda r: r["id"]), expected, "/cases")
    finally:
        cases.close()


# The server ---------------------------------------------------------------------------


@pytest.fixture
def store(pg_url: str) -> dict[str, Any]:
    """A fresh schema with a community token and one open case per client thread."""
    url = pg_url + "&pool_size=16&lock_timeout=1"
    cases: Cases = register_district(open_cases(url))
    try:
        token = Credentials(cases.db).create("community", communities=["C1"], name="faults")
        ids = [str(cases.report_problem(People.resident, report_data()).case.id)
               for _ in range(THREADS)]
        participants = [str(cases.points.register(People.community, {
            "compound_id": "JX", "kinds": ["volunteer"], "name": f"志愿者{n}"}).id)
            for n in range(4)]
    finally:
        cases.close()
    return {"url": url, "token": token, "cases": ids, "participants": participants,
           "app_name": f"yishi-f-{uuid.uuid4().hex[:8]}"}


def serve(processes: list[Process], tmp_path: Path, store: dict[str, Any], name: str,
          **env: str) -> Process:
    port = free_port()
    saved = {k: os.environ.get(k) for k in ("PGAPPNAME", "YISHI_OUTCOME_SECONDS", *env)}
    os.environ.update({"PGAPPNAME": store["app_name"], "YISHI_OUTCOME_SECONDS": "4", **env})
    try:
        server = start(processes, tmp_path, store["url"], name, "serve", "--host", "127.0.0.1",
                       "--port", str(port))
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
    wait_until_serving(server, port)
    return server


def cut_connections(app_name: str) -> int:
    with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()", (app_name,),
        ).fetchall()
    return len(rows)


# The faults ---------------------------------------------------------------------------


def test_connection_cuts_during_a_16_client_load_record_each_append_once(
    processes: list[Process], tmp_path: Path, store: dict[str, Any],
) -> None:
    server = serve(processes, tmp_path, store, "serve")
    load = Load(lambda: server.url, store["token"], store["cases"],
                store["participants"])
    cuts = 0

    def fault() -> None:
        # About 900 cuts a minute, as reported; for 8 s, and on until 40 requests have
        # been answered 201 at least (a loaded machine is slower), 30 s at most.
        nonlocal cuts
        began = time.monotonic()
        while time.monotonic() < began + 30 and (
            time.monotonic() < began + 8
            or sum(r.answered_201 for r in list(load.requests)) < 40
        ):
            cuts += cut_connections(store["app_name"])
            time.sleep(0.06)

    run_load(load, fault)
    statuses = check_exactly_once(load, store["url"])
    assert cuts >= 100, cuts
    assert statuses.get("201", 0) >= 16, statuses
    assert any(r.answered_201 for r in load.requests if r.marker.startswith("pts-"))
    check_chains_and_projections(store["url"], server.url, store["token"])
    print(f"\n{cuts} cuts, {len(load.requests)} requests: {statuses}")


def test_sigkill_with_requests_in_flight_then_retries_record_each_key_once(
    processes: list[Process], tmp_path: Path, store: dict[str, Any],
) -> None:
    servers = [serve(processes, tmp_path, store, "serve-1")]
    load = Load(lambda: servers[-1].url, store["token"], store["cases"],
                store["participants"])

    def fault() -> None:
        time.sleep(2.0)
        os.kill(servers[-1].popen.pid, signal.SIGKILL)
        servers[-1].popen.wait(timeout=10)
        time.sleep(0.5)
        servers.append(serve(processes, tmp_path, store, "serve-2"))
        time.sleep(2.0)

    began = time.monotonic()
    run_load(load, fault)
    statuses = check_exactly_once(load, store["url"])
    assert time.monotonic() - began < 60  # retries were answered at once, not after minutes
    lost = [r for r in load.requests if not isinstance(r.statuses[0], int)]
    assert lost, "no request was in flight when the server was killed"
    assert "409" not in statuses, statuses  # never "in progress" for a dead request
    check_chains_and_projections(store["url"], servers[-1].url, store["token"])
    print(f"\n{len(lost)} in flight at the kill, {len(load.requests)} requests: {statuses}")


def test_the_events_table_locked_past_the_lock_timeout_refuses_cleanly(
    processes: list[Process], tmp_path: Path, store: dict[str, Any],
) -> None:
    server = serve(processes, tmp_path, store, "serve", YISHI_OUTCOME_SECONDS="2")
    load = Load(lambda: server.url, store["token"], store["cases"],
                store["participants"])
    schema = store["url"].split("schema=")[1].split("&")[0]

    def fault() -> None:
        time.sleep(1.0)
        with psycopg.connect(POSTGRES_BASE) as conn:
            conn.execute(f'LOCK TABLE "{schema}".yishi_events IN EXCLUSIVE MODE')
            time.sleep(5.0)  # past the 1 s lock timeout and the 2 s outcome time
            conn.rollback()
        time.sleep(1.5)

    run_load(load, fault)
    statuses = check_exactly_once(load, store["url"])
    assert statuses.get("503", 0) >= 1, statuses
    check_chains_and_projections(store["url"], server.url, store["token"])
    print(f"\n{len(load.requests)} requests: {statuses}")
