"""The points leaderboard page (积分榜): the API's figures for the session's token, names
masked, the CSV download, and the reader's scope."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
from playwright.sync_api import Page

from tests.pages.conftest import HOME, Site, login, shot

MONTH = "2026-10"


def api(site: Site, role: str, **params: str) -> dict[str, object]:
    answer = httpx.get(f"{site.url}/stats/points", params=params,
                       headers=site.tokens[role].headers, timeout=30)
    assert answer.status_code == 200, answer.text
    body: dict[str, object] = answer.json()
    return body


def test_the_leaderboard_shows_the_apis_figures_with_masked_names(page: Page, site: Site
                                                                  ) -> None:
    login(page, site, "community")
    response = page.goto(f"{site.url}/dashboard/points?month={MONTH}&group_by=community")
    assert response is not None
    assert response.status == 200
    assert "积分榜" in page.inner_text("h1")
    figures = api(site, "community", month=MONTH, group_by="community")
    groups = figures["groups"]
    assert isinstance(groups, list)
    [group] = groups  # the community token sees its own community only
    assert group["group"] == {"community_id": HOME, "month": MONTH}
    row = page.locator(f"tr[data-code='{HOME}']")
    cells = row.locator("td").all_inner_texts()
    assert cells[:4] == [str(group[k]) for k in ("participants", "awarded", "redeemed",
                                                  "reversed")]
    assert group["awarded"] > 0
    assert group["redeemed"] > 0
    top = row.locator("ol.top li").all_inner_texts()
    assert top == [f"{t['name']} · {t['balance']}" for t in group["top"]]
    assert all(re.fullmatch(r"\S{1,2}\*+ · \d+", entry) for entry in top)
    shot(page, "points-zh")

    with page.expect_download() as download:
        page.click("p.lead a")
    data = Path(download.value.path()).read_text(encoding="utf-8")
    assert data.startswith("\ufeff社区,参与者,发放,兑换,冲正,积分最高,ID,余额")
    assert str(group["top"][0]["participant_id"]) in data


def test_another_community_sees_only_its_own_leaderboard(page: Page, site: Site) -> None:
    login(page, site, "other_community", "en")
    page.goto(f"{site.url}/dashboard/points?month={MONTH}&lang=en")
    assert "Points leaderboard" in page.inner_text("h1")
    codes = page.locator("tbody tr").evaluate_all("rows => rows.map(r => r.dataset.code)")
    assert codes
    assert all(code.startswith("C02-") for code in codes)
