"""Several processes share one PostgreSQL store: two ``yishi serve --no-projections`` and one
``yishi projections run``, as an operator deploys them when one API process is not enough.

Four client threads drive cases through both servers at once, alternating servers on every
request: the eight steps, every loop back, merges, ratings, each way of closing, If-Match
conflicts between the servers and idempotent retries sent to the other server. When the
projection process has caught up, both servers' case list and figures must equal the plain
reference fold of the raw events; every chain verifies; and the global log holds exactly the
events whose appends were answered 201 (nothing lost, nothing doubled).

See docs/adr/0031-scale.md.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import httpx
import pytest

from domain.application import open_cases
from tests.api.conftest import free_port
from tests.conftest import report_data
from tests.projections import reference
from tests.projections.checks import same

pytestmark = pytest.mark.postgres

ROOT = Path(__file__).resolve().parents[2]
THREADS = 4
CASES_PER_THREAD = 7
#: (group_by names, period) compared for the closure and satisfaction figures.
GROUPINGS: list[tuple[list[str], str | None]] = [
    ([], None), (["compound_id"], None), (["category", "channel"], None),
    (["community_id", "period"], "day"), (["assignee_role"], None),
]


def _command(*args: str) -> list[str]:
    """The ``yishi`` command line (as .venv/bin/yishi runs it) with these arguments."""
    return [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
            *args]


def _env(url: str) -> dict[str, str]:
    return {**os.environ, "YISHI_DATABASE_URL": url, "PYTHONPATH": str(ROOT)}


def yishi(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run one ``yishi`` command to the end."""
    return subprocess.run(_command(*args), cwd=ROOT, env=_env(url), capture_output=True,
                          text=True, timeout=120, check=False)


@dataclass
class Process:
    """A long-running ``yishi`` process, its output in a file (no pipe to fill or leak)."""

    name: str
    popen: subprocess.Popen[bytes]
    log: IO[bytes]
    log_path: Path
    url: str = ""

    def output(self) -> str:
        self.log.flush()
        return self.log_path.read_text(errors="replace")[-3000:]

    def stop(self) -> None:
        if self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=10)
        self.log.close()


@pytest.fixture
def processes(tmp_path: Path) -> Iterator[list[Process]]:
    """Started processes are stopped (SIGTERM, then SIGKILL) and their logs closed."""
    started: list[Process] = []
    yield started
    errors = []
    for process in reversed(started):
        try:
            process.stop()
        except Exception as error:  # stop the others first, then report
            errors.append(error)
    assert not errors, errors


def start(processes: list[Process], tmp_path: Path, url: str, name: str, *args: str) -> Process:
    log_path = tmp_path / f"{name}.log"
    log = log_path.open("wb")
    try:
        popen = subprocess.Popen(_command(*args), cwd=ROOT, env=_env(url),
                                 stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT)
    except BaseException:
        log.close()
        raise
    process = Process(name, popen, log, log_path)
    processes.append(process)
    return process


def wait_until_serving(server: Process, port: int) -> None:
    server.url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 45
    with httpx.Client(base_url=server.url, timeout=5) as client:
        while True:
            assert server.popen.poll() is None, f"{server.name} exited:\n{server.output()}"
            assert time.monotonic() < deadline, f"{server.name} did not start:\n{server.output()}"
            with contextlib.suppress(httpx.TransportError):
                if client.get("/healthz").status_code == 200:
                    return
            time.sleep(0.1)


# The client side: threads that alternate servers and keep a ledger of every 201 ----------


@dataclass
class Ledger:
    """What the servers acknowledged: each (case, version) answered 201, with its position."""

    lock: threading.Lock = field(default_factory=threading.Lock)
    appended: dict[tuple[str, int], int | None] = field(default_factory=dict)
    merges: int = 0
    statuses: Counter[str] = field(default_factory=Counter)

    def acknowledged(self, case_id: str, version: int, position: int | None) -> None:
        with self.lock:
            known = self.appended.get((case_id, version))
            assert known is None or position is None or known == position, (
                f"({case_id}, v{version}) answered with positions {known} and {position}")
            self.appended[(case_id, version)] = position if known is None else known

    def count(self, what: str) -> None:
        with self.lock:
            self.statuses[what] += 1


