"""Joint meetings and patrols over HTTP: ``parties`` on MeetingHeld (optional, from one
list), ``GET /stats/meetings`` per month and compound within the reader's scope, and the
patrol and visit channels (practices.md "Joint meetings and patrols")."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from uuid import UUID

import httpx
import pytest

from api.http.app import create_app
from api.http.settings import Settings
from domain.clock import ManualClock
from domain.model import Role, Step
from projections.meetings import CHINA, MeetingProjection
from tests.api.conftest import LiveServer, ServerFactory, issue
from tests.api.helpers import is_problem
from tests.conftest import report_data
from tests.domain.helpers import case_in_step

HELD: dict[str, Any] = {"attendees": 23, "votes": {"for": 18, "against": 3, "abstain": 2},
                        "outcome": "agreed"}


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url)
    return server, client_for(server)


def hold(client: httpx.Client, headers: dict[str, str], case_id: UUID, **data: Any
         ) -> httpx.Response:
    return client.post(f"/cases/{case_id}/events", headers=headers,
                       json={"type": "MeetingHeld", "data": {**HELD, **data}})


@pytest.mark.parametrize(("data", "field"), [
    ({"attendees": 5, "votes": {"for": 4, "against": 1, "abstain": 1}}, "votes"),
    ({"attendees": 0, "votes": {"for": 1, "against": 0, "abstain": 0}}, "votes"),
    ({"attendees": 2, "votes": {"for": 2, "against": 0, "abstain": 0},
      "attendee_ids": ["8c0e1a52-0000-4000-8000-000000000001",
                       "8c0e1a52-0000-4000-8000-000000000002",
                       "8c0e1a52-0000-4000-8000-000000000003"]}, "attendee_ids"),
])
def test_figures_that_cannot_be_are_422_naming_the_field(
    served: tuple[LiveServer, httpx.Client], clock: ManualClock, data: dict[str, Any],
    field: str,
) -> None:
    server, client = served
    owners = issue(server, Role.OWNERS_COMMITTEE, compounds=["JX"])
    case_id = case_in_step(server.cases, clock, Step.NEGOTIATE)
    head = server.cases.head_position()
    answer = hold(client, owners.headers, case_id, **data)
    is_problem(answer, 422, "invalid_data")
    assert [e["field"] for e in answer.json()["errors"]] == [field]
    chinese = client.post(f"/cases/{case_id}/events",
                          headers={**owners.headers, "Accept-Language": "zh-CN"},
                          json={"type": "MeetingHeld", "data": {**HELD, **data}})
    assert "参会" in chinese.json()["detail"], chinese.json()
    assert server.cases.head_position() == head


@pytest.mark.parametrize("parties", [["community", "mayor"], ["police", "police"], "police",
                                     [1]])
def test_parties_outside_the_list_are_422_and_store_nothing(
    served: tuple[LiveServer, httpx.Client], clock: ManualClock, parties: object,
) -> None:
    server, client = served
    owners = issue(server, Role.OWNERS_COMMITTEE, compounds=["JX"])
    case_id = case_in_step(server.cases, clock, Step.NEGOTIATE)
    head = server.cases.head_position()
    is_problem(hold(client, owners.headers, case_id, parties=parties), 422)
    assert server.cases.head_position() == head


def test_meetings_count_per_month_and_compound_with_their_parties_in_scope(
    served: tuple[LiveServer, httpx.Client], clock: ManualClock,
) -> None:
    server, client = served
    owners = issue(server, Role.OWNERS_COMMITTEE, compounds=["JX"])
    joint = case_in_step(server.cases, clock, Step.NEGOTIATE)
    plain = case_in_step(server.cases, clock, Step.NEGOTIATE)
    assert hold(client, owners.headers, joint, parties=[
        "community", "property_company", "police", "residents_representative"]).status_code == 201
    assert hold(client, owners.headers, plain).status_code == 201  # today's clients
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    answer = client.get("/stats/meetings", headers=community.headers).json()
    [group] = answer["groups"]
    month = clock.now().astimezone(CHINA).strftime("%Y-%m")
    assert group["group"]["compound_id"] == "JX"
    assert group["group"] == {"month": month, "compound_id": "JX"}
    assert group["names"] == {"compound_id": "锦绣佳苑"}
    assert (group["meetings"], group["joint_meetings"], group["with_parties"],
            group["attendees"]) == (2, 1, 1, 46)
    assert group["parties"]["police"] == 1
    assert group["parties"]["housing_office"] == 0
    far = issue(server, Role.COMMUNITY, communities=["C9"])
    assert client.get("/stats/meetings", headers=far.headers).json()["groups"] == []
    assert client.get("/stats/meetings").status_code == 401
    problem = is_problem(client.get("/stats/meetings", params={"group_by": "party"},
                                    headers=community.headers), 422, "invalid_query")
    assert problem["field"] == "group_by"
    csv = client.get("/stats/meetings", params={"format": "csv", "group_by": "community"},
                     headers=community.headers)
    assert "parties.police" in csv.text.splitlines()[0]
    rebuilt = MeetingProjection(server.cases)
    rebuilt.rebuild()
    live = server.app.state.meeting_projection
    assert live.catch_up() == rebuilt.position
    assert sorted(live.meetings(), key=str) == sorted(rebuilt.meetings(), key=str)


@pytest.mark.parametrize("channel", ["grid_patrol", "property_patrol", "household_visit"])
def test_patrols_and_visits_are_channels(
    served: tuple[LiveServer, httpx.Client], channel: str,
) -> None:
    server, client = served
    grid = issue(server, Role.GRID_WORKER, compounds=["JX"])
    created = client.post("/cases", json=report_data(channel=channel), headers=grid.headers)
    assert created.status_code == 201, created.text


def test_a_channel_outside_the_list_is_422_and_the_document_lists_the_new_ones(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    grid = issue(server, Role.GRID_WORKER, compounds=["JX"])
    is_problem(client.post("/cases", json=report_data(channel="drone_patrol"),
                           headers=grid.headers), 422)
    spec = create_app(Settings(database_url="memory:")).openapi()
    channel = spec["components"]["schemas"]["ProblemReportedData"]["properties"]["channel"]
    assert {"grid_patrol", "property_patrol", "household_visit"} <= set(str(channel).replace(
        "'", " ").split())
    parties = spec["components"]["schemas"]["MeetingHeldData"]["properties"]["parties"]
    assert "residents_representative" in str(parties)
    assert "/stats/meetings" in spec["paths"]
    assert "/fees/{compound}/events" in spec["paths"]
    assert "/stats/fees" in spec["paths"]


def test_each_grid_in_the_directory_list_shows_its_team_as_counts_only(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    admin = issue(server, Role.ADMIN, communities=["C1"])
    team = [{"role": "full_time", "name": "李专职"}] + [
        {"role": "part_time", "name": f"兼职{i}"} for i in range(3)] + [
        {"role": "volunteer", "name": f"志愿{i}"} for i in range(5)]
    created = client.post("/directory/units", headers=admin.headers, json={
        "level": "grid", "code": "JX-G2", "name": "锦绣二网格", "parent": "JX", "team": team})
    assert created.status_code == 200, created.text
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    listed = client.get("/directory", params={"level": "grid"}, headers=resident.headers)
    grids = {u["code"]: u for u in listed.json()["data"]}
    assert grids["JX-G2"]["team_counts"] == {"full_time": 1, "part_time": 3, "volunteer": 5}
    assert grids["JX-G1"]["team_counts"] == {"full_time": 0, "part_time": 0, "volunteer": 0}
    assert "李专职" not in listed.text
