"""The points leaderboard page (积分榜): ``GET /dashboard/points`` and its CSV.

Reads ``projections.points_figures.points_stats``, the function ``GET /stats/points``
answers with, for the session's actor: a page never shows a number or a name the API would
not give the same token (names masked: 张*, 欧阳**). A month is a calendar month in China
time (default: the current one); groups by compound or community.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.i18n import text
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.csvfile import csv_download
from api.pages.render import page_language, render
from projections.points_figures import points_stats

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Month = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]
GroupBy = Annotated[Literal["compound", "community"], Query()]


def leaderboard(request: Request, actor: Any, month: str | None, group_by: str
                ) -> tuple[str, list[dict[str, Any]]]:
    """The month shown and its groups, each with the unit's current name."""
    cases = cases_of(request)
    month = month or formats.month_of(cases.clock.now())
    figures = points_stats(cases, actor, group_by=group_by, month=month)
    for group in figures["groups"]:
        code = group["group"][f"{group_by}_id"]
        group["code"] = code
        group["name"] = cases.directory.name_of(code) or code
    return month, figures["groups"]


@router.get("/points", response_class=HTMLResponse)
def points_page(request: Request, actor: PageActor, month: Month = None,
                group_by: GroupBy = "compound") -> HTMLResponse:
    month, groups = leaderboard(request, actor, month, group_by)
    lang = page_language(request)
    return render(request, "points.html", actor=actor, groups=groups, month=month,
                  month_name=formats.month_label(month, lang), group_by=group_by)


@router.get("/points.csv")
def points_csv(request: Request, actor: PageActor, month: Month = None,
               group_by: GroupBy = "compound") -> StreamingResponse:
    """One line per group and rank, in the page's language, UTF-8 with a BOM."""
    month, groups = leaderboard(request, actor, month, group_by)
    lang = page_language(request)
    header = [text(f"points.unit.{group_by}", lang), text("points.participants", lang),
              text("points.awarded", lang), text("points.redeemed", lang),
              text("points.reversed", lang), text("points.top", lang), "ID",
              text("points.balance", lang)]
    rows = []
    for group in groups:
        head = [group["name"], group["participants"], group["awarded"], group["redeemed"],
                group["reversed"]]
        for rank, entry in enumerate(group["top"], start=1):
            rows.append([*head, f"{rank}. {entry['name'] or text('points.erased', lang)}",
                         entry["participant_id"], entry["balance"]])
    return csv_download(header, rows, f"points-{month}-{group_by}.csv")
