"""Every figure on the overview and the rankings is the API's figure for the same scope
and month; another community's cases and names never appear (real Chromium)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from api.pages import formats
from tests.pages.conftest import HOME, Site, login


def api(site: Site, role: str, path: str, **params: Any) -> dict[str, Any]:
    answer = httpx.get(f"{site.url}{path}", params=params,
                       headers=site.tokens[role].headers, timeout=30)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


def card(page: Page, key: str) -> dict[str, str | None]:
    element = page.locator(f"[data-kpi={key}]")
    return {"value": element.locator(".value").inner_text(),
            "numerator": element.get_attribute("data-numerator"),
            "denominator": element.get_attribute("data-denominator")}


@pytest.mark.parametrize(("role", "month", "lang"), [
    ("community", "2026-10", "zh"), ("auditor", "2026-09", "en"), ("community", None, "zh"),
    ("grid_worker", "2026-06", "zh"),
])
def test_each_kpi_equals_the_api_for_the_same_scope_and_month(
    page: Page, site: Site, role: str, month: str | None, lang: str
) -> None:
    login(page, site, role, lang)
    query = f"?month={month}" if month else ""
    page.goto(f"{site.url}/dashboard{query}{'&' if month else '?'}lang={lang}"
              if lang == "en" else f"{site.url}/dashboard{query}")
    chosen = month or "2026-11"  # the demo's now is 2026-11-20
    start, end = formats.month_bounds(chosen)
    window = {"from": start.isoformat(), "to": end.isoformat()}
    (closure,) = api(site, role, "/stats/closure", **window)["groups"]
    (satisfaction,) = api(site, role, "/stats/satisfaction", **window)["groups"]
    if role != "grid_worker":  # one compound may have had no case that month
        assert closure["reported"] > 0, "the month should have cases for the test to mean much"
    shown = card(page, "reported")
    assert shown["value"] == str(closure["reported"])
    expected = {
        "closure_rate": (closure["closure_rate"], closure["closed"], closure["reported"]),
        "resolved_rate": (closure["resolved_rate"], closure["closed_by_resolution"]["resolved"],
                          closure["closed"]),
        "response_rate": (closure["response_rate"], closure["responded"], closure["reported"]),
        "satisfaction_rate": (satisfaction["satisfaction_rate"],
                              satisfaction["satisfied"] + satisfaction["basically_satisfied"],
                              satisfaction["ratings"]),
    }
    for key, (rate, numerator, denominator) in expected.items():
        shown = card(page, key)
        assert shown["value"] == formats.percent(rate, "zh"), key
        assert (shown["numerator"], shown["denominator"]) == (str(numerator), str(denominator))
    on_time = card(page, "on_time_rate")
    assert on_time["value"] == formats.percent(closure["on_time_rate"], "zh")
    assert on_time["denominator"] == str(closure["closed"])
    reopen = card(page, "reopen_rate")
    assert reopen["value"] == formats.percent(closure["reopen_rate"], "zh")
    assert reopen["numerator"] == str(closure["reopened"])
    steps = api(site, role, "/stats/steps")["steps"]
    assert card(page, "overdue")["value"] == str(sum(s["overdue"] for s in steps))
    # the change from last month is the difference of the two months' API rates
    before_start = formats.shift_month(start, -1)
    (previous,) = api(site, role, "/stats/closure", **{
        "from": before_start.isoformat(), "to": start.isoformat()})["groups"]
    change = page.locator("[data-kpi=closure_rate] .change").inner_text()
    expected_change = formats.change(closure["closure_rate"], previous["closure_rate"])
    assert (expected_change or "上月无数据") in change
    # the trend chart was drawn (SVG, in the DOM) from the same months
    assert page.locator("#chart-cases[data-rendered=true] svg").count() == 1


def test_rankings_show_the_apis_figures_by_name_and_flag_low_rates(page: Page, site: Site) -> None:
    login(page, site, "auditor")
    page.goto(f"{site.url}/dashboard/rankings?month=2026-10")
    start, end = formats.month_bounds("2026-10")
    groups = api(site, "auditor", "/stats/closure", group_by="community",
                 **{"from": start.isoformat(), "to": end.isoformat()})["groups"]
    sat = {g["group"]["community_id"]: g for g in api(
        site, "auditor", "/stats/satisfaction", group_by="community",
        **{"from": start.isoformat(), "to": end.isoformat()})["groups"]}
    table = page.locator("table[data-kind=community]")
    assert table.locator("tbody tr").count() == len(groups)
    for group in groups:
        code = group["group"]["community_id"]
        row = table.locator(f"tr[data-code='{code}']")
        assert row.locator("th").inner_text() == site.names[code]
        cells = row.locator("td").all_inner_texts()
        assert cells[1:3] == [str(group["reported"]), str(group["closed"])]
        assert cells[3].split(" ")[0] == formats.percent(group["closure_rate"], "zh")
        rate = sat.get(code, {}).get("satisfaction_rate")
        assert cells[7].split(" ")[0] == formats.percent(rate, "zh")
        flagged = "▼" in cells[7]
        assert flagged == (rate is not None and rate < 0.85)
    # sorting by a column is a click (a button, so a keyboard works too)
    header = table.locator("thead th").nth(3)
    header.locator("button").click()
    assert header.get_attribute("aria-sort") == "ascending"
    values = [int(v) for v in table.locator("tbody tr td:nth-of-type(3)").all_inner_texts()]
    assert values == sorted(values)


def test_another_communitys_cases_and_names_never_appear(page: Page, site: Site) -> None:
    login(page, site, "community")
    others = {code: name for code, name in site.names.items()
              if not code.startswith(HOME) and "社区" in name}
    for path in ("/dashboard", "/dashboard/rankings?month=2026-10", "/dashboard/flow",
                 "/dashboard/cases", "/dashboard/audit", "/dashboard/fees?year=2026",
                 "/dashboard/meetings?month=2026-10"):
        page.goto(site.url + path)
        html = page.content()
        for code, name in others.items():
            assert name not in html, (path, code)
    page.goto(f"{site.url}/dashboard/cases")
    communities = page.locator("tr[data-case]").evaluate_all(
        "rows => rows.map(r => r.dataset.community)")
    assert communities
    assert set(communities) == {HOME}
    compounds = page.locator("table[data-kind=compound] tr[data-code]")
    page.goto(f"{site.url}/dashboard/rankings?month=2026-10")
    assert all(code.startswith(HOME + "-") for code in compounds.evaluate_all(
        "rows => rows.map(r => r.dataset.code)"))
    # a case of another community is not found (as the API answers 404)
    other = api(site, "other_community", "/cases", limit=1)["data"][0]
    response = page.goto(f"{site.url}/dashboard/cases/{other['id']}")
    assert response is not None
    assert response.status == 404
    assert other["title"] not in page.content()
