"""The red/black list over HTTP: scope holds (a community sees its compounds' providers'
figures for its compounds; a provider's credential its own figures only), CSV, a
provider's history, recording ratings, summons and replacements, and bad input as 422."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from domain.model import Role
from tests.api.conftest import LiveServer, ServerFactory, Token, issue
from tests.api.helpers import is_problem
from tests.providers.helpers import (
    COMMUNITY,
    GD,
    LC,
    YW,
    dispatch,
    finish,
    register_providers,
    to_implement,
)


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url, projections=True)
    register_providers(server.cases)
    app, clock = server.cases, server.cases.clock
    for compound, who, role, n in (("JX", LC, "property_company", 6),
                                   ("LH", GD, "property_company", 2),
                                   ("HY", YW, "owners_committee", 5)):
        for _ in range(n):
            case_id = to_implement(app, clock, compound)  # type: ignore[arg-type]
            dispatch(app, case_id, compound, role=role)
            finish(app, clock, case_id, compound, who)  # type: ignore[arg-type]
    return server, client_for(server)


def stats(client: httpx.Client, who: Token, server: LiveServer, **params: Any
          ) -> dict[str, Any]:
    answer = client.get("/stats/providers", headers=who.headers, params={
        "month": "2026-03", "min_position": server.cases.head_position(), **params})
    assert answer.status_code == 200, answer.text
    assert answer.headers["X-Projection-Reached"] == "true"
    body: dict[str, Any] = answer.json()
    return body


def rows(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {r["provider"]: r for r in body["providers"]}


def test_scope_holds_for_communities_providers_and_the_street(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    admin = issue(server, Role.ADMIN)
    every = rows(stats(client, admin, server))
    assert set(every) == {"LC", "GD", "WK", "YW"}
    assert (every["LC"]["orders"], every["LC"]["rank"], every["LC"]["list"]) == (6, 1, "red")
    assert every["GD"]["rank"] is None
    assert every["GD"]["orders"] == 2
    assert every["YW"]["street"] is None or every["YW"]["street"] == "S1"
    c1 = rows(stats(client, issue(server, Role.COMMUNITY, communities=["C1"]), server))
    assert set(c1) == {"LC", "GD"}
    assert c1["LC"]["rank"] == every["LC"]["rank"]  # the ranking is the street's
    c2 = rows(stats(client, issue(server, Role.COMMUNITY, communities=["C2"]), server))
    assert set(c2) == {"YW"}
    assert c2["YW"]["compounds"] == ["HY"]
    lc = issue(server, Role.PROPERTY_COMPANY, provider="LC")
    assert set(rows(stats(client, lc, server))) == {"LC"}
    # A compound filter outside the reader's scope selects nothing.
    assert rows(stats(client, lc, server, compound="LH")) == {}
    street = issue(server, Role.STREET, streets=["S1"])
    assert set(rows(stats(client, street, server))) == {"LC", "GD", "YW"}
    gd_only = rows(stats(client, admin, server, compound="LH"))
    assert set(gd_only) == {"GD"}
    assert gd_only["GD"]["orders"] == 2
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    assert set(rows(stats(client, resident, server))) == {"LC"}


def test_each_rate_carries_its_counts_and_csv_is_the_same_rows(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    admin = issue(server, Role.ADMIN)
    lc = rows(stats(client, admin, server))["LC"]
    assert lc["taken_on_time"] == {"count": 6, "of": 6}
    assert lc["taken_on_time_rate"] == 1.0
    assert lc["satisfied"] == {"count": 6, "of": 6}
    assert lc["score"] == 100.0
    assert stats(client, admin, server)["names"]["LC"] == "绿城物业"
    csv = client.get("/stats/providers", headers=admin.headers,
                     params={"month": "2026-03", "format": "csv", "bom": "true"})
    assert csv.status_code == 200
    assert csv.headers["content-type"].startswith("text/csv")
    lines = csv.text.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("provider,name,kind,compounds,orders")
    assert any(line.startswith("LC,绿城物业,property_company,JX,6,") for line in lines)


@pytest.mark.parametrize("params", [{"month": "2026-13"}, {"month": "26-03"},
                                    {"format": "xml"}, {"min_position": "-1"}])
def test_bad_queries_are_422_problems(served: tuple[LiveServer, httpx.Client],
                                      params: dict[str, str]) -> None:
    server, client = served
    answer = client.get("/stats/providers", headers=issue(server, Role.ADMIN).headers,
                        params=params)
    is_problem(answer, 422)


def test_ratings_summons_and_a_replacement_through_the_api(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    rated = client.post("/providers/GD/events", headers=street.headers, json={
        "type": "ProviderRated", "data": {"month": "2026-03", "score": 55, "comment": "差"}})
    assert rated.status_code == 201, rated.text
    summoned = client.post("/providers/GD/events", headers=street.headers, json={
        "type": "ProviderSummoned", "data": {"date": "2026-03-20", "reason": "评分过低"}})
    assert summoned.json()["version"] == 3
    replaced = client.post("/providers/WK/events", headers=street.headers, json={
        "type": "ProviderAssigned", "data": {"compound": "LH", "from": "2026-04-01",
                                             "summons_version": 3}})
    assert replaced.status_code == 201, replaced.text
    gd = client.get("/providers/GD", headers=street.headers).json()
    assert [r["score"] for r in gd["ratings"]] == [55]
    assert gd["summons"][0]["reason"] == "评分过低"
    assert gd["compounds"] == [{"compound": "LH", "name": "莲花小区", "from": "2025-01-01",
                                "until": "2026-04-01"}]
    assert [e["type"] for e in gd["history"]] == ["ProviderRegistered", "ProviderRated",
                                                  "ProviderSummoned"]
    row = rows(stats(client, street, server))["GD"]
    assert row["community_rating"] == 55
    # A provider's credential reads its own provider only.
    lc = issue(server, Role.PROPERTY_COMPANY, provider="LC")
    assert client.get("/providers/GD", headers=lc.headers).status_code == 404
    assert client.get("/providers/LC", headers=lc.headers).status_code == 200


def test_refusals_are_problems_never_500(served: tuple[LiveServer, httpx.Client]) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    c2 = issue(server, Role.COMMUNITY, communities=["C2"])
    head = server.cases.head_position()
    for body, who, status in (
        ({"type": "ProviderRated", "data": {"month": "2026-03", "score": 101}}, street, 422),
        ({"type": "ProviderRated", "data": {"month": "2026-3", "score": 5}}, street, 422),
        ({"type": "ProviderRated", "data": {"month": "2026-03", "score": True}}, street, 422),
        ({"type": "ProviderRated", "data": {"month": "2026-03", "score": 5, "x": 1}}, street,
         422),
        ({"type": "ProviderSummoned", "data": {"date": "2026-02-30", "reason": "x"}}, street,
         422),
        ({"type": "ProviderSummoned", "data": {"date": "2026-03-01", "reason": "\x00"}},
         street, 422),
        ({"type": "Nope", "data": {}}, street, 422),
        ({"type": "ProviderRated", "data": "x"}, street, 422),
        ({"type": "ProviderRated", "data": {"month": "2026-03", "score": 80}}, c2, 403),
        ({"type": "ProviderAssigned", "data": {"compound": "OTHER", "from": "2026-04-01"}},
         street, 403),
        ({"type": "ProviderAssigned", "data": {"compound": "LH", "from": "2026-04-01",
                                               "summons_version": 1}}, street, 409),
        ({"type": "ProviderRegistered", "data": {"name": "x"}}, street, 422),
    ):
        answer = client.post("/providers/LC/events", headers=who.headers, json=body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert is_problem(client.post("/providers/NOPE/events", headers=street.headers, json={
        "type": "ProviderRated", "data": {"month": "2026-03", "score": 5}}), 422)
    assert client.get("/providers/NOPE", headers=street.headers).status_code == 404
    assert server.cases.head_position() == head


def test_a_dispatch_naming_another_provider_is_422(served: tuple[LiveServer, httpx.Client]
                                                   ) -> None:
    server, client = served
    app = server.cases
    case_id = to_implement(app, app.clock, "JX")  # type: ignore[arg-type]
    who = issue(server, Role.COMMUNITY, communities=["C1"])
    body = {"type": "ImplementationAssigned", "data": {
        "assignee_role": "property_company", "assignee": "x",
        "due_at": "2026-04-30T12:00:00+08:00", "provider_code": "GD"}}
    refused = client.post(f"/cases/{case_id}/events", headers=who.headers, json=body)
    problem = is_problem(refused, 422)
    assert problem["errors"][0]["field"] == "provider_code"
    body["data"]["provider_code"] = "LC"  # type: ignore[index]
    taken = client.post(f"/cases/{case_id}/events", headers=who.headers, json=body)
    assert taken.status_code == 201, taken.text
    del body["data"]["provider_code"]  # type: ignore[attr-defined]
    again = client.post(f"/cases/{case_id}/events", headers=who.headers, json=body)
    assert again.json()["data"]["provider_code"] == "LC"
    assert COMMUNITY["JX"].role is Role.COMMUNITY


def _page(client: httpx.Client, who: Token, path: str) -> httpx.Response:
    login = client.post("/dashboard/login", data={"token": who.token, "next": path},
                        follow_redirects=False)
    assert login.status_code == 303
    page = client.get(path)
    assert page.status_code == 200, page.text
    return page


def test_the_red_black_list_page_shows_the_apis_rows_for_the_same_scope(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    c1 = issue(server, Role.COMMUNITY, communities=["C1"])
    api_rows = rows(stats(client, c1, server))
    html = _page(client, c1, "/dashboard/providers?month=2026-03").text
    assert "红黑榜" in html
    for code, row in api_rows.items():
        assert f'data-provider="{code}"' in html
        assert f"{row['taken_on_time']['count']}/{row['taken_on_time']['of']}" in html
    assert 'data-provider="YW"' not in html  # another community's provider
    assert '<section class="red-list"' in html
    assert 'data-provider="LC">绿城物业' in html
    english = _page(client, c1, "/dashboard/providers?month=2026-03&lang=en").text
    assert "Red list" in english
    csv = _page(client, c1, "/dashboard/providers.csv?month=2026-03")
    assert csv.content.startswith(b"\xef\xbb\xbf")
    assert "派单数" in csv.text
    assert "绿城物业 (LC)" in csv.text


def test_a_retry_with_the_same_idempotency_key_records_once(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    for body, path in (
        ({"type": "ProviderSummoned", "data": {"date": "2026-03-20", "reason": "约谈"}},
         "/providers/GD/events"),
        ({"type": "ProviderAssigned", "data": {"compound": "LH", "from": "2026-04-01"}},
         "/providers/WK/events"),
    ):
        headers = {**street.headers, "Idempotency-Key": f"k-{path}"}
        first = client.post(path, headers=headers, json=body)
        assert first.status_code == 201, first.text
        head = server.cases.head_position()
        again = client.post(path, headers=headers, json=body)
        assert again.status_code == 201
        assert again.json() == first.json()
        assert again.headers["Idempotent-Replayed"] == "true"
        assert server.cases.head_position() == head
        other = client.post(path, headers=headers, json={**body, "type": "ProviderRated"})
        is_problem(other, 422, "idempotency_key_reused")


def test_refusals_read_in_chinese(served: tuple[LiveServer, httpx.Client]) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    c2 = issue(server, Role.COMMUNITY, communities=["C2"])
    zh = {"Accept-Language": "zh-CN"}
    for body, who, status in (
        ({"type": "ProviderRated", "data": {"month": "2026-03", "score": 80}}, c2, 403),
        ({"type": "ProviderAssigned", "data": {"compound": "OTHER", "from": "2026-04-01"}},
         street, 403),
        ({"type": "ProviderAssigned", "data": {"compound": "LH", "from": "2026-04-01",
                                               "summons_version": 1}}, street, 409),
    ):
        answer = client.post("/providers/LC/events", headers={**who.headers, **zh}, json=body)
        assert answer.status_code == status, answer.text
        assert answer.headers["content-language"] == "zh"
        detail = answer.json()["detail"]
        assert not any(w in detail for w in ("refused", "may not", "allowed", "step")), detail
