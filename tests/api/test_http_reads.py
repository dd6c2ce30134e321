"""Reads over HTTP: the global log paged and scope-filtered, past states by version and time,
the actor taken from the token only, and credential administration."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import uuid4

from api.http.routes_events import ScopeCache
from domain.clock import ManualClock
from domain.model import Role
from tests.api.conftest import LiveServer, issue, make_tokens
from tests.api.helpers import append, is_problem, open_case


def test_the_global_log_is_ordered_paged_and_filtered_to_the_token_scope(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    elsewhere = issue(pg_server, Role.COMMUNITY, communities=["C9"])
    mine = open_case(client, t.resident)
    theirs = open_case(client, elsewhere, compound_id="OTHER", community_id="C9")
    for i in range(3):
        assert append(client, t.community, mine, "CommentAdded", {"text": f"{i}"}).status_code \
            == 201
        assert append(client, elsewhere, theirs, "CommentAdded", {"text": f"{i}"}).status_code \
            == 201

    def page(who: Any, after: int, limit: int) -> dict[str, Any]:
        response = client.get("/events", params={"after": after, "limit": limit},
                              headers=who.headers)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    everything = page(t.auditor, 0, 100)
    assert everything["count"] == 4  # the auditor of C1 sees C1 only
    district = issue(pg_server, Role.AUDITOR)
    whole = page(district, 0, 100)
    assert whole["count"] == 8
    positions = [e["position"] for e in whole["events"]]
    assert positions == sorted(positions)
    assert whole["head"] == positions[-1]
    seen: list[int] = []
    after = 0
    while True:
        body = page(t.community, after, 3)
        seen += [e["position"] for e in body["events"]]
        assert all(e["case_id"] == str(mine) for e in body["events"])
        if body["next_after"] == after or not body["events"]:
            break
        after = body["next_after"]
    assert seen == [e["position"] for e in everything["events"]]
    is_problem(client.get("/events", params={"limit": 0}, headers=t.auditor.headers), 422)
    is_problem(client.get("/events", params={"after": "x"}, headers=t.auditor.headers), 422)


def test_past_states_by_version_and_by_time(
    pg_server: LiveServer, client_for: Any, clock: ManualClock
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    opened_at = clock.now()
    clock.advance(timedelta(hours=1))
    append(client, t.grid_worker, case_id, "ProblemCollected",
           {"category": "facilities", "description": "核实"})
    then = client.get(f"/cases/{case_id}", params={"as_of": opened_at.isoformat()},
                      headers=t.auditor.headers)
    assert (then.json()["step"], then.json()["version"]) == ("collect", 1)
    now = client.get(f"/cases/{case_id}", headers=t.auditor.headers)
    assert (now.json()["step"], now.json()["version"]) == ("topic", 2)
    is_problem(client.get(f"/cases/{case_id}", params={"version": 9}, headers=t.auditor.headers),
               404, "version_not_found")
    before = (opened_at - timedelta(days=1)).isoformat()
    is_problem(client.get(f"/cases/{case_id}", params={"as_of": before},
                          headers=t.auditor.headers), 404)
    is_problem(client.get(f"/cases/{case_id}", params={"as_of": "2026-03-02T09:00:00"},
                          headers=t.auditor.headers), 422)


def test_the_actor_comes_from_the_token_never_from_the_body(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    forged = client.post(f"/cases/{case_id}/events", headers=t.grid_worker.headers, json={
        "type": "CommentAdded", "data": {"text": "x"},
        "actor": {"id": "community-1", "role": "community"}})
    is_problem(forged, 422, "invalid_data")
    in_data = append(client, t.grid_worker, case_id, "CommentAdded",
                     {"text": "x", "actor_id": "community-1"})
    is_problem(in_data, 422, "invalid_data")
    ok = append(client, t.grid_worker, case_id, "CommentAdded", {"text": "x"})
    assert ok.json()["actor"] == {"id": t.grid_worker.actor.id, "role": "grid_worker"}


def test_an_admin_manages_credentials_over_http(pg_server: LiveServer, client_for: Any) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    is_problem(client.get("/admin/credentials", headers=t.community.headers), 403)
    created = client.post("/admin/credentials", headers=t.admin.headers, json={
        "role": "property_company", "compounds": ["JX"], "name": "绿城物业"})
    assert created.status_code == 201
    assert created.headers["cache-control"] == "no-store"
    token = created.json()["token"]
    listed = client.get("/admin/credentials", headers=t.admin.headers).json()
    assert token not in str(listed)
    assert any(c["id"] == created.json()["id"] for c in listed)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/events", headers=headers).status_code == 200
    revoked = client.post(f"/admin/credentials/{created.json()['id']}/revoke",
                          headers=t.admin.headers)
    assert revoked.json()["revoked_at"] is not None
    is_problem(client.get("/events", headers=headers), 401)
    is_problem(client.post("/admin/credentials", headers=t.admin.headers,
                           json={"role": "mayor"}), 422)


def test_the_scope_cache_of_the_global_log_forgets_the_least_recently_used() -> None:
    cache = ScopeCache(maxsize=2)
    first, second, third = uuid4(), uuid4(), uuid4()
    cache.remember(first, ("JX", "C1"))
    cache.remember(second, ("JX", "C1"))
    cache.remember(third, ("YY", "C2"))
    assert list(cache) == [second, third]
