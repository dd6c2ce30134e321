"""The pages refuse bad input with 422, never with a 500 or a cut download: an unknown
filter value, a month outside the years yishi accepts. A client that does not accept HTML
(and every ``.csv`` download) gets the API's problem details; a browser gets a page in the
page's language (docs/adr/0086-page-input-errors.md). An empty month or year is the current
one. Plain HTTP with the session cookie, no browser needed."""

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
    "/dashboard/rankings?month=9999-12", "/dashboard?month=1999-01",
    "/dashboard/fees?year=1999", "/dashboard/cases?overdue=maybe",
])
def test_bad_page_input_is_422_never_500(session: httpx.Client, path: str) -> None:
    answer = session.get(path)
    assert answer.status_code == 422, (path, answer.status_code, answer.text[:300])
    assert answer.headers["content-type"].startswith("application/problem+json")
    browser = session.get(path, headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 422, (path, browser.status_code)
    if path.split("?", maxsplit=1)[0].endswith(".csv"):  # a download stays machine-readable
        assert browser.headers["content-type"].startswith("application/problem+json")
    else:
        assert browser.headers["content-type"].startswith("text/html"), path
        assert "输入有误" in browser.text
        assert "errors 字段" not in browser.text
        field = path.split("?")[1].split("=", maxsplit=1)[0]
        assert f'data-field="{field}"' in browser.text


def test_a_filter_forms_htmx_request_is_sent_to_the_refusal_page(
        session: httpx.Client) -> None:
    answer = session.get("/dashboard/cases?step=foo", headers={"HX-Request": "true"})
    assert answer.status_code == 422
    assert answer.headers["HX-Redirect"] == "/dashboard/cases?step=foo"
    assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize("path", [
    "/dashboard?month=", "/dashboard/rankings?month=", "/dashboard/points?month=",
    "/dashboard/meetings?month=", "/dashboard/fees?year=", "/dashboard/cases?overdue=",
    "/dashboard/cases?overdue=1", "/dashboard/cases?overdue=no",
])
def test_an_empty_month_or_year_and_the_apis_booleans_are_accepted(
        session: httpx.Client, path: str) -> None:
    answer = session.get(path, headers={"Accept": "text/html"})
    assert answer.status_code == 200, (path, answer.status_code, answer.text[:300])


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
