"""The overview, the rankings and the flow (总览, 排名, 流程): the API's figures, rendered.

Every number comes from the query functions the API's /stats routes call
(projections.queries.closure, .satisfaction, .steps) with the reader's ``Scope``, so a
card on the page and ``GET /stats/closure?from=..&to=..`` with the same token answer the
same figure. A month is a calendar month in China time: [first day 00:00+08:00, next).
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.i18n import Lang, text
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.names import unit_names
from api.pages.render import page_language, render
from projections import queries
from projections.queries import Scope

router = APIRouter(prefix="/dashboard", include_in_schema=False)

#: A month of the years yishi accepts (docs/adr/0041-bounds.md): 2000-01 to 2099-12.
Month = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]

#: The cards of the overview, in order: (key, the closure field, numerator, denominator).
CARDS: tuple[tuple[str, str, str, str], ...] = (
    ("closure_rate", "closure_rate", "closed", "reported"),
    ("resolved_rate", "resolved_rate", "resolved", "closed"),
    ("on_time_rate", "on_time_rate", "on_time", "closed"),
    ("response_rate", "response_rate", "responded", "reported"),
    ("reopen_rate", "reopen_rate", "reopened", "ever_closed"),
)

#: Rates below these are flagged in the rankings (YISHI_PAGE_THRESHOLDS overrides, e.g.
#: "satisfaction_rate=0.85,response_rate=0.92"). 满意率 85% and 回复率 92% are the
#: minimums of the 12345 bulletins (research round2 §2.1).
DEFAULT_THRESHOLDS: dict[str, float] = {
    "closure_rate": 0.80,
    "on_time_rate": 0.90,
    "response_rate": 0.92,
    "satisfaction_rate": 0.85,
}


def thresholds() -> dict[str, float]:
    found = dict(DEFAULT_THRESHOLDS)
    for part in os.environ.get("YISHI_PAGE_THRESHOLDS", "").split(","):
        name, _, value = part.partition("=")
        if name.strip() in found:
            try:
                found[name.strip()] = float(value)
            except ValueError:
                continue
    return found


def _month(cases: Any, month: str | None) -> str:
    return month or formats.month_of(cases.clock.now())


def _one(payload: dict[str, Any]) -> dict[str, Any]:
    groups = payload["groups"]
    return groups[0] if groups else {}


def _counts(closure: dict[str, Any], sat: dict[str, Any]) -> dict[str, int]:
    """The numerators and denominators behind the rates, as the API's fields give them."""
    closed = int(closure.get("closed", 0))
    by = closure.get("closed_by_resolution") or {}
    reopen_rate = closure.get("reopen_rate")
    reopened = int(closure.get("reopened", 0))
    on_time_rate = closure.get("on_time_rate")
    return {
        "reported": int(closure.get("reported", 0)),
        "closed": closed,
        "resolved": int(by.get("resolved", 0)),
        "on_time": round(on_time_rate * closed) if on_time_rate is not None else 0,
        "responded": int(closure.get("responded", 0)),
        "reopened": reopened,
        "ever_closed": round(reopened / reopen_rate) if reopen_rate else closed,
        "satisfied": int(sat.get("satisfied", 0)) + int(sat.get("basically_satisfied", 0)),
        "ratings": int(sat.get("ratings", 0)),
    }


def overview_data(cases: Any, scope: Scope, month: str, lang: Lang) -> dict[str, Any]:
    """The overview's cards and trend for a month: each card's rate, its numerator and
    denominator, and the change from the previous month.

    Three reads: closure and satisfaction grouped by report month over the 13 months that
    end with this one (each month's group is the cohort ``from``/``to`` of that month
    selects: the same cases, at the same moment), and overdue now (``queries.overdue``: the
    ``overdue`` of ``/stats/steps``, without the time in each step, which is not shown here).
    """
    start, end = formats.month_bounds(month)
    first = formats.shift_month(start, -12)
    trend_c = queries.closure(cases, scope, period="month", from_=first, to=end)
    trend_s = queries.satisfaction(cases, scope, period="month", from_=first, to=end)
    by_c = {g["group"]["period"]: g for g in trend_c["groups"]}
    by_s = {g["group"]["period"]: g for g in trend_s["groups"]}
    previous = formats.month_of(formats.shift_month(start, -1))
    now_c, prev_c = by_c.get(month, {}), by_c.get(previous, {})
    now_s, prev_s = by_s.get(month, {}), by_s.get(previous, {})
    now_n, prev_n = _counts(now_c, now_s), _counts(prev_c, prev_s)
    cards: list[dict[str, Any]] = [{
        "key": "reported", "value": str(now_n["reported"]), "rate": None,
        "numerator": None, "denominator": None,
        "change": formats.count_change(now_n["reported"], prev_n["reported"]),
    }]
    for key, field, numerator, denominator in CARDS:
        rate = now_c.get(field)
        cards.append({
            "key": key, "rate": rate, "value": formats.percent(rate, lang),
            "numerator": now_n[numerator], "denominator": now_n[denominator],
            "change": formats.change(rate, prev_c.get(field)),
        })
    sat_rate = now_s.get("satisfaction_rate")
    cards.insert(5, {
        "key": "satisfaction_rate", "rate": sat_rate, "value": formats.percent(sat_rate, lang),
        "numerator": now_n["satisfied"], "denominator": now_n["ratings"],
        "change": formats.change(sat_rate, prev_s.get("satisfaction_rate")),
    })
    overdue = sum(queries.overdue(cases, scope)["overdue"].values())
    cards.append({"key": "overdue", "rate": None, "value": str(overdue), "numerator": None,
                  "denominator": None, "change": None})
    months = [formats.month_of(formats.shift_month(first, i)) for i in range(1, 13)]
    trend = {
        "months": [formats.month_label(m, lang) for m in months],
        "reported": [int(by_c.get(m, {}).get("reported", 0)) for m in months],
        "closed": [int(by_c.get(m, {}).get("closed", 0)) for m in months],
        "closure_rate": [formats.percent_number(by_c.get(m, {}).get("closure_rate"))
                         for m in months],
        "satisfaction_rate": [formats.percent_number(by_s.get(m, {}).get("satisfaction_rate"))
                              for m in months],
    }
    return {"cards": cards, "trend": trend, "as_of": trend_c["as_of"],
            "median_close": (now_c.get("time_to_close") or {}).get("median_s")}


