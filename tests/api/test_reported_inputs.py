"""A new user's reports on input and errors: fee and provider refusals in Chinese, meeting
figures, fee periods' bounds, ``bom`` on every CSV, stats errors' shape, the scope of a new
case."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from domain.model import Role
from tests.api.conftest import LiveServer, ServerFactory, issue
from tests.api.test_fees_http import collected, opened, post
from tests.conftest import report_data


@pytest.fixture
def served(server_factory: ServerFactory, sqlite_url: str,
           client_for: Callable[[LiveServer], httpx.Client]) -> tuple[LiveServer, httpx.Client]:
    server = server_factory(sqlite_url)
    return server, client_for(server)


ZH = {"Accept-Language": "zh-CN"}


def test_fee_refusals_read_in_chinese(served: tuple[LiveServer, httpx.Client]) -> None:
    server, client = served
    community = issue(server, Role.COMMUNITY, communities=["C1"])
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    far = issue(server, Role.COMMUNITY, communities=["C9"])
    early = post(client, community, "JX", collected(1), **ZH)
    assert early.status_code == 409
    assert "in step" not in post(client, community, "JX", collected(1)).json()["detail"]
    assert early.headers.get("content-language") == "zh"
    assert "请先开账" in early.json()["detail"]
    role = post(client, resident, "JX", collected(1), **ZH)
    assert role.status_code == 403
    assert "收费由社区" in role.json()["detail"]
    scope = post(client, far, "JX", collected(1), **ZH)
    assert scope.status_code == 403
    assert "范围" in scope.json()["detail"], scope.json()
    committee = issue(server, Role.OWNERS_COMMITTEE, compounds=["JX"])
    english = post(client, committee, "JX", collected(1)).json()["detail"]
    assert "an owners_committee records" in english, english
    chinese = post(client, committee, "JX", collected(1), **ZH).json()["detail"]
    assert "owners_committee" not in chinese, chinese
    assert post(client, community, "JX", opened(), **ZH).status_code == 201


def test_a_new_case_outside_the_scope_names_the_compound(
    served: tuple[LiveServer, httpx.Client],
) -> None:
    server, client = served
    resident = issue(server, Role.RESIDENT, compounds=["JX"])
    head = server.cases.head_position()
    data = report_data(compound_id="JT")
    del data["community_id"]
    answer = client.post("/cases", headers=resident.headers, json=data)
    assert answer.status_code == 403, answer.text
    assert answer.json()["detail"] == "compound JT is outside this credential's scope"
    assert server.cases.head_position() == head


@pytest.mark.parametrize("path", ["/stats/points", "/directory", "/stats/fees",
                                  "/stats/meetings", "/stats/providers", "/stats/closure",
                                  "/stats/steps", "/stats/satisfaction"])
def test_every_csv_takes_bom(served: tuple[LiveServer, httpx.Client], path: str) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    answer = client.get(path, params={"format": "csv", "bom": "1"}, headers=street.headers)
    assert answer.status_code == 200, answer.text
    assert answer.content.startswith("\ufeff".encode()), answer.text[:40]
    plain = client.get(path, params={"format": "csv"}, headers=street.headers)
    assert not plain.content.startswith("\ufeff".encode())


@pytest.mark.parametrize(("path", "allowed"), [
    ("/stats/points", ["compound", "community"]),
    ("/stats/fees", ["compound", "community", "fee_kind", "period"]),
    ("/stats/meetings", None), ("/stats/closure", None),
])
def test_an_unknown_group_by_is_invalid_query_with_the_values_allowed(
    served: tuple[LiveServer, httpx.Client], path: str, allowed: list[str] | None,
) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    answer = client.get(path, params={"group_by": "nowhere"}, headers=street.headers)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert (body["code"], body["field"]) == ("invalid_query", "group_by"), body
    assert body["allowed"], body
    if allowed is not None:
        assert set(body["allowed"]) == set(allowed)


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/stats/fees", {"period": "2026-3"}, "period"),
    ("/stats/meetings", {"month": "2026-3"}, "month"),
    ("/stats/points", {"month": "2026-3"}, "month"),
    ("/stats/providers", {"month": "2026-3"}, "month"),
])
def test_a_value_of_the_wrong_format_names_the_field_and_no_empty_list(
    served: tuple[LiveServer, httpx.Client], path: str, params: dict[str, str], field: str,
) -> None:
    server, client = served
    street = issue(server, Role.STREET, streets=["S1"])
    body = client.get(path, params=params, headers=street.headers).json()
    assert (body["status"], body["code"], body["field"]) == (422, "invalid_query", field)
    assert body.get("allowed") != []
    assert "YYYY" in body["detail"], body
