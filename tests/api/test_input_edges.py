"""The kinds of input a client gets wrong without noticing, each answered with a problem
that names it and changes nothing (ADR 0041, ADR 0131):

- a query parameter no route takes (a misspelt filter was ignored: the unfiltered answer
  passed for the filtered one);
- a window whose ``to`` does not come after its ``from`` (was 200 with zeros);
- a body that is JSON but that no field can hold (an integer of thousands of digits was
  400 ``http_error``), or that is not UTF-8.
"""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.api.conftest import LiveServer, Tokens, make_tokens


@pytest.fixture
def live(sqlite_server: LiveServer, client_for: Any) -> tuple[LiveServer, httpx.Client, Tokens]:
    return sqlite_server, client_for(sqlite_server), make_tokens(sqlite_server)


def _reads(server: LiveServer) -> list[str]:
    """Every GET address of the API without path parameters, from its OpenAPI document."""
    document = server.app.openapi()
    return sorted(path for path, item in document["paths"].items()
                  if "get" in item and "{" not in path)


def test_every_read_refuses_a_query_parameter_it_does_not_take(
    live: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    server, client, tokens = live
    reads = _reads(server)
    assert {"/cases", "/audit", "/stats/closure"} <= set(reads)
    for path in reads:
        answer = client.get(path, params={"compound_id": "JX"}, headers=tokens.admin.headers)
        assert answer.status_code == 422, (path, answer.status_code, answer.text)
        problem = answer.json()
        assert problem["code"] == "invalid_query", (path, problem)
        assert problem["field"] == "compound_id"
        assert "compound_id" not in problem["allowed"]


def test_a_known_parameter_still_filters(live: tuple[LiveServer, httpx.Client, Tokens]) -> None:
    _server, client, tokens = live
    answer = client.get("/cases", params={"compound": "JX", "limit": 5},
                        headers=tokens.admin.headers)
    assert answer.status_code == 200, answer.text
    allowed = client.get("/cases", params={"compund": "JX"},
                         headers=tokens.admin.headers).json()["allowed"]
    assert {"compound", "community", "limit", "after", "from", "to"} <= set(allowed)


@pytest.mark.parametrize("path", ["/cases", "/audit", "/stats/closure", "/stats/steps",
                                  "/stats/satisfaction"])
@pytest.mark.parametrize(("start", "end"), [
    ("2026-05-01T00:00:00+08:00", "2026-04-01T00:00:00+08:00"),  # to before from
    ("2026-05-01T00:00:00+08:00", "2026-05-01T00:00:00+08:00"),  # an empty window
    ("2026-05-01T00:00:00+08:00", "2026-04-30T16:00:00Z"),  # the same instant, two zones
])
def test_a_window_that_ends_before_it_starts_is_422(
    live: tuple[LiveServer, httpx.Client, Tokens], path: str, start: str, end: str,
) -> None:
    _server, client, tokens = live
    answer = client.get(path, params={"from": start, "to": end}, headers=tokens.admin.headers)
    assert answer.status_code == 422, answer.text
    assert answer.json()["code"] == "invalid_query"
    assert answer.json()["field"] == "to"
    forward = client.get(path, params={"from": end, "to": "2026-06-01T00:00:00+08:00"},
                         headers=tokens.admin.headers)
    assert forward.status_code == 200, forward.text


@pytest.mark.parametrize(("body", "status", "code"), [
    (b'{"type": "CaseReported", "data": {"attendees": ' + b"9" * 5000 + b"}}", 422,
     "invalid_data"),
    (b'{"title": ' + b"1" * 4301 + b"}", 422, "invalid_data"),
    ('{"title": "阳光花园"}'.encode("gb18030"), 400, "malformed_json"),
    ('{"title": "caf\xe9"}'.encode("latin-1"), 400, "malformed_json"),
])
def test_a_body_no_field_can_hold_is_a_problem_and_stores_nothing(
    live: tuple[LiveServer, httpx.Client, Tokens], body: bytes, status: int, code: str,
) -> None:
    _server, client, tokens = live
    before = client.get("/cases", headers=tokens.admin.headers).json()["head"]
    answer = client.post("/cases", content=body, headers={
        **tokens.grid_worker.headers, "Content-Type": "application/json"})
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["code"] == code
    assert client.get("/cases", headers=tokens.admin.headers).json()["head"] == before


def test_the_openapi_document_carries_the_package_version(
    live: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    from importlib import metadata  # noqa: PLC0415

    _server, client, _tokens = live
    assert client.get("/openapi.json").json()["info"]["version"] == metadata.version("yishi")


def test_the_index_lists_every_address_of_the_openapi_document(
    live: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    _server, client, _tokens = live
    index = client.get("/", headers={"Accept": "application/json"}).json()
    documented = set(client.get("/openapi.json").json()["paths"])
    assert set(index["resources"]) == documented
    assert {"/cases", "/log/checkpoint", "/cases/{case_id}/proof"} <= documented
