"""Each page in both languages (with screenshots), the case page, the CSV downloads and the
offline docs (real Chromium)."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page

from api.pages import routes_audit, routes_cases
from api.pages.formats import china_time
from tests.pages.conftest import HOME, Site, login, shot

PAGES = {
    "overview": "/dashboard?month=2026-10",
    "rankings": "/dashboard/rankings?month=2026-10",
    "flow": "/dashboard/flow",
    "cases": "/dashboard/cases",
    "audit": "/dashboard/audit",
    "fees": "/dashboard/fees?year=2026",
    "meetings": "/dashboard/meetings?month=2026-10",
}
TITLES = {"zh": {"overview": "总览", "rankings": "排名", "flow": "流程", "cases": "案件",
                 "audit": "审计轨迹", "case": "八步进程", "fees": "收取率", "meetings": "联席会议"},
          "en": {"overview": "Overview", "rankings": "Rankings", "flow": "Flow through the steps",
                 "cases": "Cases", "audit": "Audit trail", "case": "The eight steps",
                 "fees": "Fee collection", "meetings": "Joint meetings"}}


def api(site: Site, role: str, path: str, **params: Any) -> Any:
    answer = httpx.get(f"{site.url}{path}", params=params, headers=site.tokens[role].headers,
                       timeout=30)
    assert answer.status_code == 200, answer.text
    return answer.json()


def a_case(site: Site, role: str = "community") -> dict[str, Any]:
    """The case of the reader's scope with the most events (a long, instructive history)."""
    listed = api(site, role, "/cases", limit=200, sort="-updated_at")["data"]
    return max(listed, key=lambda row: (row["version"], row["id"]))


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_renders_in_its_language(page: Page, site: Site, lang: str) -> None:
    login(page, site, "community", lang)
    suffix = "&lang=en" if lang == "en" else ""
    for name, path in PAGES.items():
        joined = path + (suffix if "?" in path else suffix.replace("&", "?", 1))
        response = page.goto(site.url + joined)
        assert response is not None
        assert response.status == 200, name
        assert page.get_attribute("html", "lang") == ("zh-CN" if lang == "zh" else "en")
        assert TITLES[lang][name] in page.inner_text("h1")
        # every link of the header keeps the language
        for href in page.locator("header nav a").evaluate_all("a => a.map(x => x.href)"):
            assert ("lang=en" in href) == (lang == "en"), href
        shot(page, f"{name}-{lang}")
    case = a_case(site)
    page.goto(f"{site.url}/dashboard/cases/{case['id']}" + ("?lang=en" if lang == "en" else ""))
    assert TITLES[lang]["case"] in page.inner_text("main")
    shot(page, f"case-{lang}")
    # the switch in the header goes to the same page in the other language
    page.click("header a.lang")
    assert page.get_attribute("html", "lang") == ("en" if lang == "zh" else "zh-CN")
    assert case["id"] in page.url


def test_the_case_page_shows_every_event_and_the_chain_check(page: Page, site: Site) -> None:
    login(page, site, "community")
    case = a_case(site)
    events = api(site, "community", f"/cases/{case['id']}/events")["events"]
    page.goto(f"{site.url}/dashboard/cases/{case['id']}")
    rows = page.locator("table.events tbody tr")
    assert rows.count() == len(events) == case["version"]
    assert rows.evaluate_all("rs => rs.map(r => [+r.dataset.version, r.dataset.type])") == [
        [e["version"], e["type"]] for e in events]
    first = rows.first.locator("td").all_inner_texts()
    assert first[3] == "居民" or first[3] in ("网格员", "社区")  # the role, named
    assert page.locator("[data-chain=valid]").count() == 1
    assert page.locator("ol.timeline li").count() == 8
    # times in China time: the first event's time is its UTC time + 8 h
    assert first[1] == china_time(events[0]["recorded_at"], zone=False)


def test_the_reporters_contact_is_masked_for_roles_that_may_not_read_it(
    page: Page, site: Site
) -> None:
    login(page, site, "party_branch")
    case = a_case(site, "party_branch")
    shown = api(site, "party_branch", f"/cases/{case['id']}")["reporter"]
    page.goto(f"{site.url}/dashboard/cases/{case['id']}")
    if shown and not shown.get("erased"):
        assert shown["masked"] is True
        assert page.inner_text(".reporter") == f"{shown['name']} {shown['phone']}"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_csv_downloads_open_with_the_right_header_row(page: Page, site: Site, lang: str) -> None:
    login(page, site, "community", lang)
    headers = {
        "cases": {"zh": ["案件编号", "标题", "当前步骤", "状态"],
                  "en": ["Case id", "Title", "Step", "Status"]},
        "audit": {"zh": ["全局序号", "案件编号", "版本", "事件"],
                  "en": ["Position", "Case id", "Version", "Event"]},
    }
    suffix = "?lang=en" if lang == "en" else ""
    for name in ("cases", "audit"):
        page.goto(f"{site.url}/dashboard/{name}?step=implement" if name == "cases" and not suffix
                  else f"{site.url}/dashboard/{name}{suffix}")
        with page.expect_download() as started:
            page.click("a.download")
        raw = Path(started.value.path()).read_bytes()
        assert raw.startswith(b"\xef\xbb\xbf"), "UTF-8 with a BOM, for Excel"
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
        assert rows[0][:4] == headers[name][lang]
        assert len(rows) > 1
        if name == "cases":
            listed = api(site, "community", "/cases", limit=1000,
                         **({"step": "implement"} if not suffix else {}))
            assert len(rows) - 1 == listed["count"]
            assert {r[0] for r in rows[1:]} == {c["id"] for c in listed["data"]}


