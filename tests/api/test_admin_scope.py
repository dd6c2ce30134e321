"""Every admin operation is bounded by the admin's own scope (docs/adr/0070-scope-model.md).

A permission matrix over every admin operation (list, create, revoke, erase, directory
writes) x a target in the admin's scope / outside it, for an admin scoped to compound JX
(community C1). Before this, such an admin created an unscoped token, read a compound-B
reporter's contact with it, erased a compound-B resident, revoked B's property company's
token and listed every credential of the store: four escalation paths, each a row here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from domain.model import Role
from tests.api.conftest import LiveServer, Token, issue
from tests.api.helpers import is_problem, open_case

Matrix = dict[str, Any]


@pytest.fixture
def world(sqlite_server: LiveServer,
          client_for: Callable[[LiveServer], httpx.Client]) -> Matrix:
    server = sqlite_server
    client = client_for(server)
    admin = issue(server, Role.ADMIN, compounds=["JX"])
    staff_a = issue(server, Role.COMMUNITY, communities=["C1"])
    staff_b = issue(server, Role.COMMUNITY, communities=["C2"])
    resident_a = issue(server, Role.RESIDENT, compounds=["JX"], name="居民")
    resident_b = issue(server, Role.RESIDENT, compounds=["HY"], name="居民")
    property_b = issue(server, Role.PROPERTY_COMPANY, compounds=["HY"], name="物业公司")
    district = issue(server, Role.AUDITOR)
    case_a = open_case(client, staff_a)
    case_b = open_case(client, staff_b, compound_id="HY", community_id="C2")
    return {"server": server, "client": client, "admin": admin, "staff_b": staff_b,
            "resident_a": resident_a, "resident_b": resident_b, "property_b": property_b,
            "district": district, "case_a": case_a, "case_b": case_b}


def _post(w: Matrix, path: str, json: Any = None, content: str | None = None) -> httpx.Response:
    admin: Token = w["admin"]
    if content is not None:
        return w["client"].post(path, content=content.encode(), headers=admin.headers)
    return w["client"].post(path, json=json, headers=admin.headers)


def test_list_shows_only_the_credentials_within_the_admins_scope(world: Matrix) -> None:
    response = world["client"].get("/admin/credentials", headers=world["admin"].headers)
    ids = {c["id"] for c in response.json()}
    assert world["resident_a"].actor.id in ids
    assert world["admin"].actor.id in ids
    for outside in ("resident_b", "property_b", "district", "staff_b"):
        assert world[outside].actor.id not in ids


@pytest.mark.parametrize(("scope", "status"), [
    ({"role": "grid_worker", "compounds": ["JX"]}, 201),
    ({"role": "grid_worker", "grids": ["JX-G1"]}, 201),
    ({"role": "admin", "compounds": ["JX"]}, 201),
    ({"role": "grid_worker", "compounds": ["HY"]}, 403),
    ({"role": "community", "communities": ["C1"]}, 403),
    ({"role": "auditor", "streets": ["S1"]}, 403),
    ({"role": "auditor"}, 403),
    ({"role": "admin"}, 403),
    ({"role": "grid_worker", "compounds": ["NOWHERE"]}, 422),
    ({"role": "grid_worker", "grids": ["JX"]}, 422),
])
def test_create_never_makes_a_token_wider_than_its_creator(
    world: Matrix, scope: dict[str, Any], status: int
) -> None:
    response = _post(world, "/admin/credentials", scope)
    assert response.status_code == status, response.text
    if status == 201:
        token = response.json()["token"]
        read = world["client"].get(f"/cases/{world['case_b']}",
                                   headers={"Authorization": f"Bearer {token}"})
        assert read.status_code == 404


def test_even_a_district_wide_admin_creates_a_district_wide_admin_only_on_the_command_line(
    world: Matrix,
) -> None:
    top = issue(world["server"], Role.ADMIN)
    response = world["client"].post("/admin/credentials", json={"role": "admin"},
                                    headers=top.headers)
    is_problem(response, 403, "scope_too_wide")
    response = world["client"].post("/admin/credentials", json={"role": "auditor"},
                                    headers=top.headers)
    assert response.status_code == 201


def test_revoke_only_within_scope(world: Matrix) -> None:
    outside = _post(world, f"/admin/credentials/{world['property_b'].actor.id}/revoke")
    is_problem(outside, 404, "credential_not_found")
    still = world["client"].get(f"/cases/{world['case_b']}", headers=world["property_b"].headers)
    assert still.status_code == 200
    inside = _post(world, f"/admin/credentials/{world['resident_a'].actor.id}/revoke")
    assert inside.status_code == 200
    assert inside.json()["revoked_at"] is not None


@pytest.mark.parametrize(("subject", "status"), [
    ("report:{case_a}", 200),
    ("report:{case_b}", 404),
    ("resident:{resident_a}", 200),
    ("resident:{resident_b}", 404),
    ("resident:cr_nobody", 404),
    ("anything-else", 404),
])
def test_erase_only_within_scope(world: Matrix, subject: str, status: int) -> None:
    subject_id = subject.format(case_a=world["case_a"], case_b=world["case_b"],
                                resident_a=world["resident_a"].actor.id,
                                resident_b=world["resident_b"].actor.id)
    response = _post(world, f"/admin/subjects/{subject_id}/erase")
    assert response.status_code in ((200, 202) if status == 200 else (status,)), response.text
    reader = world["staff_b"]
    case = world["client"].get(f"/cases/{world['case_b']}", headers=reader.headers).json()
    assert case["reporter"]["phone"] == "13800000000"


@pytest.mark.parametrize(("row", "status"), [
    ("grid,JX-G9,锦绣佳苑九网格,JX", 200),
    ("compound,JX,锦绣佳苑新名,C1", 200),
    ("compound,NEW,新小区,C1", 422),
    ("grid,HY-G1,和园一网格,HY", 422),
    ("compound,HY,和园改名,C2", 422),
    ("compound,JX,锦绣佳苑,C2", 422),
])
def test_directory_writes_only_within_scope(world: Matrix, row: str, status: int) -> None:
    response = _post(world, "/directory/import", content="level,code,name,parent\n" + row + "\n")
    assert response.status_code == status, response.text
