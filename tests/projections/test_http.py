"""The projection endpoints over HTTP: every filter, grouping, CSV, scope, as_of, min_position.

The answers must equal the query functions' (themselves checked against the reference) for
the token's scope, say how fresh they are, and never show a case outside the scope.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import httpx
import pytest

from api.http import routes_projections
from api.http.names import with_case_names, with_group_names
from api.http.settings import Settings
from domain.clock import ManualClock
from domain.model import Role
from projections import queries
from projections.queries import Scope
from tests.api.conftest import LiveServer, Tokens, issue, make_tokens
from tests.conftest import START
from tests.district import register_district
from tests.projections.histories import COMMUNITY, play, random_history


@pytest.fixture
def served(
    sqlite_url: str, clock: ManualClock
) -> Iterator[tuple[LiveServer, httpx.Client, Tokens]]:
    server = LiveServer(Settings(database_url=sqlite_url, clock=clock))
    if "/stats/closure" not in {getattr(r, "path", "") for r in server.app.routes}:
        # Until api/http/app.py lists the router in ROUTERS (one line; see the report).
        server.app.include_router(routes_projections.router)
    server.start()
    client = httpx.Client(base_url=server.url, timeout=60)
    try:
        register_district(server.cases)
        tokens = make_tokens(server)
        play(server.cases, clock, random_history(seed=21, length=260))
        assert _get(client, tokens.auditor, "/cases", min_position=server.cases.head_position())
        yield server, client, tokens
    finally:
        client.close()
        server.stop()


def _get(client: httpx.Client, token: Any, path: str, **params: Any) -> dict[str, Any]:
    response = client.get(path, params=params, headers=token.headers)
    assert response.status_code == 200, response.text
    assert response.headers["X-Projection-Position"] == str(response.json()["position"])
    assert response.headers["X-Log-Head"] == str(response.json()["head"])
    body: dict[str, Any] = response.json()
    return body


def test_every_case_list_filter_answers_as_the_query_does(
    served: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    server, client, t = served
    cases = server.cases
    district = issue(server, Role.AUDITOR)
    reported = queries.list_cases(cases, limit=1000, sort="reported_at")["data"]
    middle = reported[len(reported) // 2]["reported_at"]
    filters: list[dict[str, Any]] = [
        {}, {"step": "collect"}, {"step": "implement,supervise"}, {"status": "open"},
        {"status": "closed"}, {"resolution": "resolved"}, {"compound": "JX"},
        {"community": "C2"}, {"category": "parking"}, {"channel": "phone"},
        {"overdue": "true"}, {"overdue": "false"}, {"text": "BICYCLES"}, {"text": "车库"},
        {"from": middle}, {"to": middle}, {"sort": "deadline"}, {"sort": "-support_count"},
        {"limit": 3, "offset": 2}, {"sort": "-position", "status": "open", "compound": "LH"},
    ]
    for params in filters:
        for token in (district, t.community, t.resident):
            body = _get(client, token, "/cases", **params)
            kwargs = {k: v for k, v in params.items() if k not in ("from", "to", "overdue")}
            for key in ("step", "compound", "community", "category", "channel", "resolution"):
                if key in kwargs:
                    kwargs[key] = kwargs[key].split(",")
            if "overdue" in params:
                kwargs["overdue"] = params["overdue"] == "true"
            for key, name in (("from", "from_"), ("to", "to")):
                if key in params:
                    kwargs[name] = datetime.fromisoformat(params[key])
            expected = with_case_names(
                queries.list_cases(cases, Scope.of(token.actor), **kwargs), cases.directory)
            assert body == expected, params
    everything = _get(client, district, "/cases", limit=1000)
    assert everything["count"] == len(reported) > 10
    assert {c["compound_id"] for c in everything["data"]} == {"JX", "LH", "HY"}
    community = _get(client, t.community, "/cases", limit=1000)["data"]
    assert {c["community_id"] for c in community} == {"C1"}
    resident = _get(client, t.resident, "/cases", limit=1000)["data"]
    assert {c["compound_id"] for c in resident} == {"JX"}
    outside = _get(client, t.outside[Role.AUDITOR], "/cases", limit=1000)
    assert outside["count"] == 0
    assert outside["data"] == []


def test_the_audit_trail_filters_pages_and_exports_csv_within_scope(
    served: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    server, client, t = served
    cases = server.cases
    district = issue(server, Role.AUDITOR)
    rows = _get(client, district, "/audit", limit=1000)["data"]
    some_case = rows[3]["case_id"]
    middle = rows[len(rows) // 2]["recorded_at"]
    for params in [
        {}, {"case_id": some_case}, {"actor_id": "party-1"}, {"role": "resident"},
        {"role": "community,party_branch"}, {"type": "CaseClosed"},
        {"type": "ResidentRated", "role": "community"}, {"from": middle}, {"to": middle},
        {"after": 50, "limit": 7},
    ]:
        for token in (district, t.auditor, t.resident):
            body = _get(client, token, "/audit", **params)
            kwargs: dict[str, Any] = {
                "case_id": params.get("case_id"), "actor_id": params.get("actor_id"),
                "actor_role": params.get("role", "").split(",") if "role" in params else None,
                "event_type": params.get("type"), "after": params.get("after", 0),
                "limit": params.get("limit", 100),
            }
            if "from" in params:
                kwargs["from_"] = datetime.fromisoformat(params["from"])
            if "to" in params:
                kwargs["to"] = datetime.fromisoformat(params["to"])
            assert body == queries.audit(cases, Scope.of(token.actor), **kwargs), params
    paged = _get(client, district, "/audit", limit=10)
    assert paged["next_after"] == paged["data"][-1]["position"]
    assert {r["case_id"] for r in _get(client, t.resident, "/audit", limit=1000)["data"]} <= {
        c["id"] for c in _get(client, t.resident, "/cases", limit=1000)["data"]
    }

    response = client.get("/audit", params={"format": "csv", "role": "community"},
                          headers=district.headers)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    table = list(csv.reader(io.StringIO(response.text)))
    assert table[0] == list(queries.AUDIT_FIELDS)
    expected = queries.audit(cases, Scope(), actor_role=["community"], limit=1000)
    assert len(table) - 1 == expected["count"]
    assert [int(r[0]) for r in table[1:]] == [r["position"] for r in expected["data"]]


def test_the_figures_answer_for_every_grouping_filter_and_moment_as_the_queries_do(
    served: tuple[LiveServer, httpx.Client, Tokens], clock: ManualClock
) -> None:
    server, client, t = served
    cases = server.cases
    district = issue(server, Role.AUDITOR)
    moments = [START + timedelta(days=d) for d in (1, 10, 40)] + [clock.now()]
    variants: list[dict[str, Any]] = [
        {}, {"group_by": "compound"}, {"group_by": "community,category"},
        {"group_by": "channel", "period": "week"}, {"period": "day"}, {"period": "month"},
        {"period": "quarter", "group_by": "assignee"}, {"period": "year"},
        {"compound": "JX"}, {"community": "C1,C2"}, {"category": "facilities"},
        {"channel": "wechat"}, {"from": (START + timedelta(days=5)).isoformat()},
        {"to": (START + timedelta(days=20)).isoformat()},
    ]
    for moment in moments:
        for params in variants:
            for token in (district, t.community):
                scope = Scope.of(token.actor)
                query = {**params, "as_of": moment.isoformat()}
                kwargs: dict[str, Any] = {
                    "as_of": moment,
                    "compound": params.get("compound", "").split(",") if "compound" in params
                    else None,
                    "community": params.get("community", "").split(",")
                    if "community" in params else None,
                    "category": params.get("category"), "channel": params.get("channel"),
                    "from_": START + timedelta(days=5) if "from" in params else None,
                    "to": START + timedelta(days=20) if "to" in params else None,
                }
                grouping = {"group_by": params.get("group_by", "").split(",")
                            if "group_by" in params else None, "period": params.get("period")}
                closure = _get(client, token, "/stats/closure", **query)
                assert closure == with_group_names(queries.closure(
                    cases, scope, **grouping, **kwargs), cases.directory), query
                rated = _get(client, token, "/stats/satisfaction", **query)
                assert rated == with_group_names(queries.satisfaction(
                    cases, scope, **grouping, **kwargs), cases.directory), query
                if "group_by" not in params and "period" not in params:
                    flow = _get(client, token, "/stats/steps", **query)
                    assert flow == queries.steps(cases, scope, **kwargs), query
    whole = _get(client, district, "/stats/closure")
    assert whole["groups"][0]["reported"] > 10
    assert whole["position"] == whole["head"] == cases.head_position()
    nobody = _get(client, t.outside[Role.COMMUNITY], "/stats/closure", group_by="compound")
    assert nobody["groups"] == []
    nothing = _get(client, t.outside[Role.COMMUNITY], "/stats/closure")
    assert nothing["groups"][0]["reported"] == 0
    assert nothing["groups"][0]["closure_rate"] is None

    for path in ("/stats/closure", "/stats/steps", "/stats/satisfaction"):
        response = client.get(path, params={"format": "csv", "group_by": "compound"}
                              if path != "/stats/steps" else {"format": "csv"},
                              headers=district.headers)
        assert response.status_code == 200, response.text
        table = list(csv.reader(io.StringIO(response.text)))
        body = _get(client, district, path, **({"group_by": "compound"}
                                                 if path != "/stats/steps" else {}))
        assert len(table) - 1 == len(body.get("groups", body.get("steps", [])))
        assert ("group.compound_id" in table[0]) or path == "/stats/steps"


def test_min_position_waits_for_the_projection_and_fails_clearly_when_it_cannot(
    served: tuple[LiveServer, httpx.Client, Tokens], clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    server, client, t = served
    cases = server.cases
    case_id = cases.case_ids().__next__()
    recorded = cases.add_comment(case_id, COMMUNITY, text="read your writes")
    position = recorded.event.position
    assert position is not None
    district = issue(server, Role.AUDITOR)
    response = client.get("/audit", params={"case_id": str(case_id), "min_position": position},
                          headers=district.headers)
    assert response.headers["X-Projection-Reached"] == "true"
    body = response.json()
    assert body["position"] >= position
    assert body["data"][-1]["position"] == position

    # A position the projections cannot reach in time: the answer comes, and says so.
    server.app.state.services[0].stop()
    monkeypatch.setattr(routes_projections, "MAX_WAIT_SECONDS", 0.3)
    later = cases.add_comment(case_id, COMMUNITY, text="not projected yet").event.position
    assert later is not None
    response = client.get("/stats/steps", params={"min_position": later},
                          headers=t.auditor.headers)
    assert response.status_code == 200
    assert response.headers["X-Projection-Reached"] == "false"
    assert response.json()["position"] < later == response.json()["head"]
    beyond = client.get("/cases", params={"min_position": later + 1000},
                        headers=t.auditor.headers)
    assert beyond.headers["X-Projection-Reached"] == "false"
    server.app.state.services[0].start()
    assert _get(client, t.auditor, "/cases", min_position=later)["position"] >= later


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/stats/closure", {"period": "fortnight"}),
        ("/stats/closure", {"group_by": "street"}),
        ("/stats/satisfaction", {"as_of": "2026-03-02T09:00:00"}),
        ("/cases", {"sort": "title"}),
        ("/cases", {"limit": 0}),
        ("/audit", {"format": "xml"}),
        ("/stats/steps", {"from": "yesterday"}),
    ],
)
def test_bad_parameters_are_422_problems(
    served: tuple[LiveServer, httpx.Client, Tokens], path: str, params: dict[str, Any]
) -> None:
    _server, client, t = served
    response = client.get(path, params=params, headers=t.auditor.headers)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("path", ["/cases", "/audit", "/stats/closure", "/stats/steps",
                                  "/stats/satisfaction"])
def test_projection_reads_need_a_token(
    served: tuple[LiveServer, httpx.Client, Tokens], path: str
) -> None:
    _server, client, _t = served
    assert client.get(path).status_code == 401

