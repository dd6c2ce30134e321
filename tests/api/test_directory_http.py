"""The directory over HTTP: managed by admin, read by every role in its scope, names beside
codes in lists and figures, and cases filed only where the directory says (practices.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from domain.model import Role
from tests.api.conftest import LiveServer, ServerFactory, issue
from tests.api.helpers import is_problem
from tests.conftest import report_data


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url, projections=True)
    return server, client_for(server)


def test_a_case_is_filed_only_into_a_registered_compound_with_the_directorys_community(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    grid = issue(server, Role.GRID_WORKER, compounds=["JX"])
    head = server.cases.head_position()
    unknown = client.post("/cases", json=report_data(compound_id="NOWHERE"),
                          headers=grid.headers)
    body = is_problem(unknown, 422, "unknown_unit")
    assert "register" in body["hint"]
    mismatch = client.post("/cases", json=report_data(community_id="C2"), headers=grid.headers)
    assert is_problem(mismatch, 422, "community_mismatch")["community_id"] == "C1"
    assert server.cases.head_position() == head
    data = report_data()
    del data["community_id"]
    created = client.post("/cases", json=data, headers=grid.headers)
    assert created.status_code == 201, created.text
    assert created.json()["community_id"] == "C1"
    listed = client.get("/cases", params={"min_position": server.cases.head_position()},
                        headers=grid.headers).json()["data"]
    assert (listed[0]["compound_name"], listed[0]["community_name"]) == ("锦绣佳苑", "幸福社区")
    closure = client.get("/stats/closure", params={
        "group_by": "compound", "min_position": server.cases.head_position()},
        headers=grid.headers).json()
    assert closure["groups"][0]["group"] == {"compound_id": "JX"}
    assert closure["groups"][0]["names"] == {"compound_id": "锦绣佳苑"}


def test_every_role_reads_the_directory_within_its_scope(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    codes = {u["code"] for u in client.get("/directory", headers=resident.headers).json()["data"]}
    assert codes == {"S1", "C1", "JX", "JX-G1", "LC"}
    street = issue(server, Role.AUDITOR, streets=["S2"])
    codes = {u["code"] for u in client.get("/directory", headers=street.headers).json()["data"]}
    assert codes == {"S2", "C9", "OTHER"}
    hidden = client.get("/directory/HY", headers=resident.headers)
    is_problem(hidden, 404, "unit_not_found")
    unit = client.get("/directory/JX", params={"on": "2025-06-01"},
                      headers=resident.headers).json()
    assert unit["provider_on"] == {"day": "2025-06-01", "provider": "LC"}
    assert unit["parent_name"] == "幸福社区"
    assert [h["type"] for h in unit["history"]] == ["UnitRegistered", "ProviderAssigned"]


def test_an_admin_registers_units_and_a_grid_team_whose_names_only_staff_see(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    admin = issue(server, Role.ADMIN, communities=["C1"])
    team = [{"role": "full_time", "name": "李专职"}, {"role": "part_time", "name": "王兼职"},
            {"role": "volunteer", "name": "赵志愿"}]
    created = client.post("/directory/units", headers=admin.headers, json={
        "level": "grid", "code": "JT-G1", "name": "涧田网格", "parent": "JT", "team": team})
    assert created.status_code == 200, created.text
    assert created.json() == {"added": 1, "changed": 0, "assignments": 0, "team": 1,
                              "events": 2}  # the unit's registration and its team
    again = client.post("/directory/units", headers=admin.headers, json={
        "level": "grid", "code": "JT-G1", "name": "涧田网格", "parent": "JT", "team": team})
    assert again.json() == {"added": 0, "changed": 0, "assignments": 0, "team": 0,
                            "events": 0}  # the same team again: nothing recorded
    history = client.get("/directory/JT-G1", headers=admin.headers).json()["history"]
    assert [e["type"] for e in history].count("GridTeamSet") == 1
    staff = issue(server, Role.COMMUNITY, communities=["C1"])
    resident = issue(server, Role.RESIDENT, compounds=["JT"])
    seen: dict[str, Any] = client.get("/directory/JT-G1", headers=staff.headers).json()
    assert [m["name"] for m in seen["team"]] == ["李专职", "王兼职", "赵志愿"]
    assert seen["team_counts"] == {"full_time": 1, "part_time": 1, "volunteer": 1}
    shown = client.get("/directory/JT-G1", headers=resident.headers)
    assert "李专职" not in shown.text
    assert [m["role"] for m in shown.json()["team"]] == ["full_time", "part_time", "volunteer"]
    grid_worker = issue(server, Role.GRID_WORKER, compounds=["JX"])
    refused = client.post("/directory/units", headers=grid_worker.headers,
                          json={"level": "grid", "code": "X", "name": "x", "parent": "JX"})
    assert "only an admin may do this" in is_problem(refused, 403)["detail"]


def test_a_bad_import_names_its_line_and_imports_nothing(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    admin = issue(server, Role.ADMIN)
    head = server.cases.head_position()
    text = "level,code,name,parent\ncompound,NEW1,新一,C1\ncompound,NEW2,新二,NOPE\n"
    body = is_problem(client.post("/directory/import", content=text.encode(),
                                  headers=admin.headers), 422, "invalid_directory")
    assert body["errors"][0]["line"] == 3
    assert body["errors"][0]["field"] == "parent"
    assert server.cases.head_position() == head
    ok = client.post("/directory/import", content=("\ufeff" + text.replace("NOPE", "C2"))
                     .encode(), headers=admin.headers)
    assert ok.json() == {"added": 2, "changed": 0, "assignments": 0, "events": 2}
    csv_text = client.get("/directory", params={"format": "csv", "level": "compound"},
                          headers=admin.headers).text
    assert "compound,NEW2,新二,C2," in csv_text
