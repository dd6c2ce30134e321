"""Concurrency over real HTTP: 16 clients at once against uvicorn on PostgreSQL.

Same If-Match: exactly one 201, the rest 412, nothing lost or doubled. Same Idempotency-Key
and body: one event appended, every client gets the first answer.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import httpx

from tests.api.conftest import LiveServer, Token, make_tokens
from tests.api.helpers import append, open_case

CLIENTS = 16


def at_once(server: LiveServer, call: Callable[[httpx.Client, int], httpx.Response]) -> list[
        httpx.Response]:
    """Run ``call`` from 16 clients, each with its own connection, released together."""
    barrier = threading.Barrier(CLIENTS)
    clients = [httpx.Client(base_url=server.url, timeout=60) for _ in range(CLIENTS)]
    for client in clients:  # open the connections before the race
        assert client.get("/healthz").status_code == 200

    def one(i: int) -> httpx.Response:
        barrier.wait()
        return call(clients[i], i)

    try:
        with ThreadPoolExecutor(CLIENTS) as pool:
            return list(pool.map(one, range(CLIENTS)))
    finally:
        for client in clients:
            client.close()


def stream(client: httpx.Client, who: Token, case_id: UUID) -> list[dict[str, Any]]:
    response = client.get(f"/cases/{case_id}/events", headers=who.headers)
    assert response.status_code == 200
    events: list[dict[str, Any]] = response.json()["events"]
    return events


def test_sixteen_clients_with_the_same_if_match_one_wins(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    responses = at_once(pg_server, lambda c, i: append(
        c, t.community, case_id, "CommentAdded", {"text": f"client {i}"}, if_match=1))
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [412] * (CLIENTS - 1), statuses
    for response in responses:
        if response.status_code == 412:
            assert response.json()["current_version"] == 2
    events = stream(client, t.community, case_id)
    assert [e["version"] for e in events] == [1, 2]
    winner = next(r for r in responses if r.status_code == 201).json()
    assert events[1]["data"] == winner["data"]
    assert events[1]["hash"] == winner["hash"]


def test_sixteen_retries_with_the_same_key_append_once(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    responses = at_once(pg_server, lambda c, i: append(
        c, t.community, case_id, "CommentAdded", {"text": "只记一次"}, key="retry-1"))
    assert {r.status_code for r in responses} == {201}
    bodies = {r.text for r in responses}
    assert len(bodies) == 1
    assert {r.headers["etag"] for r in responses} == {'"2"'}
    assert [e["version"] for e in stream(client, t.community, case_id)] == [1, 2]


def test_sixteen_clients_appending_at_the_head_lose_nothing(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    responses = at_once(pg_server, lambda c, i: append(
        c, t.community, case_id, "CommentAdded", {"text": f"client {i}"}))
    won = [r.json() for r in responses if r.status_code == 201]
    assert all(r.status_code in (201, 409) for r in responses)
    events = stream(client, t.community, case_id)
    assert [e["version"] for e in events] == list(range(1, len(won) + 2))
    assert sorted(e["data"]["text"] for e in events[1:]) == sorted(w["data"]["text"] for w in won)
    assert len(won) >= CLIENTS // 2