@router.get("", response_class=HTMLResponse)
def overview(request: Request, actor: PageActor, month: Month = None) -> HTMLResponse:
    cases = cases_of(request)
    lang = page_language(request)
    chosen = _month(cases, month)
    data = overview_data(cases, Scope.of(actor), chosen, lang)
    labels = {
        "reported": _t("kpi.reported", lang), "closed": _t("kpi.closed", lang),
        "closure_rate": _t("kpi.closure_rate", lang),
        "satisfaction_rate": _t("kpi.satisfaction_rate", lang),
        "cases": _t("overview.trend.cases", lang), "rates": _t("overview.trend.rates", lang),
    }
    chart = json.dumps({**data["trend"], "labels": labels}, ensure_ascii=False)
    chart = chart.replace("</", "<\\/")  # the JSON sits in a <script> element
    return render(request, "overview.html", actor=actor, month=chosen,
                  month_name=formats.month_label(chosen, lang), chart=chart, **data)


def _t(key: str, lang: Lang) -> str:
    return text(key, lang)


def ranking_rows(cases: Any, scope: Scope, month: str, by: str) -> list[dict[str, Any]]:
    """One row per community or compound: the month's closure and satisfaction figures."""
    start, end = formats.month_bounds(month)
    keys = [by, "community"] if by == "compound" else [by]
    closure = queries.closure(cases, scope, group_by=keys, from_=start, to=end)
    sat = queries.satisfaction(cases, scope, group_by=keys, from_=start, to=end)
    key = queries.GROUP_KEYS[by]
    sat_by = {g["group"][key]: g for g in sat["groups"]}
    rows = []
    for group in closure["groups"]:
        code = group["group"][key]
        s = sat_by.get(code, {})
        rows.append({
            "code": code, "community": group["group"].get("community_id"),
            "reported": group["reported"], "closed": group["closed"],
            "closure_rate": group["closure_rate"], "resolved_rate": group["resolved_rate"],
            "on_time_rate": group["on_time_rate"], "response_rate": group["response_rate"],
            "satisfaction_rate": s.get("satisfaction_rate"), "ratings": s.get("ratings", 0),
        })
    return rows


@router.get("/rankings", response_class=HTMLResponse)
def rankings(request: Request, actor: PageActor, month: Month = None) -> HTMLResponse:
    cases = cases_of(request)
    lang = page_language(request)
    chosen = _month(cases, month)
    scope = Scope.of(actor)
    communities = ranking_rows(cases, scope, chosen, "community")
    compounds = ranking_rows(cases, scope, chosen, "compound")
    owner = {row["code"]: row["community"] for row in compounds}
    names = unit_names(request, [r["code"] for r in communities + compounds]
                       + list(owner.values()))
    limits = thresholds()
    flagged = ", ".join(f"{_t('kpi.' + k, lang)} < {formats.percent(v, lang)}"
                        for k, v in limits.items())
    return render(request, "rankings.html", actor=actor, month=chosen,
                  month_name=formats.month_label(chosen, lang), communities=communities,
                  compounds=compounds, names=names, owner=owner, limits=limits,
                  flagged=flagged)


@router.get("/flow", response_class=HTMLResponse)
def flow(request: Request, actor: PageActor) -> HTMLResponse:
    cases = cases_of(request)
    payload = queries.steps(cases, Scope.of(actor))
    return render(request, "flow.html", actor=actor, steps=payload["steps"],
                  loops=payload["loops"], as_of=payload["as_of"])