class Driver:
    """One client thread: every request goes to the next server in turn."""

    def __init__(self, urls: list[str], tokens: dict[str, str], ledger: Ledger,
                 name: str) -> None:
        self.clients = [httpx.Client(base_url=u, timeout=60) for u in urls]
        self.turn = itertools.count()
        self.tokens = tokens
        self.ledger = ledger
        self.name = name
        self.keys = itertools.count()

    def close(self) -> None:
        for client in self.clients:
            client.close()

    def client(self) -> httpx.Client:
        return self.clients[next(self.turn) % len(self.clients)]

    def headers(self, who: str, if_match: int | None = None,
                key: str | None = None) -> dict[str, str]:
        headers = {"Authorization": f"Bearer {self.tokens[who]}"}
        if if_match is not None:
            headers["If-Match"] = f'"{if_match}"'
        if key is not None:
            headers["Idempotency-Key"] = key
        return headers

    def report(self, who: str = "resident", **overrides: Any) -> tuple[str, int]:
        """Open a case; the report is retried on the other server with the same key."""
        key = f"{self.name}-report-{next(self.keys)}"
        body = report_data(**overrides)
        first = self.client().post("/cases", json=body, headers=self.headers(who, key=key))
        assert first.status_code == 201, first.text
        again = self.client().post("/cases", json=body, headers=self.headers(who, key=key))
        assert again.status_code == 201, again.text
        assert again.json()["id"] == first.json()["id"]
        assert again.headers["idempotent-replayed"] == "true"
        self.ledger.count("retried")
        case_id = str(first.json()["id"])
        self.ledger.acknowledged(case_id, 1, None)
        return case_id, 1

    def append(self, case: list[Any], who: str, event_type: str, data: dict[str, Any],
               step: str, *, retry: bool = False, stale: bool = False) -> dict[str, Any]:
        """Append with If-Match on the known version; the next request goes to the other
        server, so it must see this write at once (its aggregate cache fast-forwards).

        ``retry``: send the same request again with its Idempotency-Key to the other server.
        ``stale``: afterwards, try another event with the old version: 412 on either server.
        """
        case_id, version = case
        key = f"{self.name}-{next(self.keys)}" if retry else None
        payload = {"type": event_type, "data": data}
        response = self.client().post(f"/cases/{case_id}/events", json=payload,
                                      headers=self.headers(who, version, key))
        assert response.status_code == 201, (event_type, response.text)
        body: dict[str, Any] = response.json()
        assert (body["version"], body["step_after"]) == (version + 1, step), body
        self.ledger.acknowledged(case_id, body["version"], body["position"])
        if event_type == "CaseMerged":
            with self.ledger.lock:
                self.ledger.merges += 1
        if retry:
            again = self.client().post(f"/cases/{case_id}/events", json=payload,
                                       headers=self.headers(who, version, key))
            assert again.status_code == 201, again.text
            assert again.headers["idempotent-replayed"] == "true"
            assert again.json() == body
            self.ledger.count("retried")
        if stale:
            late = self.client().post(
                f"/cases/{case_id}/events", json={"type": "CommentAdded",
                                                  "data": {"text": "我也说一句"}},
                headers=self.headers("grid_worker", version))
            assert late.status_code == 412, late.text
            assert late.json()["current_version"] == version + 1
            self.ledger.count("412")
        case[1] = version + 1
        return body

    def comment_on(self, hot: str) -> None:
        """A comment on the case every thread writes to: read the version from one server,
        append with If-Match on the other; on 412 read again. Then one without If-Match."""
        for _attempt in range(50):
            read = self.client().get(f"/cases/{hot}", headers=self.headers("community"))
            assert read.status_code == 200, read.text
            version = int(read.json()["version"])
            response = self.client().post(
                f"/cases/{hot}/events", json={"type": "CommentAdded",
                                              "data": {"text": f"{self.name} 附议"}},
                headers=self.headers("grid_worker", version))
            if response.status_code == 412:
                self.ledger.count("412")
                continue
            assert response.status_code == 201, response.text
            self.ledger.acknowledged(hot, response.json()["version"],
                                     response.json()["position"])
            break
        else:
            raise AssertionError("50 conflicts in a row on the hot case")
        response = self.client().post(
            f"/cases/{hot}/events", json={"type": "CommentAdded", "data": {"text": "顶"}},
            headers=self.headers("resident"))
        if response.status_code == 409:  # other writers kept winning: nothing appended
            self.ledger.count("409")
            return
        assert response.status_code == 201, response.text
        self.ledger.acknowledged(hot, response.json()["version"], response.json()["position"])


