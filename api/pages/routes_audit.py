"""The audit trail (审计轨迹) and its CSV: ``projections.queries.audit`` (what ``GET /audit``
answers) with the reader's scope, one page of 100 events at a time in global order."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.i18n import Lang, label, summary, text
from api.i18n.catalogue import MESSAGES
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.csvfile import csv_download
from api.pages.render import page_language, render
from domain.application import Cases
from domain.case import Case
from domain.summaries import summarise
from projections import queries
from projections.fold import EventView
from projections.queries import Scope

router = APIRouter(prefix="/dashboard", include_in_schema=False)

Text = Annotated[str | None, Query(max_length=200)]
Day = Annotated[str | None, Query(pattern=r"^(\d{4}-\d{2}-\d{2})?$")]
#: The trail counts this many events at most, and then says "more than"
#: (docs/adr/0084-bounded-counts.md): an exact count reads every matching row.
COUNTED = 1000


def audit_filters(case_id: str | None, actor_id: str | None, role: str | None,
                  type_: str | None, from_: str | None, to: str | None) -> dict[str, Any]:
    """The trail's filters; days are China-time calendar days, ``to`` inclusive."""
    start = datetime.fromisoformat(from_).replace(tzinfo=formats.CHINA) if from_ else None
    end = None
    if to:
        end = formats.shift_day(datetime.fromisoformat(to).replace(tzinfo=formats.CHINA), 1)
    return {"case_id": case_id or None, "actor_id": actor_id or None,
            "actor_role": role or None, "event_type": type_ or None, "from_": start, "to": end}


def summaries(cases: Cases, rows: list[dict[str, Any]], lang: Lang) -> list[str]:
    """Each row's summary in ``lang``, as the case page shows it (``api.i18n.summary``):
    the recorded English line in English; in Chinese the catalogue's template over the
    event's data (times in China time). The trail stores the English line only, so the
    events are read: one read per case of the rows, the versions they span."""
    if lang == "en":
        return [r["summary"] for r in rows]
    spans: dict[str, tuple[int, int]] = {}
    for r in rows:
        low, high = spans.get(r["case_id"], (r["version"], r["version"]))
        spans[r["case_id"]] = (min(low, r["version"]), max(high, r["version"]))
    found: dict[tuple[str, int], EventView] = {}
    for case_id, (low, high) in spans.items():
        for event in cases.events.get(UUID(case_id), gt=low - 1, lte=high):
            if isinstance(event, Case.Event):
                view = EventView.of(event)
                found[(case_id, view.originator_version)] = view
    shown = []
    for r in rows:
        seen = found.get((r["case_id"], r["version"]))
        if seen is None:
            shown.append(r["summary"])
            continue
        data = dict(seen.data)
        data.pop("reporter", None)  # as on the case page: the contact is never summarised
        shown.append(summary(seen.type, data, summarise(seen.type, seen.data), lang))
    return shown


@router.get("/audit", response_class=HTMLResponse)
def audit_page(
    request: Request, actor: PageActor, case_id: Text = None, actor_id: Text = None,
    role: Text = None, type: Text = None, from_: Annotated[Day, Query(alias="from")] = None,
    to: Day = None, after: Annotated[int, Query(ge=0, le=2**62)] = 0,
) -> HTMLResponse:
    cases = cases_of(request)
    filters = audit_filters(case_id, actor_id, role, type, from_, to)
    result = queries.audit(cases, Scope.of(actor), after=after, limit=100,
                           count_limit=COUNTED, **filters)
    lines = summaries(cases, result["data"], page_language(request))
    for row, line in zip(result["data"], lines, strict=True):
        row["summary"] = line
    query = {k: v for k, v in {"case_id": case_id, "actor_id": actor_id, "role": role,
                               "type": type, "from": from_, "to": to}.items() if v}
    return render(request, "audit.html", actor=actor, rows=result["data"],
                  count=result["count"], exact=result["count_exact"],
                  next_after=result["next_after"], query=query,
                  roles=_values("role"), types=_values("event"))


def _values(kind: str) -> list[str]:
    return [key.split(".", 1)[1] for key in MESSAGES if key.startswith(kind + ".")]


AUDIT_COLUMNS = ("col.position", "col.id", "col.version", "col.event", "col.step_before",
                 "col.step_after", "col.actor", "col.role", "col.time", "col.summary",
                 "col.prev_hash", "col.hash")


@router.get("/audit.csv")
def audit_csv(
    request: Request, actor: PageActor, case_id: Text = None, actor_id: Text = None,
    role: Text = None, type: Text = None, from_: Annotated[Day, Query(alias="from")] = None,
    to: Day = None,
) -> StreamingResponse:
    """The whole matching trail, in the page's language, UTF-8 with a BOM."""
    cases = cases_of(request)
    lang: Lang = page_language(request)
    filters = audit_filters(case_id, actor_id, role, type, from_, to)
    scope = Scope.of(actor)

    # The first page before the answer starts: a bad filter is a 422, not a cut download.
    first = queries.audit(cases, scope, after=0, limit=1000, **filters)

    def rows() -> Iterator[list[Any]]:
        result = first
        while True:
            lines = summaries(cases, result["data"], lang)
            for r, line in zip(result["data"], lines, strict=True):
                yield [
                    r["position"], r["case_id"], r["version"], label("event", r["type"], lang),
                    label("step", r["step_before"], lang), label("step", r["step_after"], lang),
                    r["actor"]["id"], label("role", r["actor"]["role"], lang),
                    formats.china_time(r["recorded_at"], lang), line, r["prev_hash"],
                    r["hash"],
                ]
            if result["next_after"] is None:
                return
            result = queries.audit(cases, scope, after=result["next_after"], limit=1000,
                                   **filters)

    return csv_download([text(key, lang) for key in AUDIT_COLUMNS], rows(), "audit.csv")
