"""Points writes exactly once under an Idempotency-Key (docs/adr/0102): a retry replays
the first answer, the same key with another body is 422, a concurrent double submit with
one key records once (SQLite and PostgreSQL), and a refusal is replayed as the refusal."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from projections.points_policy import participant_ids
from tests.api.conftest import LiveServer, Token, make_tokens
from tests.api.helpers import is_problem

Client = Callable[[LiveServer], httpx.Client]


@pytest.fixture(params=["sqlite", "postgres"])
def served(request: pytest.FixtureRequest, client_for: Client
           ) -> tuple[LiveServer, httpx.Client, Token]:
    name = "pg_server" if request.param == "postgres" else "sqlite_server"
    server: LiveServer = request.getfixturevalue(name)
    return server, client_for(server), make_tokens(server).community


def keyed(who: Token, key: str) -> dict[str, str]:
    return {**who.headers, "Idempotency-Key": key}


def register(client: httpx.Client, who: Token, key: str, name: str = "张三"
             ) -> httpx.Response:
    return client.post("/points", json={"compound_id": "JX", "kinds": ["volunteer"],
                                        "name": name}, headers=keyed(who, key))


def hours(client: httpx.Client, who: Token, pid: str, n: int, key: str | None
          ) -> httpx.Response:
    headers = keyed(who, key) if key else who.headers
    return client.post(f"/points/{pid}/events", headers=headers, json={
        "type": "PointsAwarded", "data": {"rule": "volunteer_hours", "hours": n}})


def ledger(client: httpx.Client, who: Token, pid: str) -> dict[str, Any]:
    found = client.get(f"/points/{pid}", headers=who.headers)
    assert found.status_code == 200, found.text
    body: dict[str, Any] = found.json()
    return body


def test_a_keyed_registration_and_hours_are_replayed_never_recorded_twice(
        served: tuple[LiveServer, httpx.Client, Token]) -> None:
    _server, client, community = served
    first = register(client, community, "reg-1")
    assert first.status_code == 201, first.text
    again = register(client, community, "reg-1")
    assert again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert again.json() == first.json()
    assert again.headers["Location"] == first.headers["Location"]
    pid = first.json()["participant_id"]

    recorded = hours(client, community, pid, 3, "h-1")
    assert recorded.status_code == 201, recorded.text
    assert hours(client, community, pid, 2, None).status_code == 201  # a later write
    replayed = hours(client, community, pid, 3, "h-1")
    assert replayed.status_code == 201
    assert replayed.headers.get("Idempotent-Replayed") == "true"
    assert replayed.json() == recorded.json()  # the answer as it was, not the balance now
    body = ledger(client, community, pid)
    assert [e["type"] for e in body["events"]] == [
        "ParticipantRegistered", "PointsAwarded", "PointsAwarded"]
    awarded = [e["data"]["points"] for e in body["events"] if e["type"] == "PointsAwarded"]
    assert recorded.json()["balance"] == awarded[0]
    assert body["balance"] == sum(awarded)


def test_the_same_key_with_another_body_is_422(
        served: tuple[LiveServer, httpx.Client, Token]) -> None:
    _server, client, community = served
    pid = register(client, community, "reg-2").json()["participant_id"]
    is_problem(register(client, community, "reg-2", name="李四"), 422,
               "idempotency_key_reused")
    assert hours(client, community, pid, 1, "h-2").status_code == 201
    is_problem(hours(client, community, pid, 2, "h-2"), 422, "idempotency_key_reused")
    assert len(ledger(client, community, pid)["events"]) == 2


def test_a_refusal_is_replayed_as_the_same_refusal(
        served: tuple[LiveServer, httpx.Client, Token]) -> None:
    _server, client, community = served
    pid = register(client, community, "reg-3").json()["participant_id"]
    redeem = {"type": "PointsRedeemed", "data": {"reward": "菜市场代金券", "points": 5}}
    refused = client.post(f"/points/{pid}/events", json=redeem,
                          headers=keyed(community, "r-1"))
    body = is_problem(refused, 409, "balance_too_low")
    assert body["balance"] == 0
    assert hours(client, community, pid, 24, None).status_code == 201  # now it would do
    again = client.post(f"/points/{pid}/events", json=redeem,
                        headers=keyed(community, "r-1"))
    assert is_problem(again, 409, "balance_too_low") == body
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert [e["type"] for e in ledger(client, community, pid)["events"]] == [
        "ParticipantRegistered", "PointsAwarded"]


def test_a_concurrent_double_submit_with_one_key_records_once(
        served: tuple[LiveServer, httpx.Client, Token]) -> None:
    server, client, community = served
    pid = register(client, community, "reg-4").json()["participant_id"]
    for kind, path, payload in (
        ("hours", f"/points/{pid}/events",
         {"type": "PointsAwarded", "data": {"rule": "volunteer_hours", "hours": 2}}),
        ("register", "/points", {"compound_id": "JX", "kinds": ["resident"],
                                 "name": "王五"}),
    ):
        answers: list[httpx.Response] = []
        barrier = threading.Barrier(6)

        def submit(path: str = path, payload: dict[str, Any] = payload, kind: str = kind,
                   barrier: threading.Barrier = barrier,
                   answers: list[httpx.Response] = answers) -> None:
            with httpx.Client(base_url=server.url, timeout=60) as own:
                barrier.wait()
                answers.append(own.post(path, json=payload,
                                        headers=keyed(community, f"double-{kind}")))

        threads = [threading.Thread(target=submit) for _ in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert [a.status_code for a in answers] == [201] * 6, [a.text for a in answers]
        assert sum(a.headers.get("Idempotent-Replayed") != "true" for a in answers) == 1
        assert len({str(a.json()) for a in answers}) == 1
    assert [e["type"] for e in ledger(client, community, pid)["events"]] == [
        "ParticipantRegistered", "PointsAwarded"]
    registered = [p for p in _participants(server) if p == answers[0].json()["participant_id"]]
    assert len(registered) == 1
    assert len(_participants(server)) == 2  # reg-4 and the one double-submitted


def _participants(server: LiveServer) -> list[str]:
    return [str(p) for p in participant_ids(server.cases)]
