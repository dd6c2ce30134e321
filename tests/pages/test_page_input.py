"""What a new user met on the dashboard (real Chromium): an emptied month or year box means
the current one; a bad address value is a page (422) in the page's language naming the
field and what it takes, never a JSON document; ``overdue`` takes the API's booleans; the
audit trail's summaries are in the page's language as on the case page; months read alike
on every page."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from playwright.sync_api import Page

from api.pages import formats
from tests.pages.conftest import Site, login

FORMS = [("/dashboard", "#month"), ("/dashboard/rankings", "#month"),
         ("/dashboard/points", "#month"), ("/dashboard/meetings", "#month"),
         ("/dashboard/fees", "#year")]


@pytest.mark.parametrize(("path", "box"), FORMS)
def test_an_emptied_month_or_year_box_means_the_current_one(page: Page, site: Site, path: str,
                                                            box: str) -> None:
    login(page, site, "community")
    page.goto(site.url + path)
    page.fill(box, "")
    with page.expect_navigation() as navigation:
        page.click("form.month button[type=submit]")
    response = navigation.value
    assert response is not None
    assert response.status == 200, page.content()[:500]
    assert page.input_value(box) == ("2026" if box == "#year" else "2026-11")
    assert "errors" not in page.content()


@pytest.mark.parametrize(("path", "field", "lang", "words"), [
    ("/dashboard?month=1999-01", "month", "zh", ["输入有误", "月份", "1999-01", "2000-01"]),
    ("/dashboard/rankings?month=x", "month", "en", ["Invalid input", "month", "2000-01"]),
    ("/dashboard/fees?year=1999", "year", "zh", ["年份", "2099"]),
    ("/dashboard/cases?step=foo", "step", "zh", ["步骤", "foo", "collect"]),
    ("/dashboard/cases?step=foo", "step", "en", ["step", "one of", "collect"]),
    ("/dashboard/cases?overdue=maybe", "overdue", "zh", ["超期", "true"]),
    ("/dashboard/audit?role=foo", "role", "zh", ["角色", "foo"]),
    ("/dashboard/audit?from=yesterday", "from", "en", ["YYYY-MM-DD"]),
])
def test_a_bad_value_is_a_page_naming_the_field(page: Page, site: Site, path: str, field: str,
                                                lang: str, words: list[str]) -> None:
    login(page, site, "community", lang)
    address = site.url + path + ("&lang=en" if lang == "en" else "")
    response = page.goto(address)
    assert response is not None
    assert response.status == 422
    assert response.headers["content-type"].startswith("text/html")
    assert page.locator(f"li[data-field='{field}']").count() == 1
    text = page.locator("main").inner_text()
    for word in words:
        assert word in text, (word, text)
    assert "errors" not in text
    assert page.locator("nav a").count() > 0  # still the dashboard, with its menu


def test_downloads_and_programs_still_get_problem_details(site: Site) -> None:
    headers = {**site.tokens["community"].headers, "Accept": "text/html"}
    with httpx.Client(base_url=site.url, timeout=30) as client:
        login_answer = client.post("/dashboard/login",
                                   data={"token": site.tokens["community"].token})
        assert login_answer.status_code == 303
        for path in ("/dashboard/cases.csv?step=foo", "/dashboard/audit.csv?role=foo"):
            answer = client.get(path, headers=headers)
            assert answer.status_code == 422
            assert answer.headers["content-type"].startswith("application/problem+json")
        answer = client.get("/dashboard?month=1999-01", headers={"Accept": "application/json"})
        assert answer.status_code == 422
        assert answer.headers["content-type"].startswith("application/problem+json")


def _listed(page: Page, site: Site, query: str) -> list[str]:
    page.goto(f"{site.url}/dashboard/cases?{query}")
    ids: list[str] = page.locator("tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.case)")
    return ids


def test_overdue_takes_the_apis_booleans(page: Page, site: Site) -> None:
    login(page, site, "community")
    overdue = _listed(page, site, "overdue=true")
    everything = _listed(page, site, "")
    assert overdue
    assert overdue != everything
    for spelling in ("1", "yes", "on", "TRUE"):
        assert _listed(page, site, f"overdue={spelling}") == overdue, spelling
        assert page.is_checked("#f-overdue")
    not_overdue = _listed(page, site, "overdue=0")
    assert not_overdue
    assert not set(not_overdue) & set(overdue)
    assert _listed(page, site, "overdue=") == everything


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_audit_trail_summarises_as_the_case_page(page: Page, site: Site, lang: str) -> None:
    login(page, site, "community", lang)
    suffix = "&lang=en" if lang == "en" else ""
    page.goto(f"{site.url}/dashboard/audit?type=MeetingScheduled{suffix}")
    rows = page.locator("tbody tr")
    assert rows.count() > 0
    first = rows.first.locator("td").last.inner_text()
    trail = [rows.nth(i).locator("td").last.inner_text() for i in range(rows.count())]
    case_id = rows.first.locator("a[href*='/dashboard/cases/']").first.get_attribute("href")
    assert case_id is not None
    page.goto(site.url + case_id)
    assert first in page.locator("main").inner_text()
    if lang == "zh":
        assert all("协商会议定于" in line and "meeting scheduled" not in line for line in trail)
        assert all("+00:00" not in line for line in trail)
    else:
        assert all(line.startswith("meeting scheduled for") for line in trail)
    answer = page.request.get(f"{site.url}/dashboard/audit.csv?type=MeetingScheduled{suffix}")
    table = list(csv.reader(io.StringIO(answer.text().lstrip("\ufeff"))))
    summaries = [row[9] for row in table[1:]]
    assert summaries[:len(trail)] == trail


@pytest.mark.parametrize(("lang", "label"), [("zh", "2026年10月"), ("en", "October 2026")])
def test_months_read_alike_on_every_page(page: Page, site: Site, lang: str, label: str) -> None:
    login(page, site, "community", lang)
    suffix = "&lang=en" if lang == "en" else ""
    for path in ("/dashboard", "/dashboard/rankings", "/dashboard/points",
                 "/dashboard/meetings"):
        page.goto(f"{site.url}{path}?month=2026-10{suffix}")
        heading = page.locator("h1").first.inner_text()
        assert label in heading, (path, heading)
        assert "2026-10" not in heading, (path, heading)
    page.goto(f"{site.url}/dashboard/fees?year=2026{suffix}")
    for row in page.locator("tr[data-period]").all():
        period = row.get_attribute("data-period") or ""
        if len(period) == 7:  # a month of the year's fees reads as the other pages' months
            assert row.locator("th").inner_text() == formats.month_label(period, lang)
