"""The case list, its CSV, and one case (案件, 案件详情).

The list is ``projections.queries.list_cases`` (what ``GET /cases`` answers) with the
reader's scope; one case is its events folded by the domain (what ``GET /cases/{id}`` and
``/events`` answer) and ``Cases.verify`` (``/verify``), shown with the same scope rule
(out of scope reads as not found) and the same masking of the reporter's contact
(api.http.views.reporter_view).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.http.views import reporter_view
from api.i18n import Lang, label, summary
from api.i18n import text as message
from api.i18n.catalogue import MESSAGES
from api.pages import formats
from api.pages.access import PageActor, cases_of
from api.pages.csvfile import csv_download
from api.pages.names import unit_names
from api.pages.render import page_language, render
from domain.case import Case
from domain.case_reads import StoredCaseEvent
from domain.model import WORKING_STEPS, Step
from domain.summaries import summarise
from projections import queries
from projections.queries import Scope
from projections.scope import QueryError

router = APIRouter(prefix="/dashboard", include_in_schema=False)

PAGE_SIZE = 50
#: The list counts this many rows past the page's first at most, and then says "more than"
#: (docs/adr/0084-bounded-counts.md): an exact count reads every matching row.
COUNTED = 1000
Text = Annotated[str | None, Query(max_length=200)]


#: The spellings of a boolean the API's query parameters take (pydantic's, as
#: ``GET /projections/cases?overdue=`` parses them), case-insensitive.
TRUE = ("true", "1", "yes", "on", "t", "y")
FALSE = ("false", "0", "no", "off", "f", "n")


def flag(name: str, value: str | None) -> bool | None:
    """A boolean filter as the API reads one; empty means no filter; anything else is
    refused (QueryError: 422, a page for a browser) rather than silently ignored."""
    if value is None or value.strip() == "":
        return None
    spelled = value.strip().lower()
    if spelled in TRUE:
        return True
    if spelled in FALSE:
        return False
    raise QueryError(f"{name} must be true or false", field=name, allowed=TRUE + FALSE)


def case_filters(step: str | None, status: str | None, compound: str | None,
                 community: str | None, category: str | None, channel: str | None,
                 overdue: str | None, text_: str | None) -> dict[str, Any]:
    """The list's filters as list_cases takes them; list_cases refuses an unknown step,
    category or channel (QueryError), and ``overdue`` is a boolean as in the API."""
    return {
        "step": step or None, "status": status if status in ("open", "closed") else None,
        "compound": compound or None, "community": community or None,
        "category": category or None, "channel": channel or None,
        "overdue": flag("overdue", overdue), "text": text_ or None,
    }


@router.get("/cases", response_class=HTMLResponse)
def case_list(
    request: Request, actor: PageActor, step: Text = None, status: Text = None,
    compound: Text = None, community: Text = None, category: Text = None,
    channel: Text = None, overdue: Text = None, text: Text = None,
    page: Annotated[int, Query(ge=1, le=10**6)] = 1,
) -> HTMLResponse:
    cases = cases_of(request)
    filters = case_filters(step, status, compound, community, category, channel, overdue, text)
    offset = (page - 1) * PAGE_SIZE
    result = queries.list_cases(cases, Scope.of(actor), limit=PAGE_SIZE, offset=offset,
                                count_limit=offset + COUNTED, **filters)
    rows = result["data"]
    names = unit_names(request, [r["compound_id"] for r in rows]
                       + [r["community_id"] for r in rows])
    query = {k: v for k, v in {"step": step, "status": status, "compound": compound,
                               "community": community, "category": category,
                               "channel": channel, "text": text}.items()
             if v}
    if filters["overdue"] is not None:
        query["overdue"] = "true" if filters["overdue"] else "false"
    return render(
        request, "cases.html", actor=actor, rows=rows, names=names, count=result["count"],
        exact=result["count_exact"], page=page, pages=max(1, -(-result["count"] // PAGE_SIZE)),
        query=query,
        first=(page - 1) * PAGE_SIZE + 1 if rows else 0, last=(page - 1) * PAGE_SIZE + len(rows),
        steps=[s.value for s in Step], categories=_values("category"),
        channels=_values("channel"),
    )


def _values(kind: str) -> list[str]:
    return [key.split(".", 1)[1] for key in MESSAGES if key.startswith(kind + ".")]


CASE_COLUMNS = ("col.id", "col.title", "col.step", "col.status", "col.resolution",
                "col.compound", "col.community", "col.category", "col.channel",
                "col.reported_at", "col.deadline", "col.overdue", "col.assignee")


@router.get("/cases.csv")
def case_list_csv(
    request: Request, actor: PageActor, step: Text = None, status: Text = None,
    compound: Text = None, community: Text = None, category: Text = None,
    channel: Text = None, overdue: Text = None, text: Text = None,
) -> StreamingResponse:
    """Every matching case (not one page), in the page's language, UTF-8 with a BOM."""
    cases = cases_of(request)
    lang = page_language(request)
    filters = case_filters(step, status, compound, community, category, channel, overdue, text)
    scope = Scope.of(actor)

    # The first page before the answer starts: a bad filter is a 422, not a cut download.
    first = queries.list_cases(cases, scope, limit=1000, offset=0, **filters)

    def rows() -> Iterator[list[Any]]:
        offset = 0
        result = first
        while True:
            if offset:
                result = queries.list_cases(cases, scope, limit=1000, offset=offset, **filters)
            data = result["data"]
            names = unit_names(request, [r["compound_id"] for r in data]
                               + [r["community_id"] for r in data])
            for r in data:
                yield [
                    r["id"], r["title"], label("step", r["step"], lang),
                    message("cases." + r["status"], lang),
                    label("resolution", r["resolution"], lang),
                    _named(names, r["compound_id"]), _named(names, r["community_id"]),
                    label("category", r["category"], lang), label("channel", r["channel"], lang),
                    formats.china_time(r["reported_at"], lang, zone=False),
                    formats.china_time(r["deadline"], lang, zone=False) if r["deadline"] else "",
                    message("yes" if r["overdue"] else "no", lang), r["assignee"] or "",
                ]
            offset += len(data)
            if len(data) < 1000:
                return

    header = [message(key, lang) for key in CASE_COLUMNS]
    return csv_download(header, rows(), "cases.csv")