def in_days(days: float) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).isoformat()


AGREED = {"attendees": 15, "outcome": "agreed", "votes": {"for": 10, "against": 4, "abstain": 1}}
REFUSED = {"attendees": 9, "outcome": "not_agreed", "votes": {"for": 3, "against": 5,
                                                             "abstain": 1}}


def to_publish(d: Driver, case: list[Any], *, loops: bool) -> None:
    d.append(case, "grid_worker", "ProblemCollected",
             {"category": "facilities", "description": "核实: 漏水"}, "topic", retry=True)
    d.append(case, "grid_worker", "TopicFormed",
             {"title": "车库防水", "question": "如何出资?", "parties": ["业委会", "物业"]},
             "review", stale=True)
    if loops:
        d.append(case, "community", "TopicReturned", {"rework": "补充预算"}, "topic")
        d.append(case, "community", "TopicFormed",
                 {"title": "车库防水", "question": "按面积分摊?"}, "review")
    d.append(case, "party_branch", "TopicApproved", {"opinion": "同意"}, "pre-consult")
    d.append(case, "community", "StakeholderConsulted", {"party": "物业", "opinion": "出一半"},
             "pre-consult")
    d.append(case, "community", "MeetingScheduled",
             {"scheduled_at": in_days(2), "venue": "社区议事厅"}, "negotiate")
    if loops:
        d.append(case, "owners_committee", "MeetingHeld", REFUSED, "pre-consult")
        d.append(case, "community", "StakeholderConsulted", {"party": "居民", "opinion": "可以"},
                 "pre-consult")
        d.append(case, "owners_committee", "MeetingScheduled",
                 {"scheduled_at": in_days(4), "venue": "社区议事厅"}, "negotiate")
    d.append(case, "owners_committee", "MeetingHeld", AGREED, "publish", retry=True)
    if loops:
        d.append(case, "community", "DecisionPublished",
                 {"channels": ["公告栏"], "notice": "公示", "publicity_days": 3}, "publish")
        d.append(case, "resident", "ObjectionRaised", {"objection": "费用不公"}, "negotiate")
        d.append(case, "owners_committee", "MeetingHeld", AGREED, "publish")
    d.append(case, "community", "DecisionPublished",
             {"channels": ["微信群"], "notice": "公示", "publicity_days": 0}, "publish")
    d.append(case, "community", "PublicityClosed", {}, "implement")


def implement_and_close(d: Driver, case: list[Any], *, loops: bool, rated: str) -> None:
    d.append(case, "community", "ImplementationAssigned",
             {"assignee_role": "property_company", "assignee": "绿城物业",
              "due_at": in_days(30)}, "implement")
    d.append(case, "property_company", "ImplementationAccepted", {}, "implement")
    d.append(case, "property_company", "ProgressReported", {"percent": 50}, "implement")
    d.append(case, "property_company", "ImplementationCompleted",
             {"summary": "防水层重做", "cost_fen": 1_200_000}, "supervise", retry=True)
    if loops:
        d.append(case, "party_branch", "SupervisionRecorded", {"verdict": "failed"},
                 "implement")
        d.append(case, "property_company", "ImplementationCompleted", {"summary": "返工"},
                 "supervise")
    d.append(case, "party_branch", "SupervisionRecorded", {"verdict": "passed"}, "supervise")
    d.append(case, "resident", "ResidentRated", {"satisfaction": rated, "source": "resident"},
             "supervise")
    d.append(case, "community", "ResidentRated",
             {"satisfaction": "basically_satisfied", "source": "callback",
              "resident_id": "resident-callback"}, "supervise")
    d.append(case, "community", "CaseClosed", {"resolution": "resolved"}, "closed",
             retry=True, stale=True)
    if loops:
        d.append(case, "community", "CaseReopened", {"reason": "又漏了"}, "implement")
        d.append(case, "property_company", "ImplementationCompleted", {"summary": "补漏"},
                 "supervise")
        d.append(case, "party_branch", "SupervisionRecorded", {"verdict": "passed"},
                 "supervise")
        d.append(case, "community", "CaseClosed", {"resolution": "resolved"}, "closed")
        d.append(case, "resident", "ResidentRated",
                 {"satisfaction": "dissatisfied", "source": "resident"}, "closed")


