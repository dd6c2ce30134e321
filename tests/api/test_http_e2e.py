"""End to end over HTTP: a real uvicorn server on the real PostgreSQL (and a smaller set on
SQLite), a case through all eight steps with the right token for each, every loop back, and
every refusal: 401, 403 for role and scope, 404 for out-of-scope reads, 409, 412, 413, 422."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from uuid import UUID, uuid4

import httpx

from domain.clock import ManualClock
from domain.model import Role
from tests.api.conftest import LiveServer, Token, Tokens, make_tokens
from tests.api.helpers import append, is_problem, iso, open_case, version_of
from tests.conftest import report_data

Step = tuple[Token, str, dict[str, Any], str]


def walk(client: httpx.Client, case_id: UUID, steps: list[Step]) -> int:
    """Append each event with If-Match on the previous version; check the step after it."""
    version = version_of(client, steps[0][0], case_id)
    for who, event_type, data, step in steps:
        response = append(client, who, case_id, event_type, data, if_match=version)
        assert response.status_code == 201, (event_type, response.text)
        body = response.json()
        version += 1
        assert response.headers["etag"] == f'"{version}"'
        assert (body["type"], body["version"], body["step_after"], body["step"]) == (
            event_type, version, step, step)
        assert body["actor"] == {"id": who.actor.id, "role": who.actor.role.value}
        assert len(body["hash"]) == 64
        assert body["position"] >= 1
    return version


def straight_path(t: Tokens, clock: ManualClock) -> tuple[list[Step], list[Step]]:
    """The eight steps, split where the publicity period has to pass."""
    before = [
        (t.grid_worker, "ProblemCollected", {"category": "facilities", "description": "核实"},
         "topic"),
        (t.grid_worker, "TopicFormed", {"title": "车库防水", "question": "如何出资?",
                                        "parties": ["业委会", "物业"]}, "review"),
        (t.party_branch, "TopicApproved", {"opinion": "同意"}, "pre-consult"),
        (t.community, "StakeholderConsulted", {"party": "物业", "opinion": "出资一半"},
         "pre-consult"),
        (t.community, "MeetingScheduled", {"scheduled_at": iso(clock.now() + timedelta(days=2)),
                                           "venue": "社区议事厅"}, "negotiate"),
        (t.owners_committee, "MeetingHeld", {"attendees": 23, "outcome": "agreed",
                                             "votes": {"for": 18, "against": 3, "abstain": 2}},
         "publish"),
        (t.community, "DecisionPublished", {"channels": ["公告栏"], "notice": "公示",
                                            "publicity_days": 5}, "publish"),
    ]
    after = [
        (t.community, "PublicityClosed", {}, "implement"),
        (t.community, "ImplementationAssigned", {
            "assignee_role": "property_company", "assignee": "绿城物业",
            "due_at": iso(clock.now() + timedelta(days=30))}, "implement"),
        (t.property_company, "ImplementationAccepted", {}, "implement"),
        (t.property_company, "ProgressReported", {"percent": 50}, "implement"),
        (t.property_company, "ImplementationCompleted", {"summary": "防水层重做",
                                                         "cost_fen": 1_200_000}, "supervise"),
        (t.party_branch, "SupervisionRecorded", {"verdict": "passed"}, "supervise"),
        (t.resident, "ResidentRated", {"satisfaction": "satisfied", "source": "resident"},
         "supervise"),
        (t.community, "CaseClosed", {"resolution": "resolved"}, "closed"),
    ]
    return before, after


def through_all_eight_steps(server: LiveServer, client: httpx.Client, clock: ManualClock) -> None:
    t = make_tokens(server)
    created = client.post("/cases", json=report_data(), headers=t.resident.headers)
    assert created.status_code == 201, created.text
    case_id = UUID(created.json()["id"])
    assert created.headers["location"] == f"/cases/{case_id}"
    assert created.headers["etag"] == '"1"'
    assert created.json()["step"] == "collect"

    before, after = straight_path(t, clock)
    version = walk(client, case_id, before)
    early = append(client, t.community, case_id, "PublicityClosed", {}, if_match=version)
    assert is_problem(early, 409, "rule_violated")["step"] == "publish"
    clock.advance(timedelta(days=5))
    version = walk(client, case_id, after)

    case = client.get(f"/cases/{case_id}", headers=t.auditor.headers)
    body = case.json()
    assert body["version"] == version  # the read's ETag tags its body (ADR 0063)
    assert (body["step"], body["status"], body["resolution"]) == ("closed", "closed", "resolved")
    assert body["deadline"] is None
    assert body["overdue"] is False
    for key in ("id", "version", "compound_id", "community_id", "title", "category", "channel",
                "reported_at", "deadline"):
        assert key in body

    stream = client.get(f"/cases/{case_id}/events", headers=t.auditor.headers).json()
    assert [e["version"] for e in stream["events"]] == list(range(1, version + 1))
    assert stream["events"][0]["type"] == "ProblemReported"
    for earlier, later in zip(stream["events"], stream["events"][1:], strict=False):
        assert later["prev_hash"] == earlier["hash"]
        assert later["position"] > earlier["position"]
    assert set(stream["events"][1]) >= {"version", "type", "data", "actor", "step_before",
                                        "step_after", "recorded_at", "position", "prev_hash",
                                        "hash"}
    verified = client.get(f"/cases/{case_id}/verify", headers=t.auditor.headers).json()
    assert [e["version"] for e in verified.pop("log")] == list(range(1, version + 1))
    assert verified == {"case_id": str(case_id), "valid": True, "events": version,
                        "head": stream["events"][-1]["hash"], "broken_at": None, "reason": None}
    past = client.get(f"/cases/{case_id}", params={"version": 2}, headers=t.auditor.headers)
    assert (past.json()["step"], past.json()["version"]) == ("topic", 2)

    log = client.get("/events", params={"after": 0, "limit": 1000},
                     headers=t.auditor.headers).json()
    mine = [e for e in log["events"] if e["case_id"] == str(case_id)]
    assert [e["version"] for e in mine] == list(range(1, version + 1))
    assert log["head"] >= mine[-1]["position"]


def test_a_case_goes_through_all_eight_steps_on_postgres(
    pg_server: LiveServer, client_for: Any, clock: ManualClock
) -> None:
    through_all_eight_steps(pg_server, client_for(pg_server), clock)


def test_a_case_goes_through_all_eight_steps_on_sqlite(
    sqlite_server: LiveServer, client_for: Any, clock: ManualClock
) -> None:
    through_all_eight_steps(sqlite_server, client_for(sqlite_server), clock)


def test_every_loop_back_over_http(
    pg_server: LiveServer, client_for: Any, clock: ManualClock
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)
    later = iso(clock.now() + timedelta(days=3))
    agreed = {"attendees": 9, "outcome": "agreed", "votes": {"for": 6, "against": 2, "abstain": 1}}
    walk(client, case_id, [
        (t.grid_worker, "ProblemCollected", {"category": "parking", "description": "乱停车"},
         "topic"),
        (t.grid_worker, "TopicFormed", {"title": "停车", "question": "划线?"}, "review"),
        (t.community, "TopicReturned", {"rework": "补充方案"}, "topic"),  # returned topic
        (t.community, "TopicFormed", {"title": "停车", "question": "划线还是限行?"}, "review"),
        (t.community, "TopicApproved", {}, "pre-consult"),
        (t.owners_committee, "StakeholderConsulted", {"party": "居民", "opinion": "赞成"},
         "pre-consult"),
        (t.owners_committee, "MeetingScheduled", {"scheduled_at": later, "venue": "会议室"},
         "negotiate"),
        (t.party_branch, "MeetingHeld", {"attendees": 9, "outcome": "not_agreed",
                                         "votes": {"for": 3, "against": 5, "abstain": 1}},
         "pre-consult"),  # failed meeting
        (t.community, "StakeholderConsulted", {"party": "物业", "opinion": "可以"}, "pre-consult"),
        (t.community, "MeetingScheduled", {"scheduled_at": later, "venue": "会议室"}, "negotiate"),
        (t.community, "MeetingHeld", agreed, "publish"),
        (t.community, "DecisionPublished", {"channels": ["微信群"], "notice": "公示",
                                            "publicity_days": 3}, "publish"),
        (t.resident, "ObjectionRaised", {"objection": "不同意"}, "negotiate"),  # objection
        (t.community, "MeetingHeld", agreed, "publish"),
        (t.community, "DecisionPublished", {"channels": ["微信群"], "notice": "再公示",
                                            "publicity_days": 0}, "publish"),
        (t.community, "PublicityClosed", {}, "implement"),
        (t.community, "ImplementationAssigned", {"assignee_role": "owners_committee",
                                                 "assignee": "业委会", "due_at": later},
         "implement"),
        (t.owners_committee, "ImplementationAccepted", {}, "implement"),
        (t.owners_committee, "ImplementationCompleted", {"summary": "划线"}, "supervise"),
        (t.party_branch, "SupervisionRecorded", {"verdict": "failed"}, "implement"),  # rework
        (t.owners_committee, "ImplementationCompleted", {"summary": "重新划线"}, "supervise"),
        (t.party_branch, "SupervisionRecorded", {"verdict": "passed"}, "supervise"),
        (t.community, "CaseClosed", {"resolution": "resolved"}, "closed"),
        (t.community, "CaseReopened", {"reason": "线又模糊了"}, "implement"),  # reopen
        (t.owners_committee, "ImplementationCompleted", {"summary": "补漆"}, "supervise"),
        (t.party_branch, "SupervisionRecorded", {"verdict": "passed"}, "supervise"),
        (t.community, "CaseClosed", {"resolution": "resolved"}, "closed"),
    ])
    body = client.get(f"/cases/{case_id}", headers=t.community.headers).json()
    assert body["reopen_count"] == 1
    assert body["resolution"] == "resolved"


def refusals(server: LiveServer, client: httpx.Client) -> None:
    t = make_tokens(server)
    case_id = open_case(client, t.resident)

    def unchanged() -> None:
        assert version_of(client, t.community, case_id) == 1

    # 401: no token, a token nobody issued, a revoked token
    is_problem(client.post("/cases", json=report_data()), 401, "unauthorized")
    is_problem(append(client, Token("yst_nobody", t.resident.actor), case_id, "CommentAdded",
                      {"text": "hi"}), 401, "unauthorized")
    revoked = make_tokens(server).community
    assert server.credentials.revoke(revoked.actor.id)
    is_problem(client.get(f"/cases/{case_id}", headers=revoked.headers), 401)
    # 403 for the role: the domain's permission table decides
    body = is_problem(append(client, t.auditor, case_id, "CommentAdded", {"text": "x"}), 403,
                      "forbidden_role")
    assert body["role"] == "auditor"
    is_problem(append(client, t.property_company, case_id, "ProblemCollected",
                      {"category": "other", "description": "x"}), 403, "forbidden_role")
    is_problem(client.post("/cases", json=report_data(), headers=t.admin.headers), 403)
    # 403 to write out of scope, 404 to read out of scope (existence does not leak)
    is_problem(append(client, t.outside[Role.COMMUNITY], case_id, "CommentAdded", {"text": "x"}),
               403, "out_of_scope")
    is_problem(client.post("/cases", json=report_data(), headers=t.outside[Role.RESIDENT].headers),
               403, "out_of_scope")
    for path in ("", "/events", "/verify"):
        is_problem(client.get(f"/cases/{case_id}{path}",
                              headers=t.outside[Role.AUDITOR].headers), 404, "case_not_found")
    is_problem(client.get(f"/cases/{uuid4()}", headers=t.auditor.headers), 404, "case_not_found")
    # 409: not allowed in this step (with the step and what is allowed), and a rule refusing
    body = is_problem(append(client, t.community, case_id, "TopicApproved"), 409,
                      "invalid_transition")
    assert body["step"] == "collect"
    assert "ProblemCollected" in body["allowed"]
    # 412: If-Match names another version; the current version is in the body
    body = is_problem(append(client, t.community, case_id, "CommentAdded", {"text": "x"},
                             if_match=7), 412, "version_conflict")
    assert body["current_version"] == 1
    # 422 names the bad fields
    body = is_problem(append(client, t.grid_worker, case_id, "ProblemCollected",
                             {"category": "weather", "extra": 1}), 422, "invalid_data")
    fields = {e["field"] for e in body["errors"]}
    assert {"body.data.category", "body.data.description", "body.data.extra"} <= fields
    is_problem(append(client, t.community, case_id, "Teleported"), 422, "unknown_event_type")
    is_problem(append(client, t.community, case_id, "ProblemReported", report_data()), 422,
               "unknown_event_type")
    is_problem(client.post("/cases", json=report_data(category=7), headers=t.resident.headers),
               422, "invalid_data")
    is_problem(client.post("/cases", json=report_data(title="   "), headers=t.resident.headers),
               422, "invalid_data")
    # Texts the read models could not store (PostgreSQL refuses both) are bad input too.
    is_problem(client.post("/cases", json=report_data(title="漏水\u0000"),
                           headers=t.resident.headers), 422, "invalid_data")
    unpaired = json.dumps({"type": "CommentAdded", "data": {"text": "x\ud800"}}).encode()
    is_problem(client.post(f"/cases/{case_id}/events", content=unpaired, headers={
        **t.community.headers, "Content-Type": "application/json"}), 422, "invalid_data")
    is_problem(client.get("/cases/not-a-uuid", headers=t.auditor.headers), 422)
    is_problem(client.get(f"/cases/{case_id}", params={"as_of": "yesterday"},
                          headers=t.auditor.headers), 422)
    is_problem(client.post(f"/cases/{case_id}/events", content=b'{"type": ',
                           headers={**t.community.headers, "Content-Type": "application/json"}),
               400, "malformed_json")
    is_problem(client.post(f"/cases/{case_id}/events", content=b"[" * 5000 + b"]" * 5000,
                           headers={**t.community.headers, "Content-Type": "application/json"}),
               422)
    is_problem(client.post(f"/cases/{case_id}/events", content=b"x" * 70_000,
                           headers={**t.community.headers, "Content-Type": "application/json"}),
               413, "body_too_large")
    is_problem(append(client, t.community, case_id, "CommentAdded", {"text": "x"},
                      key="k" * 300), 422, "invalid_data")
    bad_match = client.post(f"/cases/{case_id}/events", json={"type": "CommentAdded",
                            "data": {"text": "x"}}, headers={**t.community.headers,
                                                             "If-Match": "yesterday"})
    is_problem(bad_match, 400, "invalid_if_match")
    is_problem(client.get("/nowhere"), 404, "not_found")
    is_problem(client.delete("/healthz"), 405, "method_not_allowed")
    unchanged()


def test_every_refusal_on_postgres_appends_nothing(pg_server: LiveServer, client_for: Any) -> None:
    refusals(pg_server, client_for(pg_server))


def test_every_refusal_on_sqlite_appends_nothing(
    sqlite_server: LiveServer, client_for: Any
) -> None:
    refusals(sqlite_server, client_for(sqlite_server))


def test_a_retry_with_the_same_key_replays_the_first_answer_even_after_a_restart(
    server_factory: Any, pg_url: str, client_for: Any
) -> None:
    first = server_factory(pg_url)
    client = client_for(first)
    t = make_tokens(first)
    case_id = open_case(client, t.resident)
    one = append(client, t.community, case_id, "CommentAdded", {"text": "once"}, key="k-1")
    again = append(client, t.community, case_id, "CommentAdded", {"text": "once"}, key="k-1")
    assert (one.status_code, again.status_code) == (201, 201)
    assert again.json() == one.json()
    assert again.headers["etag"] == one.headers["etag"] == '"2"'
    assert again.headers["idempotent-replayed"] == "true"
    is_problem(append(client, t.community, case_id, "CommentAdded", {"text": "other"},
                      key="k-1"), 422, "idempotency_key_reused")
    refused = append(client, t.community, case_id, "TopicApproved", {}, key="k-2")
    assert append(client, t.community, case_id, "TopicApproved", {}, key="k-2").json() == \
        refused.json()
    created = client.post("/cases", json=report_data(), headers={**t.resident.headers,
                                                                 "Idempotency-Key": "c-1"})
    first.stop()

    second = server_factory(pg_url)
    client = client_for(second)
    replayed = append(client, t.community, case_id, "CommentAdded", {"text": "once"}, key="k-1")
    assert replayed.status_code == 201
    assert replayed.json() == one.json()
    recreated = client.post("/cases", json=report_data(), headers={**t.resident.headers,
                                                                   "Idempotency-Key": "c-1"})
    assert recreated.status_code == 201
    assert recreated.json()["id"] == created.json()["id"]
    assert recreated.headers["location"] == created.headers["location"]
    assert version_of(client, t.community, case_id) == 2
    # keys belong to a credential: another token's "k-1" is a different key
    other = append(client, t.grid_worker, case_id, "CommentAdded", {"text": "once"}, key="k-1")
    assert other.status_code == 201
    assert other.json()["version"] == 3


def test_personal_data_is_shown_only_to_those_who_need_it_and_erased_on_request(
    pg_server: LiveServer, client_for: Any
) -> None:
    client = client_for(pg_server)
    t = make_tokens(pg_server)
    case_id = open_case(client, t.resident)

    def reporter(who: Token) -> dict[str, Any]:
        response = client.get(f"/cases/{case_id}", headers=who.headers)
        assert response.status_code == 200, response.text
        shown: dict[str, Any] = response.json()["reporter"]
        stream = client.get(f"/cases/{case_id}/events", headers=who.headers).json()
        in_stream = stream["events"][0]["data"]["reporter"]
        assert {k: v for k, v in shown.items() if v not in (None, False)} == {
            k: v for k, v in in_stream.items() if v not in (None, False)}
        return shown

    for who in (t.resident, t.community, t.grid_worker):
        assert (reporter(who)["name"], reporter(who)["phone"]) == ("张三", "13800000000")
    for who in (t.neighbour, t.property_company, t.auditor, t.party_branch, t.admin):
        assert who is not None
        shown = reporter(who)
        assert (shown["name"], shown["phone"], shown["masked"]) == ("张*", "138****0000", True)
    subject = reporter(t.community)["subject_id"]
    is_problem(client.post(f"/admin/subjects/{subject}/erase", headers=t.community.headers), 403)
    erased = client.post(f"/admin/subjects/{subject}/erase", headers=t.admin.headers)
    # the status says the state it answers with: 200 complete, 202 pending with a Location
    assert (erased.status_code, erased.json()["state"]) in ((200, "complete"), (202, "pending"))
    assert (erased.status_code == 202) == ("Location" in erased.headers)
    # complete, or pending while another suite's transaction on the shared database ends
    assert erased.json() in ({"subject_id": subject, "erased": True, "state": state,
                              "status": f"/admin/erasures/{subject}"}
                             for state in ("complete", "pending"))
    for who in (t.resident, t.community, t.auditor):
        shown = reporter(who)
        assert shown["erased"] is True
        assert shown["name"] is None
        assert shown["phone"] is None
    assert client.get(f"/cases/{case_id}/verify", headers=t.auditor.headers).json()["valid"]
    again = client.post(f"/admin/subjects/{subject}/erase", headers=t.admin.headers)
    assert again.status_code == 200, again.text  # erasing twice answers as done, not missing
    assert again.json()["erased"] is False
    assert again.json()["state"] == "complete"
    for mistyped in (subject + "0", "report:00000000-0000-0000-0000-000000000000"):
        missing = client.post(f"/admin/subjects/{mistyped}/erase", headers=t.admin.headers)
        is_problem(missing, 404, "subject_not_found")


def test_health_readiness_and_the_documents(sqlite_server: LiveServer, client_for: Any) -> None:
    client = client_for(sqlite_server)
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready"
    assert [p["tracked_by"] for p in ready["projections"]] == ["database"]
    assert client.get("/openapi.json").status_code == 200
    assert client.get("/docs").status_code == 200
