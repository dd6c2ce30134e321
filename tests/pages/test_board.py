"""The residents' notice board: no login, no personal data, a phone layout and a print
style sheet (real Chromium)."""

from __future__ import annotations

from uuid import UUID

from playwright.sync_api import Browser

from projections import queries
from tests.pages.conftest import HOME_COMPOUND, Site, shot


def personal_data(site: Site, compound: str) -> list[str]:
    """The reporters' names and phones, and the residents' own descriptions, of every case
    of the compound."""
    cases = site.server.cases
    listed = queries.list_cases(cases, compound=[compound], limit=1000)["data"]
    found: list[str] = []
    for row in listed:
        case = cases.get_case(UUID(row["id"]))
        contact = cases.reporter_of(case) or {}
        found += [str(contact[k]) for k in ("name", "phone") if contact.get(k)]
        found.append(case.description)
    return found


def test_the_board_shows_no_personal_data_and_reads_well_on_a_phone(
    browser: Browser, site: Site
) -> None:
    phone = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True,
                                has_touch=True, device_scale_factor=2, locale="zh-CN")
    phone.route("**/*", site.guard)
    try:
        page = phone.new_page()
        response = page.goto(f"{site.url}/board/{HOME_COMPOUND}")
        assert response is not None
        assert response.status == 200
        assert page.get_attribute("html", "lang") == "zh-CN"
        assert site.names[HOME_COMPOUND] in page.inner_text("h1")
        html = page.content()
        secrets = personal_data(site, HOME_COMPOUND)
        assert len(secrets) > 10
        leaked = [value for value in secrets if value and value in html]
        assert leaked == []
        for section in ("review", "published", "working", "resolved"):
            assert page.locator(f"section#{section} h2").count() == 1
        assert page.locator("article.item").count() > 0, "the demo compound has topics"
        # no sideways scrolling on a phone, and text large enough to read
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        size = page.evaluate("parseFloat(getComputedStyle(document.querySelector('.item p'))"
                             ".fontSize)")
        assert size >= 14
        shot(page, "board-phone-zh")
        page.goto(f"{site.url}/board/{HOME_COMPOUND}?lang=en")
        assert page.get_attribute("html", "lang") == "en"
        shot(page, "board-phone-en")
        page.emulate_media(media="print")
        assert page.evaluate("getComputedStyle(document.querySelector('header .lang')).display"
                             ) == "none"
        shot(page, "board-print-en")
    finally:
        phone.close()
    assert site.left_host == []


def test_an_unknown_compound_has_no_board(browser: Browser, site: Site) -> None:
    page = browser.new_page()
    try:
        response = page.goto(f"{site.url}/board/NO-SUCH")
        assert response is not None
        assert response.status == 404
    finally:
        page.close()
