"""Logging in with tokens of several roles; the cookie; logout; revocation (real Chromium)."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import Page

from api.i18n import label
from domain.model import Role
from tests.api.conftest import issue
from tests.pages.conftest import Site, login, shot


@pytest.mark.parametrize("role", ["community", "grid_worker", "resident", "auditor", "admin"])
def test_every_role_logs_in_and_sees_its_role(page: Page, site: Site, role: str) -> None:
    login(page, site, role)
    assert page.url.startswith(f"{site.url}/dashboard")
    assert label("role", site.tokens[role].actor.role, "zh") in page.inner_text("header .who")
    assert page.locator("[data-kpi=closure_rate]").count() == 1


def test_the_session_cookie_is_httponly_strict_and_for_the_pages_only(
    page: Page, site: Site
) -> None:
    login(page, site, "community")
    (cookie,) = [c for c in page.context.cookies() if c["name"] == "yishi_session"]
    assert cookie["httpOnly"] is True
    assert cookie["sameSite"] == "Strict"
    assert cookie["path"] == "/dashboard"
    assert 7.9 * 3600 < cookie["expires"] - page.evaluate("Date.now() / 1000") <= 8 * 3600
    assert page.evaluate("document.cookie") == ""  # no script can read it
    # The API never takes the cookie: only a bearer token.
    answer = httpx.get(f"{site.url}/cases", cookies={"yishi_session": cookie["value"]})
    assert answer.status_code == 401


def test_a_bad_token_is_refused_and_sets_nothing(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/dashboard/login")
    shot(page, "login-zh")
    page.fill("#token", "yst_not-a-token")
    page.click("form button[type=submit]")
    assert page.locator("[role=alert]").inner_text() == "令牌无效或已被吊销。"
    assert page.context.cookies() == []
    page.goto(f"{site.url}/dashboard")
    assert page.url.startswith(f"{site.url}/dashboard/login")


def test_pages_send_a_stranger_to_the_login_and_back(page: Page, site: Site) -> None:
    page.goto(f"{site.url}/dashboard/flow?lang=en")
    assert page.url.startswith(f"{site.url}/dashboard/login")
    assert page.get_attribute("html", "lang") == "en"
    shot(page, "login-en")
    page.fill("#token", site.tokens["auditor"].token)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{site.url}/dashboard/flow**")
    assert page.locator("tr[data-step]").count() == 8


def test_logout_ends_the_session(page: Page, site: Site) -> None:
    login(page, site, "auditor")
    cookie = next(c for c in page.context.cookies() if c["name"] == "yishi_session")
    page.click("form.logout button")
    page.wait_for_url(f"{site.url}/dashboard/login**")
    assert page.locator("[role=status]").inner_text() == "您已退出登录。"
    # The old cookie value no longer opens a page, even if a copy was kept.
    again = httpx.get(f"{site.url}/dashboard", cookies={"yishi_session": cookie["value"]},
                      follow_redirects=False)
    assert again.status_code == 303
    assert again.headers["location"].startswith("/dashboard/login")


def test_revoking_the_token_ends_its_sessions(page: Page, site: Site) -> None:
    token = issue(site.server, Role.COMMUNITY, communities=["C01"])
    page.goto(f"{site.url}/dashboard/login")
    page.fill("#token", token.token)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{site.url}/dashboard")
    assert site.server.credentials.revoke(token.actor.id)
    page.goto(f"{site.url}/dashboard/cases")
    assert page.url.startswith(f"{site.url}/dashboard/login")


def test_a_browser_at_the_root_goes_to_the_login_and_a_program_gets_an_index(
    page: Page, site: Site
) -> None:
    page.goto(f"{site.url}/")
    assert page.url.startswith(f"{site.url}/dashboard/login")
    index = httpx.get(f"{site.url}/", headers={"Accept": "application/json"})
    assert index.status_code == 200
    assert index.json()["docs"] == "/docs"
    assert index.json()["dashboard"] == "/dashboard"
