"""Bounds over HTTP (docs/adr/0041-bounds.md): a value out of range is 422 naming it and
stores nothing; every time in a query is checked the same way, so no time from the whole
representable range can make a read answer 500; the OpenAPI document publishes each
integer's range."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.app import create_app
from api.http.settings import Settings
from domain.bounds import EARLIEST, JSON_SAFE_INTEGER, LATEST
from domain.clock import ManualClock
from domain.model import Step
from tests.api.conftest import LiveServer, Tokens, make_tokens
from tests.stories import advance, open_case


@pytest.fixture
def live(sqlite_server: LiveServer, client_for: Any) -> tuple[LiveServer, httpx.Client, Tokens]:
    return sqlite_server, client_for(sqlite_server), make_tokens(sqlite_server)


def test_a_number_too_large_is_422_and_stores_nothing(
    live: tuple[LiveServer, httpx.Client, Tokens], clock: ManualClock
) -> None:
    server, client, tokens = live
    case_id = open_case(server.cases)
    advance(server.cases, clock, case_id, Step.NEGOTIATE)
    before = server.cases.get_case(case_id).version
    for attendees, votes in ((18446744073709551616, 1), (100_001, 1), (3, 2**53), (3, -1)):
        body = {"type": "MeetingHeld", "data": {
            "attendees": attendees, "votes": {"for": votes, "against": 0, "abstain": 0},
            "outcome": "agreed"}}
        headers = {**tokens.owners_committee.headers,
                   "Idempotency-Key": f"k-{attendees}-{votes}"}
        for _attempt in range(2):  # a retry with the same key is refused the same way
            answer = client.post(f"/cases/{case_id}/events", json=body, headers=headers)
            assert answer.status_code == 422, answer.text
            assert answer.headers["content-type"].startswith("application/problem+json")
            named = {e["field"].removeprefix("body.").removeprefix("data.")
                     for e in answer.json()["errors"]}
            assert named & {"attendees", "votes.for"}, named
    assert server.cases.get_case(case_id).version == before


def test_event_times_outside_the_bounds_are_422(
    live: tuple[LiveServer, httpx.Client, Tokens], clock: ManualClock
) -> None:
    server, client, tokens = live
    case_id = open_case(server.cases)
    advance(server.cases, clock, case_id, Step.PRE_CONSULT)
    server.cases.consult_stakeholder(case_id, tokens.community.actor, party="物业", opinion="好")
    before = server.cases.get_case(case_id).version
    for when in ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59-23:59", "2100-01-02T00:00:00Z",
                 "1999-12-31T15:59:59Z"):
        answer = client.post(f"/cases/{case_id}/events", headers=tokens.community.headers,
                             json={"type": "MeetingScheduled",
                                   "data": {"scheduled_at": when, "venue": "议事厅"}})
        assert answer.status_code == 422, (when, answer.text)
        assert "scheduled_at" in answer.text
    assert server.cases.get_case(case_id).version == before


TIME_READS = ["/stats/closure", "/stats/steps", "/stats/satisfaction", "/cases", "/audit",
              "/cases/{case}"]
offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes)))


def _inside(moment: datetime) -> bool:
    try:
        return EARLIEST <= moment <= LATEST
    except OverflowError:
        return False


def test_query_times_from_the_whole_representable_range_never_answer_500(
    live: tuple[LiveServer, httpx.Client, Tokens],
) -> None:
    server, client, tokens = live
    case_id = open_case(server.cases)
    headers = tokens.auditor.headers
    params_of = {"/cases": ("from", "to"), "/audit": ("from", "to"), "/cases/{case}": ("as_of",)}

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=offsets),
           st.sampled_from(TIME_READS), st.data())
    def check(moment: datetime, path: str, data: st.DataObject) -> None:
        name = data.draw(st.sampled_from(params_of.get(path, ("from", "to", "as_of"))))
        url = path.replace("{case}", str(case_id))
        answer = client.get(url, params={name: moment.isoformat()}, headers=headers)
        assert answer.status_code != 500, (url, answer.text)
        if not _inside(moment):
            assert answer.status_code == 422, (url, answer.text)
            assert name in answer.text
        else:
            assert answer.status_code in (200, 404), (url, answer.text)

    check()


def test_the_openapi_document_publishes_every_integer_range() -> None:
    document = create_app(Settings(database_url="memory:")).openapi()
    found = 0

    def walk(node: Any, where: str) -> None:
        nonlocal found
        if isinstance(node, dict):
            if node.get("type") == "integer" and "/components/schemas/" in where:
                found += 1
                assert "minimum" in node, where
                assert "maximum" in node, where
                assert -JSON_SAFE_INTEGER <= node["minimum"] <= node["maximum"] \
                    <= JSON_SAFE_INTEGER, where
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk({k: v for k, v in document["components"]["schemas"].items() if k.endswith("Data")
          or k == "Votes"}, "/components/schemas")
    assert found >= 7  # attendees, three votes, publicity_days, percent, cost_fen