def story(d: Driver, n: int, hot: str) -> None:
    """Case n of a thread: one of seven ways through the method."""
    compound = ("JX", "HY")[n % 2]
    category, channel = [("facilities", "wechat"), ("parking", "phone"),
                         ("greening", "walk_in")][n % 3]
    kind = n % 7
    id_, version = d.report(compound_id=compound, category=category, channel=channel,
                            title=f"{d.name} case {n}")
    case: list[Any] = [id_, version]
    d.comment_on(hot)
    if kind == 0:  # straight, resolved, rated
        to_publish(d, case, loops=False)
        implement_and_close(d, case, loops=False, rated="satisfied")
    elif kind == 1:  # every loop back
        to_publish(d, case, loops=True)
        implement_and_close(d, case, loops=True, rated="basically_satisfied")
    elif kind == 2:  # rejected at review
        d.append(case, "grid_worker", "ProblemCollected",
                 {"category": category, "description": "核实"}, "topic")
        d.append(case, "grid_worker", "TopicFormed", {"title": "t", "question": "q?"},
                 "review", stale=True)
        d.append(case, "party_branch", "TopicRejected",
                 {"reason": "referred", "referred_to": "街道城管科"}, "closed", retry=True)
    elif kind == 3:  # withdrawn by its reporter
        d.append(case, "resident", "CaseWithdrawn", {"reason": "自己修好了"}, "closed",
                 retry=True)
    elif kind == 4:  # no consensus
        d.append(case, "grid_worker", "ProblemCollected",
                 {"category": category, "description": "核实"}, "topic")
        d.append(case, "grid_worker", "TopicFormed", {"title": "t", "question": "q?"}, "review")
        d.append(case, "community", "TopicApproved", {}, "pre-consult")
        d.append(case, "owners_committee", "StakeholderConsulted",
                 {"party": "居民", "opinion": "反对"}, "pre-consult")
        d.append(case, "owners_committee", "MeetingScheduled",
                 {"scheduled_at": in_days(1), "venue": "会议室"}, "negotiate")
        d.append(case, "community", "CaseClosed", {"resolution": "no_consensus"}, "closed",
                 stale=True)
    elif kind == 5:  # a duplicate report merged into this case, which stays open
        dup, dup_version = d.report(compound_id=compound, category=category, channel=channel,
                                    title=f"{d.name} duplicate {n}")
        duplicate: list[Any] = [dup, dup_version]
        d.append(duplicate, "grid_worker", "CaseMerged", {"into_case_id": id_, "note": "同一处"},
                 "closed", retry=True)
        case[1] += 1  # the ReportMerged the merge appended to this case
        d.append(case, "grid_worker", "ProblemCollected",
                 {"category": category, "description": "两人反映"}, "topic", stale=True)
        d.append(case, "grid_worker", "TopicFormed", {"title": "t", "question": "q?"}, "review")
    else:  # left open in implement (backlog)
        to_publish(d, case, loops=False)
        d.append(case, "community", "ImplementationAssigned",
                 {"assignee_role": "owners_committee", "assignee": "业委会",
                  "due_at": in_days(10)}, "implement", stale=True)
    d.comment_on(hot)


