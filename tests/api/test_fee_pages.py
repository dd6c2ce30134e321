"""The fee and meeting pages: the figures the API gives the same token, within its scope;
bad input is 422 (plain HTTP with the session cookie, no browser)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.credentials import Credentials
from domain.clock import ManualClock
from domain.model import Actor, Role, Step
from tests.api.conftest import LiveServer
from tests.domain.helpers import case_in_step

STAFF = Actor("community-1", Role.COMMUNITY, communities=frozenset({"C1"}))


def login(server: LiveServer, client: httpx.Client, **scope: Any) -> httpx.Client:
    token = Credentials(server.cases.db).create("community", **scope)
    answer = client.post("/dashboard/login", content=f"token={token}",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303, answer.text
    return client


@pytest.fixture
def filled(sqlite_server: LiveServer, clock: ManualClock) -> LiveServer:
    fees = sqlite_server.cases.fees
    year = clock.now().year
    fees.record("JT", "FeePeriodOpened", {"fee_kind": "sanitation", "period": f"{year}-02",
                                          "households_billed": 96, "amount_billed_fen": 96_000},
                STAFF)
    fees.record("JT", "FeesCollected", {"fee_kind": "sanitation", "period": f"{year}-02",
                                        "households": 72, "amount_fen": 72_000,
                                        "day": f"{year}-02-10"}, STAFF)
    case_id = case_in_step(sqlite_server.cases, clock, Step.NEGOTIATE)
    sqlite_server.cases.record(case_id, "MeetingHeld", {
        "attendees": 12, "votes": {"for": 9, "against": 1, "abstain": 2}, "outcome": "agreed",
        "parties": ["community", "police"]}, Actor("owners-1", Role.OWNERS_COMMITTEE,
                                                   frozenset({"JX"})))
    return sqlite_server


def test_the_fee_page_shows_the_apis_rates_for_the_readers_scope(
    filled: LiveServer, client_for: Any, clock: ManualClock,
) -> None:
    client = login(filled, client_for(filled), communities=["C1"])
    page = client.get("/dashboard/fees")
    assert page.status_code == 200
    assert "涧田集资楼" in page.text
    assert "75.0%" in page.text  # 72 / 96
    assert "卫生费" in page.text
    far = login(filled, httpx.Client(base_url=filled.url), communities=["C9"])
    assert "涧田集资楼" not in far.get("/dashboard/fees").text
    assert client.get("/dashboard/fees?year=1999").status_code == 422
    far.close()


def test_the_meeting_page_counts_the_months_meetings_and_parties(
    filled: LiveServer, client_for: Any, clock: ManualClock,
) -> None:
    client = login(filled, client_for(filled), communities=["C1"])
    page = client.get("/dashboard/meetings")
    assert page.status_code == 200
    assert 'data-field="joint_meetings">1<' in page.text
    assert 'data-party="police">1<' in page.text
    assert client.get("/dashboard/meetings?month=2026-13").status_code == 422
    assert client.get("/dashboard/meetings?month=2001-01").status_code == 200
