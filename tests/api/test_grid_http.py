"""Figures grouped by grid over HTTP (issue 14, docs/adr/0115): a ``--grid`` token's reports
and collections are stamped with its grid, ``group_by=grid`` groups the closure and
satisfaction figures by it with the grid's name, a body naming another grid is 422, and
the OpenAPI document lists ``grid`` among the group_by values."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from domain.directory.csvfile import parse
from domain.model import Role
from projections import queries
from tests.api.conftest import LiveServer, ServerFactory, Token, issue
from tests.api.helpers import is_problem
from tests.api.test_openapi import document
from tests.conftest import report_data
from tests.district import OPERATOR

MORE_GRIDS = """level,code,name,parent,households,kind,provider,provider_from
grid,JX-G2,锦绣佳苑二网格,JX,,,,
grid,HY-G1,和园一网格,HY,,,,
"""


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url, projections=True)
    server.cases.directory.apply_rows(parse(MORE_GRIDS), OPERATOR)
    return server, client_for(server)


def _report(client: httpx.Client, token: Token, **overrides: Any) -> str:
    created = client.post("/cases", json=report_data(**overrides), headers=token.headers)
    assert created.status_code == 201, created.text
    return str(created.json()["id"])


def _collect(client: httpx.Client, token: Token, case_id: str, **extra: Any) -> httpx.Response:
    return client.post(f"/cases/{case_id}/events", headers=token.headers, json={
        "type": "ProblemCollected",
        "data": {"category": "facilities", "description": "核实", **extra}})


def _figures(server: LiveServer, client: httpx.Client, path: str, token: Token,
             **params: Any) -> dict[str, Any]:
    answer = client.get(path, params={"min_position": server.cases.head_position(), **params},
                        headers=token.headers)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_grid_workers_stamp_their_grid_and_the_figures_group_by_it(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    g1 = issue(server, Role.GRID_WORKER, grids=["JX-G1"])
    g2 = issue(server, Role.GRID_WORKER, grids=["JX-G2"])
    hy = issue(server, Role.GRID_WORKER, grids=["HY-G1"])
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    auditor = issue(server, Role.AUDITOR)
    _report(client, g1, channel="grid_patrol")
    _report(client, g1, channel="grid_patrol")
    collected = _report(client, resident)  # a resident's report, collected by G2's worker
    assert _collect(client, g2, collected).status_code == 201
    _report(client, resident)  # never collected: no grid
    _report(client, hy, compound_id="HY", community_id="C2")

    body = _figures(server, client, "/stats/closure", auditor, group_by="grid")
    got = {g["group"]["grid_id"]: (g["reported"], g["names"].get("grid_id"))
           for g in body["groups"]}
    assert got == {None: (1, None), "JX-G1": (2, "锦绣佳苑一网格"),
                   "JX-G2": (1, "锦绣佳苑二网格"), "HY-G1": (1, "和园一网格")}
    # The same as the per-case computation of the query (the reference test compares that
    # with a plain fold of the events: tests/projections/test_reference.py).
    plain = queries.closure(server.cases, group_by="grid", cells=False)["groups"]
    assert [{k: v for k, v in g.items() if k != "names"} for g in body["groups"]] == plain

    sat = _figures(server, client, "/stats/satisfaction", auditor, group_by="grid,compound")
    assert [g["group"] for g in sat["groups"]] == [
        {"grid_id": None, "compound_id": "JX"}, {"grid_id": "HY-G1", "compound_id": "HY"},
        {"grid_id": "JX-G1", "compound_id": "JX"}, {"grid_id": "JX-G2", "compound_id": "JX"}]
    listed = client.get("/cases", params={"limit": 10}, headers=auditor.headers).json()["data"]
    assert {(r["grid_id"], r["grid_name"]) for r in listed} == {
        (None, None), ("JX-G1", "锦绣佳苑一网格"), ("JX-G2", "锦绣佳苑二网格"),
        ("HY-G1", "和园一网格")}
    csv = client.get("/stats/closure", params={"group_by": "grid", "format": "csv"},
                     headers=auditor.headers)
    assert csv.status_code == 200
    assert "group.grid_id" in csv.text

    # A --grid token sees its compound's cases (a grid covers its compound, ADR 0070),
    # grouped by grid; another compound's grid is not among them.
    mine = _figures(server, client, "/stats/closure", g1, group_by="grid")
    assert {g["group"]["grid_id"]: g["reported"] for g in mine["groups"]} == {
        None: 1, "JX-G1": 2, "JX-G2": 1}
    theirs = _figures(server, client, "/stats/closure", hy, group_by="grid")
    assert {g["group"]["grid_id"]: g["reported"] for g in theirs["groups"]} == {"HY-G1": 1}


def test_a_body_naming_a_grid_the_server_would_not_stamp_is_422(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    g1 = issue(server, Role.GRID_WORKER, grids=["JX-G1"])
    head = server.cases.head_position()
    refused = client.post("/cases", json=report_data(grid="HY-G1"), headers=g1.headers)
    assert "grid" in str(is_problem(refused, 422).get("errors", refused.json()))
    assert server.cases.head_position() == head
    case_id = _report(client, g1, grid="JX-G1")  # what the server would stamp: accepted
    events = client.get(f"/cases/{case_id}/events", headers=g1.headers).json()
    assert events["events"][0]["data"]["grid"] == "JX-G1"
    resident_case = _report(client, issue(server, Role.RESIDENT, compounds=["JX"]))
    is_problem(_collect(client, g1, resident_case, grid="JX-G2"), 422)


def test_the_openapi_document_lists_grid_among_the_group_by_values() -> None:
    spec = document()
    for path in ("/stats/closure", "/stats/satisfaction"):
        [group_by] = [p for p in spec["paths"][path]["get"]["parameters"]
                      if p["name"] == "group_by"]
        assert "grid" in group_by["description"]
    assert "grid" in queries.GROUP_KEYS