def drive(urls: list[str], tokens: dict[str, str], ledger: Ledger, hot: str, index: int,
          errors: list[BaseException]) -> None:
    driver = Driver(urls if index % 2 == 0 else urls[::-1], tokens, ledger, f"w{index}")
    try:
        for n in range(CASES_PER_THREAD):
            story(driver, index + n, hot)
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)
    finally:
        driver.close()


# The checks ------------------------------------------------------------------------------


def get(client: httpx.Client, token: str, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200, (path, response.status_code, response.text[:500])
    body: dict[str, Any] = response.json()
    return body


def test_two_servers_and_a_projector_share_one_store_correctly(
    pg_url: str, tmp_path: Path, processes: list[Process]
) -> None:
    began = time.monotonic()
    # Tokens first, as an operator does: this also creates the store's tables.
    roles = {"resident": ["--compound", "JX", "--compound", "HY"],
             "grid_worker": ["--compound", "JX", "--compound", "HY"],
             "party_branch": ["--compound", "JX", "--compound", "HY"],
             "owners_committee": ["--compound", "JX", "--compound", "HY"],
             "property_company": ["--compound", "JX", "--compound", "HY"],
             "community": ["--community", "C1"],
             "auditor": []}
    tokens: dict[str, str] = {}

    def create(role: str) -> None:
        made = yishi(pg_url, "token", "create", "--role", role, *roles[role])
        assert made.returncode == 0, made.stderr
        assert made.stdout.count("\n") == 1
        tokens[role] = made.stdout.strip()

    directory = tmp_path / "directory.csv"
    directory.write_text("level,code,name,parent\nstreet,S1,示范街道,\ncommunity,C1,幸福社区,S1\n"
                         "compound,JX,锦绣佳苑,C1\ncompound,HY,和园,C1\n", encoding="utf-8")
    imported = yishi(pg_url, "directory", "import", str(directory))  # creates the tables
    assert imported.returncode == 0, imported.stderr
    create("auditor")
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(create, [r for r in roles if r != "auditor"]))
    community_scope: tuple[set[str], set[str]] = (set(), {"C1"})

    # Two API processes started together, and one projection process.
    ports = [free_port(), free_port()]
    servers = [start(processes, tmp_path, pg_url, f"serve-{i}", "serve", "--host",
                     "127.0.0.1", "--port", str(port), "--no-projections")
               for i, port in enumerate(ports)]
    projector = start(processes, tmp_path, pg_url, "projections", "projections", "run",
                      "--interval", "0.2")
    for server, port in zip(servers, ports, strict=True):
        wait_until_serving(server, port)
    urls = [s.url for s in servers]

    # Drive cases through both servers at once.
    ledger = Ledger()
    starter = Driver(urls, tokens, ledger, "main")
    try:
        hot, _ = starter.report(title="大家都来评论的案件")
    finally:
        starter.close()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=drive, args=(urls, tokens, ledger, hot, i, errors))
               for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=300)
    assert not any(t.is_alive() for t in threads), "a client thread hung"
    assert not errors, errors
    assert ledger.statuses["412"] >= THREADS * CASES_PER_THREAD // 2
    assert ledger.statuses["retried"] >= THREADS * CASES_PER_THREAD
    written = time.monotonic()

    # Nothing lost, nothing doubled: the global log is exactly what was answered 201.
    cases = open_cases(pg_url)
    try:
        head = cases.head_position()
        log: list[Any] = []
        while page := cases.recorder.select_notifications(
                start=(log[-1].id if log else 0) + 1, limit=1000):
            log.extend(page)
        keys = [(str(n.originator_id), n.originator_version) for n in log]
        assert len(set(keys)) == len(keys), "an event is in the log twice"
        assert [n.id for n in log] == sorted({n.id for n in log})
        assert log[-1].id == head
        directory = [n for n in log if n.topic.startswith("yishi:Unit.")]
        assert len(directory) == 4  # the import above
        log = [n for n in log if n not in directory]
        keys = [(str(n.originator_id), n.originator_version) for n in log]
        assert len(log) == len(ledger.appended) + ledger.merges
        positions = {key: n.id for key, n in zip(keys, log, strict=True)}
        for key, position in ledger.appended.items():
            assert key in positions, f"acknowledged {key} is not in the log"
            assert position is None or positions[key] == position, key
        per_case: dict[str, list[int]] = {}
        for case_id, version in keys:
            per_case.setdefault(case_id, []).append(version)
        for versions in per_case.values():
            assert sorted(versions) == list(range(1, len(versions) + 1))

        # The projection process catches up; both servers then answer from its tables.
        deadline = time.monotonic() + 30
        for client_url in urls:
            with httpx.Client(base_url=client_url, timeout=60) as client:
                while True:
                    assert projector.popen.poll() is None, projector.output()
                    response = client.get("/cases", params={"min_position": head, "limit": 1},
                                          headers={"Authorization": f"Bearer {tokens['auditor']}"})
                    assert response.status_code == 200, response.text
                    if response.headers.get("X-Projection-Reached") == "true":
                        break
                    assert time.monotonic() < deadline, "the projections did not catch up"
        # Every follower reaches the head, the points policy too (its own line).
        while True:
            status = yishi(pg_url, "projections", "status")
            assert status.returncode == 0, status.stderr
            lines = status.stdout.splitlines()
            assert any(line.startswith("points ") for line in lines), status.stdout
            if all(line.split()[-1] == "0" for line in lines[1:]):
                break
            assert time.monotonic() < deadline, f"a follower lags: {status.stdout}"
            time.sleep(0.2)
        assert f"log head {head}" in status.stdout
        caught_up = time.monotonic()

        # Every figure both servers serve equals the reference fold of the raw events.
        tls = reference.timelines(cases)
        assert len(tls) == len(per_case)
        moment = datetime.now(UTC)
        as_of = moment.isoformat()
        expected_list = reference.case_list(cases, tls, moment)
        for client_url in urls:
            with httpx.Client(base_url=client_url, timeout=60) as client:
                listed = get(client, tokens["auditor"], "/cases", limit=1000, sort="position")
                assert listed["position"] == listed["head"] == head
                assert listed["count"] == len(tls)
                same(sorted(listed["data"], key=lambda r: r["id"]), expected_list,
                     f"{client_url} /cases")
                for token, scope in ((tokens["auditor"], (set(), set())),
                                     (tokens["community"], community_scope)):
                    where = f"{client_url} scope={scope}"
                    flow = get(client, token, "/stats/steps", as_of=as_of)
                    same(flow, reference.steps(cases, tls, moment, scope, {}),
                         f"steps {where}")
                    for names, period in GROUPINGS:
                        params: dict[str, Any] = {"as_of": as_of}
                        if names:
                            params["group_by"] = ",".join(names)
                        if period:
                            params["period"] = period
                        got = get(client, token, "/stats/closure", **params)
                        same(got["groups"], reference.closure(
                            cases, tls, moment, names, period, scope, {}),
                            f"closure {names} {where}")
                        got = get(client, token, "/stats/satisfaction", **params)
                        same(got["groups"], reference.satisfaction(
                            cases, tls, moment, names, period, scope, {}),
                            f"satisfaction {names} {where}")
        whole = reference.closure(cases, tls, moment, [], None, (set(), set()), {})[0]
        assert whole["closed"] > 0
        assert set(whole["closed_by_resolution"].values()) != {0}
        assert all(whole["closed_by_resolution"][r] > 0 for r in reference.RESOLUTIONS)
    finally:
        cases.close()

    # Every chain verifies.
    verified = yishi(pg_url, "verify")
    assert verified.returncode == 0, verified.stdout[-2000:] + verified.stderr
    for server in servers:
        assert server.popen.poll() is None, server.output()
    print(f"\n{len(log)} events, {len(per_case)} cases, {dict(ledger.statuses)}; "
          f"start+write {written - began:.1f} s, catch-up {caught_up - written:.1f} s, "
          f"total {time.monotonic() - began:.1f} s")
