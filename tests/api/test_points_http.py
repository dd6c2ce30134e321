"""Participation points over HTTP: scope for every endpoint, 422 for bad input, 409 with
the balance (also under concurrency), erasure, the leaderboard's masked names, log leaves."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from api.http.names import with_group_names
from domain.model import Role, Step
from projections import tlog_store
from projections.points_figures import points_stats
from projections.points_policy import PointsPolicy
from tests.api.conftest import LiveServer, Token, Tokens, issue, make_tokens
from tests.api.helpers import append, is_problem, open_case
from tests.stories import advance

Client = Callable[[LiveServer], httpx.Client]


@pytest.fixture
def setup(pg_server: LiveServer, client_for: Client) -> tuple[LiveServer, httpx.Client, Tokens]:
    return pg_server, client_for(pg_server), make_tokens(pg_server)


def register(client: httpx.Client, who: Token, name: str = "欧阳娜娜", **extra: Any
             ) -> httpx.Response:
    return client.post("/points", json={"compound_id": "JX", "kinds": ["resident"],
                                        "name": name, **extra}, headers=who.headers)


def post(client: httpx.Client, who: Token, participant: str, kind: str,
         data: dict[str, Any]) -> httpx.Response:
    return client.post(f"/points/{participant}/events", json={"type": kind, "data": data},
                       headers=who.headers)


def hours(client: httpx.Client, who: Token, participant: str, n: int) -> httpx.Response:
    return post(client, who, participant, "PointsAwarded",
                {"rule": "volunteer_hours", "hours": n})


def test_registering_is_for_community_staff_within_their_compounds(setup: Any) -> None:
    _server, client, tokens = setup
    created = register(client, tokens.community, resident_id=tokens.resident.actor.id)
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["compound_id"] == "JX"
    assert body["community_id"] == "C1"
    assert body["balance"] == 0
    assert body["name"] == "欧阳娜娜"
    assert created.headers["Location"] == f"/points/{body['participant_id']}"
    is_problem(register(client, tokens.outside[Role.COMMUNITY]), 403)
    for role in (Role.RESIDENT, Role.GRID_WORKER, Role.ADMIN, Role.PROPERTY_COMPANY,
                 Role.AUDITOR):
        is_problem(register(client, tokens.inside[role]), 403, "forbidden_role")
    assert client.post("/points", json={}).status_code == 401


def test_a_resident_credential_is_linked_to_one_participant(setup: Any) -> None:
    _server, client, tokens = setup
    resident = tokens.resident.actor.id
    first = register(client, tokens.community, resident_id=resident)
    assert first.status_code == 201
    body = is_problem(register(client, tokens.community, resident_id=resident), 409,
                      "resident_linked")
    assert body["participant_id"] == first.json()["participant_id"]
    for wrong in ("no-such-credential", tokens.grid_worker.actor.id,
                  tokens.outside[Role.RESIDENT].actor.id):
        is_problem(register(client, tokens.community, resident_id=wrong), 422)
    other = register(client, tokens.community).json()["participant_id"]
    is_problem(post(client, tokens.community, other, "ParticipantLinked",
                    {"resident_id": resident}), 409, "resident_linked")
    neighbour = tokens.neighbour
    assert neighbour is not None
    linked = post(client, tokens.community, other, "ParticipantLinked",
                  {"resident_id": neighbour.actor.id})
    assert linked.status_code == 201, linked.text
    assert client.get(f"/points/{other}", headers=neighbour.headers).status_code == 200


def test_reading_a_participant_is_scoped_and_names_show_only_where_they_may(
    setup: Any,
) -> None:
    _server, client, tokens = setup
    pid = register(client, tokens.community,
                   resident_id=tokens.resident.actor.id).json()["participant_id"]
    assert hours(client, tokens.community, pid, 2).status_code == 201

    def read(who: Token) -> httpx.Response:
        return client.get(f"/points/{pid}", headers=who.headers)

    own = read(tokens.resident).json()
    assert own["name"] == "欧阳娜娜"
    assert own["balance"] == 4
    assert [e["type"] for e in own["events"]] == ["ParticipantRegistered", "PointsAwarded"]
    assert "name" not in own["events"][0]["data"]  # the sealed envelope is never sent
    assert read(tokens.community).json()["name"] == "欧阳娜娜"
    assert read(tokens.grid_worker).json()["name"] == "欧阳**"
    for who in (tokens.neighbour, tokens.property_company, tokens.owners_committee,
                tokens.outside[Role.COMMUNITY], tokens.outside[Role.GRID_WORKER]):
        assert who is not None
        is_problem(read(who), 404, "participant_not_found")
    is_problem(client.get(f"/points/{pid}"), 401)
    is_problem(client.get("/points/not-a-uuid", headers=tokens.community.headers), 422)


def test_recording_is_for_community_staff_in_scope(setup: Any) -> None:
    _server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    recorded = hours(client, tokens.community, pid, 3)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["balance"] == 6
    assert recorded.json()["event"]["data"]["points"] == 6
    is_problem(hours(client, tokens.outside[Role.COMMUNITY], pid, 1), 404)
    for role in (Role.RESIDENT, Role.GRID_WORKER, Role.ADMIN):
        is_problem(hours(client, tokens.inside[role], pid, 1), 403, "forbidden_role")


BAD_EVENTS: list[tuple[str, dict[str, Any]]] = [
    ("PointsAwarded", {"rule": "report_topic", "hours": 1}),
    ("PointsAwarded", {"rule": "volunteer_hours", "hours": 0}),
    ("PointsAwarded", {"rule": "volunteer_hours", "hours": 25}),
    ("PointsRedeemed", {"reward": "券", "points": 0}),
    ("PointsRedeemed", {"reward": "", "points": 1}),
    ("PointsRedeemed", {"reward": "券", "points": 1, "extra": 1}),
    ("PointsReversed", {"award_version": 1, "reason": "x"}),
    ("PointsRemoved", {}),
    ("ParticipantLinked", {}),
]
BAD_REGISTRATIONS: list[dict[str, Any]] = [
    {"compound_id": "JX", "kinds": [], "name": "张三"},
    {"compound_id": "JX", "kinds": ["tourist"], "name": "张三"},
    {"compound_id": "JX", "kinds": ["resident"], "name": ""},
    {"compound_id": "JX", "kinds": ["resident"], "name": "张\n三"},
    {"compound_id": "NOPE", "kinds": ["resident"], "name": "张三"},
    {"compound_id": "JX", "kinds": ["resident"]},
    {"compound_id": "JX", "kinds": ["resident"], "name": "张三", "phone": "1"},
]
BAD_QUERIES = ["group_by=grid", "month=2026-13", "month=2026", "month=0000-01", "top=0",
               "format=xml"]


def test_bad_input_is_422_and_records_nothing(setup: Any) -> None:
    server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    for kind, data in BAD_EVENTS:
        is_problem(post(client, tokens.community, pid, kind, data), 422)
    for body in BAD_REGISTRATIONS:
        is_problem(client.post("/points", json=body, headers=tokens.community.headers), 422)
    for query in BAD_QUERIES:
        is_problem(client.get(f"/stats/points?{query}", headers=tokens.community.headers),
                   422)
    case = open_case(client, tokens.resident)
    advance(server.cases, server.app.state.settings.clock, case, Step.NEGOTIATE)
    head = server.cases.head_position()
    for ids in (["not-a-uuid"], "x", [pid] * 501):
        is_problem(append(client, tokens.owners_committee, case, "MeetingHeld", {
            "attendees": 1, "votes": {"for": 1, "against": 0, "abstain": 0},
            "outcome": "agreed", "attendee_ids": ids}), 422)
    assert server.cases.head_position() == head


def test_a_redemption_beyond_the_balance_is_409_with_the_balance(setup: Any) -> None:
    _server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    award = hours(client, tokens.community, pid, 5).json()["event"]["version"]
    body = is_problem(post(client, tokens.community, pid, "PointsRedeemed",
                           {"reward": "物业费抵扣", "points": 11}), 409, "balance_too_low")
    assert (body["balance"], body["points"]) == (10, 11)
    assert post(client, tokens.community, pid, "PointsRedeemed",
                {"reward": "物业费抵扣", "points": 4}).status_code == 201
    body = is_problem(post(client, tokens.community, pid, "PointsReversed",
                           {"award_version": award, "reason": "误记"}), 409, "balance_too_low")
    assert body["balance"] == 6
    is_problem(post(client, tokens.community, pid, "PointsReversed",
                    {"award_version": award + 1, "reason": "误记"}), 409, "not_reversible")


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_concurrent_redemptions_never_take_the_balance_below_zero(
    kind: str, request: pytest.FixtureRequest, client_for: Client,
) -> None:
    server: LiveServer = request.getfixturevalue(f"{'pg' if kind == 'postgres' else kind}_server")
    client, tokens = client_for(server), make_tokens(server)
    pid = register(client, tokens.community).json()["participant_id"]
    assert hours(client, tokens.community, pid, 5).status_code == 201  # 10 points
    answers: list[httpx.Response] = []
    barrier = threading.Barrier(8)

    def redeem() -> None:
        with httpx.Client(base_url=server.url, timeout=60) as own:
            barrier.wait()
            answers.append(post(own, tokens.community, pid, "PointsRedeemed",
                                {"reward": "菜市场代金券", "points": 3}))

    threads = [threading.Thread(target=redeem) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [201] * 3 + [409] * 5
    assert all(a.json()["balance"] in (1, 4, 7) for a in answers if a.status_code == 409)
    assert client.get(f"/points/{pid}", headers=tokens.community.headers).json()["balance"] == 1


def test_erasing_a_participant_leaves_balances_and_figures_unchanged(setup: Any) -> None:
    server, client, tokens = setup
    pid = register(client, tokens.community, name="张三").json()["participant_id"]
    hours(client, tokens.community, pid, 4)
    before = client.get("/stats/points", headers=tokens.community.headers).json()
    [group] = before["groups"]
    assert group["top"] == [{"participant_id": pid, "name": "张*", "balance": 8}]
    admin = issue(server, Role.ADMIN)
    erased = client.post(f"/admin/subjects/participant:{pid}/erase", headers=admin.headers)
    assert erased.status_code in (200, 202), erased.text
    read = client.get(f"/points/{pid}", headers=tokens.community.headers).json()
    assert read["name"] is None
    assert read["name_erased"] is True
    assert read["balance"] == 8
    after = client.get("/stats/points", headers=tokens.community.headers).json()
    [again] = after["groups"]
    assert again["top"] == [{"participant_id": pid, "name": None, "balance": 8}]
    assert {k: v for k, v in again.items() if k != "top"} == {
        k: v for k, v in group.items() if k != "top"}
    # An admin outside the compound cannot erase it (reads as not found).
    outsider = issue(server, Role.ADMIN, communities=["C9"])
    is_problem(client.post(f"/admin/subjects/participant:{pid}/erase",
                           headers=outsider.headers), 404)


def test_the_leaderboard_is_scoped_masked_and_also_csv(setup: Any) -> None:
    server, client, tokens = setup
    first = register(client, tokens.community, name="欧阳娜娜").json()["participant_id"]
    second = register(client, tokens.community, name="李四").json()["participant_id"]
    hours(client, tokens.community, first, 1)
    hours(client, tokens.community, second, 3)
    post(client, tokens.community, second, "PointsRedeemed", {"reward": "券", "points": 1})
    body = client.get("/stats/points", headers=tokens.resident.headers).json()
    [group] = body["groups"]
    assert group["group"] == {"compound_id": "JX"}
    assert group["names"] == {"compound_id": "锦绣佳苑"}
    assert (group["participants"], group["awarded"], group["redeemed"]) == (2, 8, 1)
    assert group["top"] == [{"participant_id": second, "name": "李*", "balance": 5},
                            {"participant_id": first, "name": "欧阳**", "balance": 2}]
    assert body["position"] == body["head"]
    by_community = client.get("/stats/points?group_by=community",
                              headers=tokens.community.headers).json()
    assert [g["group"] for g in by_community["groups"]] == [{"community_id": "C1"}]
    outside = client.get("/stats/points", headers=tokens.outside[Role.COMMUNITY].headers)
    assert outside.json()["groups"] == []
    month = client.get("/stats/points?month=2020-01", headers=tokens.community.headers)
    assert month.json()["groups"] == []
    csv = client.get("/stats/points?format=csv", headers=tokens.community.headers).text
    lines = csv.splitlines()
    assert lines[0] == ("group.compound_id,names.compound_id,participants,awarded,redeemed,"
                        "reversed,top.rank,top.participant_id,top.name,top.balance")
    assert lines[1].startswith("JX,锦绣佳苑,2,8,1,0,1,")
    assert lines[1].endswith(",李*,5")
    assert "欧阳娜娜" not in csv
    # The page and the API read the same figures.
    direct = with_group_names(points_stats(server.cases, tokens.community.actor),
                              server.cases.directory)
    assert direct["groups"] == client.get(
        "/stats/points", headers=tokens.community.headers).json()["groups"]


def test_ledger_events_get_leaves_in_the_verifiable_log(setup: Any) -> None:
    server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    event = hours(client, tokens.community, pid, 1).json()["event"]
    tlog_store.ensure_tables(server.cases.db)
    tlog_store.LogFollower(server.cases).catch_up()
    leaves = tlog_store.leaf_indexes(server.cases.db, [event["position"]])
    assert event["position"] in leaves


def test_attendees_earn_points_through_the_policy_over_http(setup: Any) -> None:
    server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    case = open_case(client, tokens.resident)
    advance(server.cases, server.app.state.settings.clock, case, Step.NEGOTIATE)
    held = append(client, tokens.owners_committee, case, "MeetingHeld", {
        "attendees": 12, "votes": {"for": 9, "against": 2, "abstain": 1},
        "outcome": "agreed", "attendee_ids": [pid]})
    assert held.status_code == 201, held.text
    assert PointsPolicy(server.cases).catch_up() == 1
    assert client.get(f"/points/{pid}", headers=tokens.community.headers).json()[
        "balance"] == 3


def test_attendee_ids_outside_the_compounds_participants_are_422_naming_the_field(
        setup: Any) -> None:
    server, client, tokens = setup
    pid = register(client, tokens.community).json()["participant_id"]
    case = open_case(client, tokens.resident)
    advance(server.cases, server.app.state.settings.clock, case, Step.NEGOTIATE)
    head = server.cases.head_position()
    stranger = "00000000-0000-4000-8000-000000000000"
    body = is_problem(append(client, tokens.owners_committee, case, "MeetingHeld", {
        "attendees": 12, "votes": {"for": 9, "against": 2, "abstain": 1},
        "outcome": "agreed", "attendee_ids": [pid, stranger]}), 422, "invalid_data")
    assert [e["field"] for e in body["errors"]] == ["attendee_ids"], body
    assert stranger in body["errors"][0]["message"]
    assert server.cases.head_position() == head


def test_no_table_holds_a_participants_name_in_plain_text(
    pg_server: LiveServer, client_for: Client, pg_url: str,
) -> None:
    from tests.api.test_personal_data import erase_completely, every_cell  # noqa: PLC0415

    client, tokens = client_for(pg_server), make_tokens(pg_server)
    pid = register(client, tokens.community, name="司马相如",
                   resident_id=tokens.resident.actor.id).json()["participant_id"]
    hours(client, tokens.community, pid, 2)
    post(client, tokens.community, pid, "PointsRedeemed", {"reward": "券", "points": 1})
    assert client.get("/stats/points", headers=tokens.community.headers).status_code == 200
    assert [t for t, row in every_cell(pg_url) if "司马相如" in row or "相如" in row] == []
    erase_completely(client, issue(pg_server, Role.ADMIN), f"participant:{pid}")
    read = client.get(f"/points/{pid}", headers=tokens.resident.headers).json()
    assert read["name"] is None
    assert read["balance"] == 3
