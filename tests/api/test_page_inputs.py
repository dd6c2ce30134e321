"""The pages refuse bad input as the API does (422 problem details), never with a 500 or a
cut download: an unknown filter value, a month outside the years yishi accepts. Plain HTTP
with the session cookie, no browser needed."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from api.credentials import Credentials
from tests.api.conftest import LiveServer


@pytest.fixture
def session(sqlite_server: LiveServer, client_for: Any) -> httpx.Client:
    token = Credentials(sqlite_server.cases.db).create("community", communities=["C1"])
    client: httpx.Client = client_for(sqlite_server)
    answer = client.post("/dashboard/login", content=f"token={token}",
                         headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 303, answer.text
    return client


@pytest.mark.parametrize("path", [
    "/dashboard/cases?step=foo", "/dashboard/cases?category=Parking",
    "/dashboard/cases?channel=x", "/dashboard/audit?role=foo", "/dashboard/audit?type=foo",
    "/dashboard/cases.csv?step=foo", "/dashboard/audit.csv?role=foo",
    "/dashboard?month=0001-01", "/dashboard?month=9999-12", "/dashboard/rankings?month=0001-01",
    "/dashboard/rankings?month=9999-12",
])
def test_bad_page_input_is_422_never_500(session: httpx.Client, path: str) -> None:
    answer = session.get(path)
    assert answer.status_code == 422, (path, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("application/problem+json")


def test_a_good_month_and_filter_still_answer(session: httpx.Client) -> None:
    assert session.get("/dashboard?month=2026-10").status_code == 200
    answer = session.get("/dashboard/cases.csv?step=collect")
    assert answer.status_code == 200
    assert answer.content.startswith("\ufeff".encode())


@pytest.mark.parametrize("code", ["S1", "C1", "JX-G1", "LC", "NO-SUCH"])
def test_the_notice_board_is_for_compounds_only(sqlite_server: LiveServer, client_for: Any,
                                                 code: str) -> None:
    client: httpx.Client = client_for(sqlite_server)
    assert client.get("/board/JX").status_code == 200
    answer = client.get(f"/board/{code}")  # a street, community, grid, provider, nothing
    assert answer.status_code == 404, (code, answer.text[:300])