def test_the_apis_csv_is_unchanged_and_takes_a_bom_on_request(site: Site) -> None:
    plain = httpx.get(f"{site.url}/stats/closure", params={"format": "csv"},
                      headers=site.tokens["auditor"].headers)
    with_bom = httpx.get(f"{site.url}/stats/closure", params={"format": "csv", "bom": "1"},
                         headers=site.tokens["auditor"].headers)
    assert plain.content.startswith(b"reported,closed,")
    assert with_bom.content == b"\xef\xbb\xbf" + plain.content
    audit = httpx.get(f"{site.url}/audit", params={"format": "csv", "bom": "true"},
                      headers=site.tokens["community"].headers)
    assert audit.content.startswith(b"\xef\xbb\xbfposition,case_id")


def test_problems_speak_chinese_when_asked_with_the_same_code(site: Site) -> None:
    zh = httpx.get(f"{site.url}/cases", headers={"Accept-Language": "zh-CN,zh;q=0.9,en;q=0.8"})
    en = httpx.get(f"{site.url}/cases", headers={"Accept-Language": "en-GB,en;q=0.9"})
    plain = httpx.get(f"{site.url}/cases")
    assert zh.status_code == en.status_code == plain.status_code == 401
    assert zh.json()["code"] == en.json()["code"] == "unauthorized"
    assert zh.json()["title"] == "未认证"
    assert "令牌" in zh.json()["detail"]
    assert zh.headers["content-language"] == "zh"
    assert en.json() == plain.json()
    assert en.json()["title"] == "Unauthorized"


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_the_api_docs_work_offline(page: Page, site: Site, path: str) -> None:
    page.goto(site.url + path)
    if path == "/docs":
        page.wait_for_selector(".swagger-ui .info .title")
        assert "yishi" in page.inner_text(".swagger-ui .info .title")
    else:
        page.wait_for_selector("h1")
        assert "yishi" in page.inner_text("h1")
    shot(page, path.strip("/"))


def test_the_home_community_is_what_the_scoped_reader_sees(page: Page, site: Site) -> None:
    login(page, site, "community", "en")
    assert HOME in page.inner_text("header .who") or "阳光社区" in page.inner_text("header .who")


def test_filtering_the_case_list_swaps_the_results_in_place(page: Page, site: Site) -> None:
    login(page, site, "community")
    page.goto(f"{site.url}/dashboard/cases")
    page.evaluate("window.marker = 'still here'")
    page.select_option("#f-status", "closed")
    page.click("form.filters button[type=submit]")
    page.wait_for_url("**status=closed**")
    page.wait_for_function("document.querySelectorAll('tr[data-case]').length > 0")
    assert page.evaluate("window.marker") == "still here", "htmx swapped, no reload"
    listed = api(site, "community", "/cases", status="closed", limit=50)
    shown = page.locator("tr[data-case]").evaluate_all("rs => rs.map(r => r.dataset.case)")
    assert shown == [row["id"] for row in listed["data"]]


def test_past_their_bound_the_list_and_the_trail_say_more_than(
    site: Site, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The case list and the audit trail count no further than a bound (1,000 past the
    page's first row; docs/adr/0084-bounded-counts.md), then say "more than"."""
    with httpx.Client(base_url=site.url, timeout=30) as client:
        login = client.post("/dashboard/login", data={"token": site.tokens["auditor"].token,
                                                      "next": "/dashboard"})
        assert login.status_code == 303
        exact = client.get("/dashboard/cases", params={"lang": "en"}).text
        total = api(site, "auditor", "/cases", limit=1)["count"]
        assert total > 110
        assert f"{total} cases; 1–50 shown." in exact
        assert f"1 / {-(-total // 50)}</span>" in exact
        monkeypatch.setattr(routes_cases, "COUNTED", 60)
        monkeypatch.setattr(routes_audit, "COUNTED", 60)
        more = client.get("/dashboard/cases", params={"lang": "en"}).text
        assert "More than 60 cases; 1–50 shown." in more
        assert "1 / 2+</span>" in more
        assert 'rel="next"' in more
        second = client.get("/dashboard/cases", params={"lang": "en", "page": 2}).text
        assert "More than 110 cases; 51–100 shown." in second
        trail = client.get("/dashboard/audit").text
        assert "逾 60 条事件记录" in trail
