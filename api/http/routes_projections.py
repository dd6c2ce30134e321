"""Reads of the projections: the case list, the audit trail and the figures (看板).

Every answer says how fresh it is: ``position`` (what the projections have processed) and
``head`` (the log's last position), in the body and in the ``X-Projection-Position`` and
``X-Log-Head`` headers. ``?min_position=N`` waits (at most 5 s) until the projections have
processed position N, for read-your-writes after an append; the answer then comes anyway,
with ``X-Projection-Reached: true|false`` (and its ``position``) saying whether it includes
position N. Every read is limited to the reader's scope.

Every 200 carries an ``ETag`` over its exact body for this token; ``If-None-Match`` with it
answers 304 until anything in the body changes (``Cache-Control: private``, ``Vary:
Authorization``; api/http/conditional.py). An unknown value of an enumerated filter or
``group_by`` is 422 ``invalid_query`` naming the ``field`` and the ``allowed`` values; a
compound or community code unknown or outside the scope selects nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse

from api.http.auth import ActorDep, CasesDep
from api.http.conditional import ConditionalRoute
from api.http.names import with_case_names, with_group_names
from api.http.problems import Problem
from api.http.reads import query_time
from api.http.responses import figures_answer, problems
from domain.application import Cases
from domain.bounds import JSON_SAFE_INTEGER
from projections import queries
from projections.queries import QueryError, Scope
from projections.service import ProjectionService

router = APIRouter(tags=["projections"], route_class=ConditionalRoute)

#: The errors these reads answer with.
_RESPONSES: dict[int | str, dict[str, Any]] = problems(401, 422)

#: The longest a request waits for ``min_position``.
MAX_WAIT_SECONDS = 5.0

Texts = Annotated[list[str] | None, Query()]
MinPosition = Annotated[
    int | None,
    Query(ge=0, le=JSON_SAFE_INTEGER, description="Wait (at most 5 s) until the projections have "
          "processed this position of the global log (read-your-writes)"),
]
Format = Annotated[Literal["json", "csv"], Query(description="json (default) or csv")]
When = Annotated[datetime | None, Query(description="RFC 3339 time with a time zone")]
Bom = Annotated[bool, Query(description="with format=csv: start with a UTF-8 byte order mark, "
                            "so that Excel reads the file as UTF-8")]


def _time(name: str, value: datetime | None) -> datetime | None:
    """A query time within the bounds (``domain.bounds``), else 422 naming it."""
    return None if value is None else query_time(name, value)


def _window(from_: datetime | None, to: datetime | None) -> dict[str, datetime | None]:
    """The half-open window [from, to) as query keywords, each within the bounds; 422
    ``invalid_query`` naming ``to`` when it does not come after ``from`` (an empty window
    is a mistake, not a question whose answer is zero)."""
    start, end = _time("from", from_), _time("to", to)
    if start is not None and end is not None and end <= start:
        raise Problem(422, "invalid_query",
                      f"to ({end.isoformat()}) must come after from ({start.isoformat()})",
                      field="to")
    return {"from_": start, "to": end}


def _texts(values: list[str] | None) -> list[str]:
    """Repeated parameters and comma-separated lists both work: ?compound=A&compound=B,C."""
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


def _wait(request: Request, cases: Cases, position: int | None) -> dict[str, str]:
    """Wait (bounded) until the projections reach ``position``; headers saying if they did.

    A position beyond the log's head is not waited for. Without a projection service in
    this process the tracked position is polled, giving up early when it has not moved for
    a second (nobody is projecting, e.g. ``serve --no-projections`` and no ``run``).
    """
    if position is None:
        return {}
    service = next((s for s in getattr(request.app.state, "services", [])
                    if isinstance(s, ProjectionService)), None)
    fresh = queries.freshness(cases)
    reached = fresh["position"] >= position
    if not reached and position <= fresh["head"]:
        if service is not None:
            reached = service.wait_for(position, MAX_WAIT_SECONDS)
        else:
            reached = _poll(cases, position, fresh["position"])
    return {"X-Projection-Reached": "true" if reached else "false"}


def _poll(cases: Cases, position: int, seen: int) -> bool:
    deadline = time.monotonic() + MAX_WAIT_SECONDS
    moved_at = time.monotonic()
    while time.monotonic() < deadline and time.monotonic() - moved_at < 1.0:
        time.sleep(0.05)
        now = queries.freshness(cases)["position"]
        if now >= position:
            return True
        if now != seen:
            seen, moved_at = now, time.monotonic()
    return False


class _FastJSON(JSONResponse):
    """JSON written by orjson: a year of figures by compound and month is some 200 KB, which
    the standard library takes about ten times longer to write (9 ms against 0.8 ms)."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


