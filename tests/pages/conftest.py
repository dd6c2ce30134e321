"""One demo district, one server and one real browser for every page test (session-wide).

The browser is Debian's Chromium (``/usr/bin/chromium``, or ``YISHI_TEST_CHROMIUM``) driven
by Playwright for Python through ``executable_path``: ``playwright install`` is never run.
Without the browser the run fails with a message saying how to install it; it never skips.
Every request the browser makes is routed through ``Site.guard``: one that leaves
127.0.0.1 is aborted and recorded, and the ``offline`` fixture fails the test that caused
it. Screenshots go to ``test-output/pages/`` (not committed).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Route, sync_playwright

from api.http.settings import Settings
from api.pages.names import fixed_names
from domain.clock import ManualClock
from domain.model import Role
from projections.service import rebuild
from simulation.district import build_district
from simulation.driver import generate
from tests.api.conftest import LiveServer, Token, issue
from tests.conftest import POSTGRES_BASE

CHROMIUM = os.environ.get("YISHI_TEST_CHROMIUM", "/usr/bin/chromium")
OUTPUT = Path(__file__).resolve().parents[2] / "test-output" / "pages"
#: The demo district's "now": the figures and the pages are read at this moment.
NOW = datetime(2026, 11, 20, 4, 0, tzinfo=UTC)
CASES = 400
SEED = 7
HOME = "C01"  # the community the scoped tokens belong to
HOME_COMPOUND = "C01-01"


@dataclass
class Site:
    server: LiveServer
    tokens: dict[str, Token]
    names: dict[str, str]
    left_host: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def guard(self, route: Route) -> None:
        host = urlsplit(route.request.url).hostname
        if route.request.url.startswith(("data:", "blob:")) or host == "127.0.0.1":
            route.continue_()
            return
        self.left_host.append(route.request.url)
        route.abort()


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not (Path(CHROMIUM).is_file() or shutil.which(CHROMIUM)):
        pytest.fail(
            f"the browser tests need Chromium at {CHROMIUM} and it is not there. Install it "
            "(Debian: apt-get install -y --no-install-recommends chromium fonts-noto-cjk) or "
            "set YISHI_TEST_CHROMIUM; never `playwright install`.",
            pytrace=False,
        )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM,
                                              args=["--no-sandbox", "--disable-gpu"])
        yield launched
        launched.close()


@pytest.fixture(scope="session")
def site(pg_schema_factory: Callable[[], str]) -> Iterator[Site]:
    """A demo district on PostgreSQL, projected, served; a token per role in community C01
    (compound C01-01 for the compound roles), one district-wide auditor and admin, and a
    community token of another community."""
    url = f"{POSTGRES_BASE}?schema={pg_schema_factory()}"
    settings = Settings(database_url=url, clock=ManualClock(NOW), projections=False)
    server = LiveServer(settings)
    district = build_district(SEED)
    names = {c.id: c.name for c in district.communities}
    names.update({c.id: c.name for c in district.compounds})
    server.app.state.unit_names = fixed_names(names)
    server.start()
    generate(server.cases, cases=CASES, seed=SEED, now=NOW)
    rebuild(server.cases)
    tokens = {
        "community": issue(server, Role.COMMUNITY, communities=[HOME], name="阳光社区工作站"),
        "grid_worker": issue(server, Role.GRID_WORKER, compounds=[HOME_COMPOUND], name="网格员"),
        "party_branch": issue(server, Role.PARTY_BRANCH, compounds=[HOME_COMPOUND]),
        "property_company": issue(server, Role.PROPERTY_COMPANY, compounds=[HOME_COMPOUND]),
        "resident": issue(server, Role.RESIDENT, compounds=[HOME_COMPOUND]),
        "auditor": issue(server, Role.AUDITOR, name="街道审计"),
        "admin": issue(server, Role.ADMIN),
        "other_community": issue(server, Role.COMMUNITY, communities=["C02"]),
    }
    OUTPUT.mkdir(parents=True, exist_ok=True)
    try:
        yield Site(server, tokens, names)
    finally:
        server.stop()


@pytest.fixture
def context(browser: Browser, site: Site) -> Iterator[BrowserContext]:
    """A fresh browser profile (no cookies) whose requests may not leave 127.0.0.1."""
    made = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                               timezone_id="Asia/Shanghai")
    made.route("**/*", site.guard)
    made.set_default_timeout(15_000)
    yield made
    made.close()


@pytest.fixture
def page(context: BrowserContext) -> Page:
    return context.new_page()


@pytest.fixture(autouse=True)
def offline(request: pytest.FixtureRequest) -> Iterator[None]:
    """After each page test: nothing was requested from another host."""
    if "site" not in request.fixturenames:
        yield
        return
    site: Site = request.getfixturevalue("site")
    before = len(site.left_host)
    yield
    assert site.left_host[before:] == [], "requests left 127.0.0.1"


def login(page: Page, site: Site, role: str, lang: str = "zh") -> None:
    """Log in through the form, as a person does."""
    suffix = "?lang=en" if lang == "en" else ""
    page.goto(f"{site.url}/dashboard/login{suffix}")
    page.fill("#token", site.tokens[role].token)
    page.click("form button[type=submit]")
    page.wait_for_url(f"{site.url}/dashboard**")


def shot(page: Page, name: str, **options: Any) -> None:
    page.screenshot(path=str(OUTPUT / f"{name}.png"), full_page=True, **options)
