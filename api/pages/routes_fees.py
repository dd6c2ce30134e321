"""The fee and meeting pages (收费, 联席会议): the API's figures, rendered for staff.

``/dashboard/fees?year=YYYY`` shows each community's and compound's collection rate
(收取率) and amount rate over the year's periods, and each month's rate; ``/dashboard/
meetings?month=YYYY-MM`` each compound's meetings of the month with the parties present.
Every number comes from the functions ``GET /stats/fees`` and ``GET /stats/meetings`` call
(projections.fees, projections.meetings) with the reader's scope.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from api.http.routes_fees import projection as fee_projection
from api.http.routes_meetings import projection as meeting_projection
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.names import unit_names
from api.pages.render import render
from domain.meetings import PARTIES
from projections.fees import FeeQuery, fee_figures
from projections.meetings import MeetingQuery, meeting_figures
from projections.queries import Scope

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Year = Annotated[str | None, Query(pattern=r"^(20\d{2})?$")]
Month = Annotated[str | None, Query(pattern=r"^(20\d{2}-(0[1-9]|1[0-2]))?$")]


def fee_tables(request: Request, scope: Scope, year: str) -> dict[str, Any]:
    """The year's rows per community, per compound (and kind) and per month."""
    cases = cases_of(request)
    model = fee_projection(request, cases)

    def rows(*group_by: str) -> list[dict[str, Any]]:
        query = FeeQuery(period=(year,), group_by=group_by)
        return list(fee_figures(model, scope, query)["groups"])

    return {"communities": rows("community"), "compounds": rows("compound", "fee_kind"),
            "months": rows("period", "fee_kind")}


@router.get("/fees", response_class=HTMLResponse)
def fees(request: Request, actor: PageActor, year: Year = None) -> HTMLResponse:
    cases = cases_of(request)
    chosen = year or formats.month_of(cases.clock.now())[:4]
    scope = Scope.of(cases.directory.resolve(actor))
    tables = fee_tables(request, scope, chosen)
    codes = [g["group"]["community_id"] for g in tables["communities"]] + [
        g["group"]["compound_id"] for g in tables["compounds"]]
    return render(request, "fees.html", actor=actor, year=chosen,
                  names=unit_names(request, codes), **tables)


@router.get("/meetings", response_class=HTMLResponse)
def meetings(request: Request, actor: PageActor, month: Month = None) -> HTMLResponse:
    cases = cases_of(request)
    chosen = month or formats.month_of(cases.clock.now())
    scope = Scope.of(cases.directory.resolve(actor))
    model = meeting_projection(request, cases)
    rows = meeting_figures(model, scope, MeetingQuery(month=(chosen,),
                                                      group_by=("compound",)))["groups"]
    totals = {"meetings": sum(r["meetings"] for r in rows),
              "joint_meetings": sum(r["joint_meetings"] for r in rows),
              "parties": {p: sum(r["parties"][p] for r in rows) for p in PARTIES}}
    names = unit_names(request, [r["group"]["compound_id"] for r in rows])
    return render(request, "meetings.html", actor=actor, month=chosen, rows=rows,
                  totals=totals, parties=PARTIES, names=names)