def _answer(payload: dict[str, Any], extra: dict[str, str]) -> JSONResponse:
    return _FastJSON(payload, headers={**_fresh_headers(payload), **extra})


def _fresh_headers(payload: dict[str, Any]) -> dict[str, str]:
    return {"X-Projection-Position": str(payload["position"]), "X-Log-Head": str(payload["head"])}


def _run(call: Any, *args: Any, **kwargs: Any) -> Any:
    """The query's answer; a QueryError is 422 ``invalid_query`` (with ``field`` and the
    ``allowed`` values when an enumerated filter got a value outside them)."""
    try:
        return call(*args, **kwargs)
    except QueryError as error:
        extra: dict[str, Any] = (
            {"field": error.field, "allowed": list(error.allowed)} if error.field else {})
        raise Problem(422, "invalid_query", str(error), **extra) from None


@router.get("/cases", summary="The case list (案件列表): filtered, sorted, paginated",
            responses=_RESPONSES)
def list_cases(
    request: Request,
    cases: CasesDep,
    actor: ActorDep,
    step: Texts = None,
    status: Annotated[Literal["open", "closed"] | None, Query()] = None,
    resolution: Texts = None,
    compound: Texts = None,
    community: Texts = None,
    category: Texts = None,
    channel: Texts = None,
    overdue: Annotated[bool | None, Query(description="past the current step's deadline")] = None,
    text: Annotated[str | None, Query(max_length=200, description="in the title")] = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: When = None,
    sort: Annotated[str, Query(description="reported_at, updated_at, deadline, support_count "
                               "or position; - for descending")] = "-reported_at",
    limit: Annotated[int, Query(ge=1, le=1000)] = 50,
    offset: Annotated[int, Query(ge=0, le=10**9, description="rows to skip: jumps to a "
                                 "page, but shifts when cases are added before it")] = 0,
    after: Annotated[str | None, Query(max_length=400, description="the next_after of the "
                                       "page before: the rows after it, stable while "
                                       "writers append")] = None,
    min_position: MinPosition = None,
) -> JSONResponse:
    """Cases from the case projection; ``overdue`` is computed now. Answers ``{"data",
    "count", "limit", "offset", "after", "next_after", "position", "head"}``.

    Order: the sort key, then the case id, both in the direction asked; cases without a
    value of the key (no deadline) come last either way, on every store. Paging: follow
    ``next_after`` (an opaque cursor of the last row's sort value and id; null on the last
    page) with ``?after=``: no case is repeated or skipped while others are reported.
    ``offset`` jumps to a row number instead and is not stable under concurrent writes.
    ``count`` is the number of cases the filters select. ``text`` is found in the title
    when both are folded alike: Unicode NFKC, case folding, invisible (default-ignorable)
    characters removed, so ``3号楼`` finds ``３号楼`` and ``ärger`` finds ``ÄRGER``."""
    waited = _wait(request, cases, min_position)
    return _answer(with_case_names(_run(
        queries.list_cases, cases, Scope.of(actor), step=_texts(step), status=status,
        resolution=_texts(resolution), compound=_texts(compound), community=_texts(community),
        category=_texts(category), channel=_texts(channel), overdue=overdue, text=text,
        **_window(from_, to), sort=sort, limit=limit, offset=offset,
        after=after,
    ), cases.directory), waited)


@router.get("/audit", summary="The global audit trail (审计轨迹); ?format=csv",
            responses=_RESPONSES)
