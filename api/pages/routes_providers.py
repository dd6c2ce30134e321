"""The red/black list page (红黑榜): the month's ranking with its counts, the red and black
lists, and each provider's score over the last twelve months; its CSV download.

Every number comes from ``projections.provider_figures.month_rows``, the function
``GET /stats/providers`` answers with, for the session's actor (scope and ranking as the
API's); the template computes nothing (docs/adr/0080-pages.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.i18n import Lang, label, text
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.csvfile import csv_download
from api.pages.render import page_language, render
from domain.providers.attribution import CHINA
from projections.provider_figures import month_rows

router = APIRouter(prefix="/dashboard", include_in_schema=False)

MonthQuery = Annotated[str | None, Query(pattern=r"^(\d{4}-(0[1-9]|1[0-2]))?$")]


def _month(value: str | None) -> str:
    if value:
        return value
    now = datetime.now(CHINA)
    index = now.year * 12 + now.month - 2  # the last whole month
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def _months_before(month: str, count: int) -> list[str]:
    year, number = map(int, month.split("-"))
    index = year * 12 + number - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]


def _rows(request: Request, actor: Any, month: str) -> list[dict[str, Any]]:
    cases = cases_of(request)
    reader = cases.directory.resolve(actor)
    rules = request.app.state.settings.provider_rules
    rows = month_rows(cases.db, cases.directory.current(), month, reader, rules).providers
    return sorted(rows, key=lambda r: (r["rank"] is None, r["rank"] or 0, r["provider"]))


@router.get("/providers", response_class=HTMLResponse)
def providers_page(request: Request, actor: PageActor, month: MonthQuery = None
                   ) -> HTMLResponse:
    chosen = _month(month)
    rows = _rows(request, actor, chosen)
    months = _months_before(chosen, 12)
    trend: dict[str, list[float | None]] = {r["provider"]: [] for r in rows}
    for m in months:
        scores = {r["provider"]: r["score"] for r in _rows(request, actor, m)}
        for code, line in trend.items():
            line.append(scores.get(code))
    rules = request.app.state.settings.provider_rules
    return render(request, "providers.html", actor=actor, month=chosen, rows=rows,
                  red=[r for r in rows if r["list"] == "red"],
                  black=[r for r in rows if r["list"] == "black"],
                  months=months, trend=trend, min_orders=rules.min_orders)


CSV_HEADER = ("providers.provider", "providers.kind", "providers.compounds",
              "providers.orders", "providers.taken", "providers.completed",
              "providers.supervision", "providers.reopen", "providers.overdue",
              "providers.satisfaction", "providers.rating", "providers.score",
              "providers.rank", "providers.list")


@router.get("/providers.csv")
def providers_csv(request: Request, actor: PageActor, month: MonthQuery = None
                  ) -> StreamingResponse:
    """The month's rows in the page's language, UTF-8 with a BOM (Excel)."""
    chosen = _month(month)
    lang: Lang = page_language(request)
    rows = _rows(request, actor, chosen)

    def rate(row: dict[str, Any], key: str, counts: str) -> str:
        return f"{formats.percent(row[key], lang)} ({row[counts]['count']}/{row[counts]['of']})"

    lines = [[
        f"{r['name']} ({r['provider']})", text(f"kind.{r['kind']}", lang) if r["kind"] else "",
        " ".join(r["compounds"]), r["orders"], rate(r, "taken_on_time_rate", "taken_on_time"),
        rate(r, "completed_on_time_rate", "completed_on_time"),
        rate(r, "supervision_pass_rate", "supervisions_passed"),
        rate(r, "reopen_rate", "reopened"), r["overdue_open"],
        rate(r, "satisfaction_rate", "satisfied"), r["community_rating"], r["score"],
        r["rank"] if r["rank"] is not None else text("providers.unranked", lang),
        text(f"providers.{r['list']}", lang) if r["list"] else "",
    ] for r in rows]
    return csv_download([text(k, lang) for k in CSV_HEADER], lines, f"providers-{chosen}.csv")


__all__ = ["label", "router"]