def _named(names: dict[str, str], code: str) -> str:
    name = names.get(code, code)
    return code if name == code else f"{name} ({code})"


def fold(stored: list[Case.Event], limits: Any) -> tuple[Case, list[tuple[Any, Step, Any]]]:
    """The case after its events, and after each event: (the event, the step, the step's
    deadline by the domain's TimeLimits.step_deadline). One pass, no copies of the state."""
    case: Case | None = None
    after: list[tuple[Any, Step, Any]] = []
    for event in stored:
        case = event.mutate(case)
        assert case is not None
        after.append((StoredCaseEvent.of(event, None), case.step, limits.step_deadline(case)))
    assert case is not None
    return case, after


def timeline(after: list[tuple[Any, Step, Any]], now: datetime) -> list[dict[str, Any]]:
    """The eight steps of one case: when each was entered and left (every stay), the time
    spent, the deadline of its last stay (as it stood after the stay's last event) and
    whether the step is done, current or ahead."""
    stays: dict[str, list[dict[str, Any]]] = {s.value: [] for s in WORKING_STEPS}
    current: dict[str, Any] | None = None
    for event, state_step, deadline in after:
        step = state_step.value
        if current is not None and current["step"] != step:
            current["left"] = event.recorded_at
            current = None
        if current is None and state_step is not Step.CLOSED:
            current = {"step": step, "entered": event.recorded_at, "left": None,
                       "deadline": None}
            stays[step].append(current)
        if current is not None:
            current["deadline"] = deadline
    result = []
    for step in WORKING_STEPS:
        visits = stays[step.value]
        spent = sum(((v["left"] or now) - v["entered"]).total_seconds() for v in visits)
        last = visits[-1] if visits else None
        status = "ahead" if last is None else ("current" if last["left"] is None else "done")
        deadline = last["deadline"] if last else None
        end = (last["left"] or now) if last else None
        result.append({
            "step": step.value, "status": status, "visits": len(visits),
            "entered": last["entered"] if last else None, "spent": spent if visits else None,
            "deadline": deadline,
            "late": bool(deadline and end and end > deadline),
        })
    return result


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def case_page(request: Request, actor: PageActor, case_id: str) -> HTMLResponse:
    """Two reads: the case's events (folded here, as ``GET /cases/{id}`` folds them) and the
    chain check (``GET /cases/{id}/verify``). Out of scope reads as not found, as there."""
    cases = cases_of(request)
    lang = page_language(request)
    try:
        ident = UUID(case_id)
    except ValueError:
        ident = None
    stored = [e for e in cases.events.get(ident)
              if isinstance(e, Case.Event)] if ident is not None else []
    case, after = fold(stored, cases.limits) if stored else (None, [])
    if case is None or not actor.covers(case.compound_id, case.community_id):
        return render(request, "error.html", status=404, actor=actor,
                      message=message("error.not_found", lang))
    now = cases.clock.now()
    events = [_event_row(event, lang) for event, _step, _deadline in after]
    report = cases.verify(case.id)
    names = unit_names(request, [case.compound_id, case.community_id])
    reporter = reporter_view(cases, case.reporter, case.reporter_actor_id, actor)
    return render(
        request, "case.html", actor=actor, case=case, events=events,
        steps=timeline(after, now), report=report, names=names,
        reporter=reporter, deadline=cases.limits.step_deadline(case),
        overdue=cases.limits.is_overdue(case, now),
    )


def _event_row(event: Any, lang: Lang) -> dict[str, Any]:
    data = dict(event.data)
    data.pop("reporter", None)  # the contact is shown (or masked) once, above the events
    return {
        "version": event.version, "type": event.type, "role": event.actor_role,
        "actor": event.actor_id, "time": event.recorded_at, "position": event.position,
        "summary": summary(event.type, data, summarise(event.type, event.data), lang),
        "step_before": event.step_before, "step_after": event.step_after,
        "hash": event.hash,
    }
