"""Fee collection over HTTP: who records (the domain's table), every endpoint within the
reader's scope, 422 for values outside their lists, 409 for the period's rules, CSV, and
exactly once under an Idempotency-Key (practices.md, metrics.md, api.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from domain.directory.csvfile import parse
from domain.model import Role
from tests.api.conftest import LiveServer, ServerFactory, Token, issue
from tests.api.helpers import is_problem
from tests.district import OPERATOR

#: A self-managing compound beside the test district's (its owners' committee collects).
SELF_MANAGED = """\
level,code,name,parent,households,kind,provider,provider_from
provider,OC-ZZ,紫竹业委会,,,owners_committee,,
compound,ZZ,紫竹园,C1,120,,OC-ZZ,2025-01-01
"""


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url)
    server.cases.directory.apply_rows(parse(SELF_MANAGED), OPERATOR)
    return server, client_for(server)


def opened(kind: str = "property", period: str = "2026-03", billed: int = 420
           ) -> dict[str, Any]:
    return {"type": "FeePeriodOpened", "data": {
        "fee_kind": kind, "period": period, "households_billed": billed,
        "amount_billed_fen": billed * 9000}}


def collected(households: int, kind: str = "property", period: str = "2026-03"
              ) -> dict[str, Any]:
    return {"type": "FeesCollected", "data": {
        "fee_kind": kind, "period": period, "households": households,
        "amount_fen": households * 9000, "day": "2026-03-12"}}


def post(client: httpx.Client, who: Token, compound: str, body: dict[str, Any],
         **headers: str) -> httpx.Response:
    return client.post(f"/fees/{compound}/events", json=body,
                       headers={**who.headers, **headers})


def test_the_community_and_the_compounds_provider_record_and_nobody_else(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    company = issue(server, Role.PROPERTY_COMPANY, compounds=["JX", "JT"])
    committee = issue(server, Role.OWNERS_COMMITTEE, compounds=["ZZ", "JX"])
    assert post(client, company, "JX", opened()).status_code == 201
    assert post(client, community, "JX", collected(300)).status_code == 201
    assert post(client, committee, "ZZ", opened("sanitation", "2026", 120)).status_code == 201
    assert post(client, community, "JT", opened("sanitation", "2026", 96)).status_code == 201
    # A provider records only where it serves; JT has no provider, JX a company.
    is_problem(post(client, company, "JT", collected(1, "sanitation", "2026")), 403,
               "forbidden_role")
    is_problem(post(client, committee, "JX", collected(1)), 403, "forbidden_role")
    for role in (Role.RESIDENT, Role.GRID_WORKER, Role.PARTY_BRANCH, Role.AUDITOR, Role.ADMIN):
        who = issue(server, role, compounds=["JX"]) if role is not Role.ADMIN else issue(
            server, role)
        is_problem(post(client, who, "JX", collected(1)), 403, "forbidden_role")
    # Outside the scope: refused before anything is stored.
    far = issue(server, Role.COMMUNITY, communities=["C9"])
    is_problem(post(client, far, "JX", collected(1)), 403, "out_of_scope")
    is_problem(post(client, community, "NOWHERE", opened()), 422, "unknown_unit")
    assert client.post("/fees/JX/events", json=collected(1)).status_code == 401


@pytest.mark.parametrize(("body", "field"), [
    (opened("water"), "fee_kind"),
    (opened(period="2026-13"), "period"),
    (opened(period="26"), "period"),
    (opened(billed=-1), "households_billed"),
    ({"type": "FeesCollected", "data": {**collected(1)["data"], "amount_fen": -100}},
     "amount_fen"),
    ({"type": "FeesForgiven", "data": {}}, "type"),
    ({"type": "FeePeriodOpened", "data": {**opened()["data"], "room": "3-201"}}, "room"),
])
def test_values_outside_their_lists_and_ranges_are_422_and_store_nothing(
    served: tuple[LiveServer, httpx.Client], body: dict[str, Any], field: str,
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    head = server.cases.head_position()
    problem = is_problem(post(client, community, "JX", body), 422)
    assert field in str(problem)
    assert server.cases.head_position() == head


def test_the_periods_rules_are_409_with_what_is_left(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    is_problem(post(client, community, "JX", collected(1)), 409, "rule_violated")
    assert post(client, community, "JX", opened()).status_code == 201
    is_problem(post(client, community, "JX", opened()), 409, "rule_violated")
    assert post(client, community, "JX", collected(10)).status_code == 201
    refund = {"type": "FeesRefunded", "data": {"fee_kind": "property", "period": "2026-03",
                                               "households": 11, "amount_fen": 0}}
    problem = is_problem(post(client, community, "JX", refund), 409, "rule_violated")
    assert "10 left" in problem["detail"]


def test_an_idempotent_retry_records_once_and_answers_the_same(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    assert post(client, community, "JX", opened()).status_code == 201
    first = post(client, community, "JX", collected(5), **{"Idempotency-Key": "k-1"})
    assert post(client, community, "JX", collected(7)).status_code == 201
    again = post(client, community, "JX", collected(5), **{"Idempotency-Key": "k-1"})
    assert first.status_code == again.status_code == 201
    assert again.headers.get("Idempotent-Replayed") == "true"
    assert again.json() == first.json()  # the position too: a replay is the first answer
    assert isinstance(first.json()["position"], int)
    assert first.json()["period"]["households_collected"] == 5
    assert server.cases.fees.ledger("JX", "property", "2026-03").households_collected == 12  # type: ignore[union-attr]


def test_stats_fees_give_rates_in_the_readers_scope_as_json_and_csv(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    assert post(client, community, "JX", opened(billed=400)).status_code == 201
    assert post(client, community, "JX", collected(300)).status_code == 201
    assert post(client, community, "JT", opened("sanitation", "2026", 96)).status_code == 201
    assert post(client, community, "JT", collected(90, "sanitation", "2026")).status_code == 201
    answer = client.get("/stats/fees", headers=community.headers).json()
    assert set(answer) >= {"position", "head", "groups"}
    jx = next(g for g in answer["groups"] if g["group"]["compound_id"] == "JX")
    assert jx["group"] == {"compound_id": "JX", "fee_kind": "property", "period": "2026-03"}
    assert jx["names"] == {"compound_id": "锦绣佳苑"}
    assert (jx["households_billed"], jx["households_paid"], jx["collection_rate"]) == (
        400, 300, 0.75)
    assert set(jx) >= {"group", "names", "households_billed", "households_paid",
                       "collection_rate", "amount_billed_fen", "amount_collected_fen",
                       "amount_refunded_fen", "amount_rate"}
    [c1] = client.get("/stats/fees", params={"group_by": "community"},
                      headers=community.headers).json()["groups"]
    assert c1["collection_rate"] == 390 / 496
    year = client.get("/stats/fees", params={"period": "2026", "fee_kind": "sanitation"},
                      headers=community.headers).json()["groups"]
    assert [g["group"]["compound_id"] for g in year] == ["JT"]
    # Every reader sees its own scope only: a JX provider JX, a far community nothing.
    company = issue(server, Role.PROPERTY_COMPANY, compounds=["JX"])
    mine = client.get("/stats/fees", headers=company.headers).json()["groups"]
    assert {g["group"]["compound_id"] for g in mine} == {"JX"}
    far = issue(server, Role.COMMUNITY, communities=["C9"])
    assert client.get("/stats/fees", headers=far.headers).json()["groups"] == []
    assert client.get("/stats/fees", params={"compound": "JX"},
                      headers=far.headers).json()["groups"] == []
    assert client.get("/stats/fees").status_code == 401
    csv = client.get("/stats/fees", params={"format": "csv"}, headers=community.headers)
    assert csv.headers["content-type"].startswith("text/csv")
    header = csv.text.splitlines()[0]
    assert "group.compound_id" in header
    assert "collection_rate" in header


@pytest.mark.parametrize(("params", "field"), [
    ({"fee_kind": "water"}, "fee_kind"), ({"group_by": "grid"}, "group_by"),
    ({"period": "2026-1"}, "period"),
])
def test_stats_fees_filters_outside_their_lists_are_422(
    served: tuple[LiveServer, httpx.Client], params: dict[str, str], field: str,
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    problem = is_problem(client.get("/stats/fees", params=params, headers=community.headers),
                         422, "invalid_query")
    assert problem["field"] == field


def test_a_grid_workers_token_scoped_to_a_grid_reads_its_compound_and_records_no_fees(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    assert post(client, community, "JX", opened()).status_code == 201
    assert post(client, community, "JT", opened("sanitation", "2026", 96)).status_code == 201
    grid = issue(server, Role.GRID_WORKER, grids=["JX-G1"])
    seen = client.get("/stats/fees", headers=grid.headers).json()["groups"]
    assert {g["group"]["compound_id"] for g in seen} == {"JX"}
    assert client.get("/stats/meetings", headers=grid.headers).status_code == 200
    is_problem(post(client, grid, "JX", collected(1)), 403, "forbidden_role")


def test_figures_a_period_cannot_hold_are_422_naming_the_field(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    head = server.cases.head_position()
    # JX has 420 households in the directory.
    problem = is_problem(post(client, community, "JX", opened(billed=421)), 422, "invalid_data")
    assert [e["field"] for e in problem["errors"]] == ["households_billed"]
    zh = post(client, community, "JX", opened(billed=421), **{"Accept-Language": "zh"})
    assert "420 户" in zh.json()["detail"], zh.json()
    assert server.cases.head_position() == head
    assert post(client, community, "JX", opened(billed=420)).status_code == 201
    head = server.cases.head_position()
    far = collected(1)
    far["data"]["day"] = "2019-01-01"
    problem = is_problem(post(client, community, "JX", far), 422, "invalid_data")
    assert [e["field"] for e in problem["errors"]] == ["day"]
    refund = {"type": "FeesRefunded", "data": {"fee_kind": "property", "period": "2026-03",
                                               "households": 0, "amount_fen": 0,
                                               "day": "2019-01-01"}}
    is_problem(post(client, community, "JX", refund), 422, "invalid_data")
    assert server.cases.head_position() == head
