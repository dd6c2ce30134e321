"""Filters of every read: an unknown enumerated value is 422 listing the allowed ones; a
compound or community code that is unknown or outside the reader's scope selects nothing,
and answers exactly as a code that exists nowhere (no hint of what exists elsewhere)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from domain.catalogue import EVENT_TYPES, Category, Channel
from domain.model import Resolution, Role, Step
from projections.service import ProjectionService
from tests.api.conftest import LiveServer, Token, make_tokens
from tests.api.helpers import is_problem, open_case

FIGURES = ("/stats/closure", "/stats/steps", "/stats/satisfaction")
BAD: list[tuple[str, str, str, tuple[str, ...]]] = [
    ("/cases", "step", "foo", tuple(s.value for s in Step)),
    ("/cases", "resolution", "fixed", tuple(r.value for r in Resolution)),
    ("/cases", "category", "Parking", tuple(c.value for c in Category)),
    ("/cases", "channel", "fax", tuple(c.value for c in Channel)),
    ("/audit", "role", "mayor", tuple(r.value for r in Role)),
    ("/audit", "type", "CaseExploded", EVENT_TYPES),
    *[(path, "category", "Parking", tuple(c.value for c in Category)) for path in FIGURES],
    *[(path, "channel", "fax", tuple(c.value for c in Channel)) for path in FIGURES],
]


def _get(client: httpx.Client, who: Token, path: str, **params: Any) -> httpx.Response:
    return client.get(path, params=params, headers=who.headers)


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_an_unknown_enumerated_value_is_422_listing_the_allowed_ones(
    store: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    open_case(client, t.resident)
    ProjectionService(server.cases).catch_up()
    for path, name, value, allowed in BAD:
        for params in ({name: value}, {name: f"{allowed[0]},{value}"}, {name: [allowed[0],
                                                                                value]}):
            for extra in ({}, {"format": "csv"}) if path != "/cases" else ({},):
                body = is_problem(_get(client, t.auditor, path, **params, **extra), 422,
                                  "invalid_query")
                assert body["field"] == name, (path, params)
                assert body["allowed"] == list(allowed), (path, params)
                assert value in body["detail"]
        assert _get(client, t.auditor, path, **{name: allowed[-1]}).status_code == 200
    for path in ("/stats/closure", "/stats/satisfaction"):
        body = is_problem(_get(client, t.auditor, path, group_by="street"), 422,
                          "invalid_query")
        assert body["field"] == "group_by"
        assert "compound" in body["allowed"]


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_a_code_unknown_or_outside_the_scope_selects_nothing_and_tells_nothing(
    store: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    open_case(client, t.resident)
    elsewhere = t.outside[Role.RESIDENT]
    open_case(client, elsewhere, compound_id="OTHER", community_id="C9")
    ProjectionService(server.cases).catch_up()
    reads = [("/cases", {}), *[(p, {}) for p in FIGURES],
             *[(p, {"group_by": "compound"}) for p in ("/stats/closure", "/stats/satisfaction")]]
    for path, extra in reads:
        for name, there, nowhere, mine in (("compound", "OTHER", "NOPE", "JX"),
                                           ("community", "C9", "C404", "C1")):
            outside = _get(client, t.party_branch, path, **{name: there}, **extra)
            unknown = _get(client, t.party_branch, path, **{name: nowhere}, **extra)
            assert outside.status_code == unknown.status_code == 200, (path, name)
            assert outside.json() == unknown.json(), (path, name)
            inside = _get(client, t.party_branch, path, **{name: mine}, **extra).json()
            if path != "/stats/satisfaction":  # nothing rated: the same zeros everywhere
                assert inside != outside.json(), (path, name)
    assert _get(client, t.party_branch, "/cases", compound="OTHER").json()["count"] == 0
    assert _get(client, t.party_branch, "/cases", compound="JX").json()["count"] == 1