def audit(
    request: Request,
    cases: CasesDep,
    actor: ActorDep,
    case_id: Annotated[str | None, Query(max_length=64)] = None,
    actor_id: Annotated[str | None, Query(max_length=200)] = None,
    role: Texts = None,
    type: Texts = None,
    from_: Annotated[datetime | None, Query(alias="from")] = None,
    to: When = None,
    after: Annotated[int, Query(ge=0, le=JSON_SAFE_INTEGER,
                                description="positions after this one")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    format: Format = "json",
    min_position: MinPosition = None,
    bom: Bom = False,
) -> Response:
    """One row per event in global order; JSON pages (``next_after``: the position to pass
    as ``after`` for the next page, null on the last) or the whole matching trail as CSV with
    a header row, one line per event (``bom=true``: after a UTF-8 byte order mark). Tagged
    for ``If-None-Match`` (304) as every read."""
    waited = _wait(request, cases, min_position)
    filters: dict[str, Any] = {
        "case_id": case_id, "actor_id": actor_id, "actor_role": _texts(role),
        "event_type": _texts(type), **_window(from_, to),
    }
    scope = Scope.of(actor)
    if format == "csv":
        fresh = queries.freshness(cases)
        lines: Iterator[str] = _run(queries.audit_csv, cases, scope, after=after, **filters)
        if bom:
            lines = itertools.chain(["\ufeff"], lines)
        return StreamingResponse(
            lines, media_type="text/csv; charset=utf-8",
            headers={**_fresh_headers(fresh), **waited,
                     "Content-Disposition": 'attachment; filename="audit.csv"'},
        )
    return _answer(_run(queries.audit, cases, scope, after=after, limit=limit, **filters), waited)


def _figures(
    payload: dict[str, Any], format: str, name: str, waited: dict[str, str], cases: Cases,
    bom: Bom = False,
) -> Response:
    with_group_names(payload, cases.directory)
    return figures_answer(payload, format, name, bom, {**_fresh_headers(payload), **waited})


async def stats_filters(
    compound: Texts = None,
    community: Texts = None,
    category: Texts = None,
    channel: Texts = None,
    from_: Annotated[datetime | None, Query(alias="from", description="reported at or after")]
    = None,
    to: Annotated[datetime | None, Query(description="reported before")] = None,
    as_of: Annotated[datetime | None, Query(description="the figures as they were then")]
    = None,
) -> dict[str, Any]:
    """The filters every figure takes (the cohort and the moment), as one dependency
    (``async``: no I/O, so no hand-over to a worker thread; ADR 0015)."""
    return {
        "compound": _texts(compound), "community": _texts(community),
        "category": _texts(category), "channel": _texts(channel),
        **_window(from_, to), "as_of": _time("as_of", as_of),
    }


async def grouping(
    group_by: Annotated[list[str] | None, Query(
        description="compound, community, category, channel, assignee, grid, period "
        "(comma-separated or repeated; grid: the grid stamped on the case's report or "
        "collection, null without one)")] = None,
    period: Annotated[Literal["day", "week", "month", "quarter", "year"] | None, Query(
        description="the period of the report date to group by (China time)")] = None,
) -> dict[str, Any]:
    return {"group_by": _texts(group_by), "period": period}


StatsFilters = Annotated[dict[str, Any], Depends(stats_filters)]
Grouping = Annotated[dict[str, Any], Depends(grouping)]


@router.get("/stats/closure", summary="Closure figures (办结率, 解决率, 响应率 ...)",
            responses=_RESPONSES)
def closure(
    request: Request, cases: CasesDep, actor: ActorDep, filters: StatsFilters,
    groups: Grouping, format: Format = "json", min_position: MinPosition = None,
    bom: Bom = False,
) -> Response:
    """For the cases reported in [from, to), as of a moment (default now); see metrics.md
    and docs/adr/0021-metric-definitions.md."""
    waited = _wait(request, cases, min_position)
    payload = _run(queries.closure, cases, Scope.of(actor), **groups, **filters)
    return _figures(payload, format, "closure", waited, cases, bom)


@router.get("/stats/steps", summary="Flow through the steps: backlog, overdue, time, loops",
            responses=_RESPONSES)
def steps(
    request: Request, cases: CasesDep, actor: ActorDep, filters: StatsFilters,
    format: Format = "json", min_position: MinPosition = None,
    bom: Bom = False,
) -> Response:
    """Per step: backlog, overdue, time in step (count, mean, median, p90); and the loops."""
    waited = _wait(request, cases, min_position)
    payload = _run(queries.steps, cases, Scope.of(actor), **filters)
    return _figures(payload, format, "steps", waited, cases, bom)


@router.get("/stats/satisfaction", summary="Satisfaction (满意率)", responses=_RESPONSES)
def satisfaction(
    request: Request, cases: CasesDep, actor: ActorDep, filters: StatsFilters,
    groups: Grouping, format: Format = "json", min_position: MinPosition = None,
    bom: Bom = False,
) -> Response:
    """Each resident's latest rating per case; (satisfied + basically_satisfied) / ratings."""
    waited = _wait(request, cases, min_position)
    payload = _run(queries.satisfaction, cases, Scope.of(actor), **groups, **filters)
    return _figures(payload, format, "satisfaction", waited, cases, bom)
