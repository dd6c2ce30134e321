"""Providers and the red/black list over HTTP (红黑榜): figures, a provider's history, and
its ratings, summons and replacements.

- ``GET /stats/providers?month=YYYY-MM[&community=&compound=][&format=csv]``: every
  provider with its month's counts, rates, score, rank and list (api.md's shape); a
  provider's credential reads its own row only; ranks are the whole street's.
- ``GET /providers/{code}``: the provider, its ratings, summons, the compounds it served
  and when, and its stream's events with their hashes.
- ``POST /providers/{code}/events``: ``{"type", "data"}`` with ``ProviderRegistered``,
  ``ProviderRated``, ``ProviderSummoned``, or ``ProviderAssigned`` (a replacement: ``code``
  serves ``data.compound`` from ``data.from``); who may is domain/providers/rules.py.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from api.http.auth import ActorDep, CasesDep, IdempotencyDep, SettingsDep
from api.http.idempotency import Answer
from api.http.problems import FastJSONResponse, Problem, language_of
from api.http.responses import problems
from api.http.routes_cases import IdempotencyKey
from api.http.routes_projections import Bom, _wait
from domain.commands import Command, CommandRow
from domain.csvcells import csv_line
from domain.directory.model import Level
from domain.providers.attribution import CHINA
from domain.providers.rules import PROVIDER_EVENTS, parse_month
from domain.providers.service import ProviderRecorded
from projections.provider_figures import CSV_COLUMNS, csv_cells, month_rows, served_in

router = APIRouter(tags=["providers"])

Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
_Codes = Annotated[list[str] | None, Query(max_length=100)]


class ProviderEventIn(BaseModel):
    """A provider event: its type and data (the fields of each in api.md and the README)."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [
        {"type": "ProviderRated", "data": {"month": "2026-10", "score": 86,
                                           "comment": "垃圾清运及时"}},
        {"type": "ProviderSummoned", "data": {"date": "2026-11-03",
                                              "reason": "连续两月满意率低于70%",
                                              "outcome": "限期整改"}},
        {"type": "ProviderAssigned", "data": {"compound": "JX", "from": "2026-12-01",
                                              "summons_version": 4}},
    ]})
    type: Literal["ProviderRegistered", "ProviderRated", "ProviderSummoned", "ProviderAssigned"]
    data: dict[str, Any] = Field(default_factory=dict)


def _previous_month() -> str:
    first = datetime.now(CHINA).replace(day=1)
    return (first - timedelta(days=1)).strftime("%Y-%m")


def _codes(values: list[str] | None) -> list[str]:
    return [p.strip() for v in values or [] for p in v.split(",") if p.strip()]


@router.get("/stats/providers", summary="The red/black list: each provider's month (红黑榜)",
            responses=problems(401, 422))
def provider_stats(
    request: Request, cases: CasesDep, actor: ActorDep, settings: SettingsDep,
    month: Annotated[str | None, Query(
        description="YYYY-MM (China time); default: last month")] = None,
    compound: _Codes = None,
    community: _Codes = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    bom: Bom = False,
    min_position: Annotated[int | None, Query(ge=0, le=2**53 - 1, description=(
        "wait (boundedly) until the read models have processed this log position"))] = None,
) -> Response:
    """``{"position", "head", "month", "providers": [...], "names"}``: per provider its
    orders, each rate with its counts (``{"count", "of"}``), ``overdue_open``,
    ``community_rating``, ``score`` (0-100), ``rank`` and ``list`` (``red``, ``black`` or
    null) as metrics.md defines them. Rows and their counts follow the reader's scope and
    the filters; ``rank``, ``list`` and ``street_score`` are the whole street's."""
    name = month or _previous_month()
    try:
        parse_month(name)
    except ValueError as error:
        raise Problem(422, "invalid_query", f"month {error}", field="month") from None
    waited = _wait(request, cases, min_position)
    view = cases.directory.current()
    answer = month_rows(cases.db, view, name, actor, settings.provider_rules,
                        _codes(compound) or None, _codes(community) or None)
    head = cases.head_position()
    if format == "csv":
        lines = [csv_line(CSV_COLUMNS), *(csv_line(csv_cells(r)) for r in answer.providers)]
        return Response(("\ufeff" if bom else "") + "".join(lines),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition":
                                 f'attachment; filename="providers-{name}.csv"',
                                 "X-Projection-Position": str(answer.position),
                                 "X-Log-Head": str(head), **waited})
    codes = {r["provider"] for r in answer.providers}
    codes |= {c for r in answer.providers for c in r["compounds"]}
    names = {c: view.name_of(c) for c in sorted(codes)}
    return FastJSONResponse({"position": answer.position, "head": head, "month": name,
                             "providers": answer.providers, "names": names},
                            headers={"X-Projection-Position": str(answer.position),
                                     "X-Log-Head": str(head), **waited})


@router.get("/providers/{code}", summary="A provider: ratings, summons, compounds served",
            responses=problems(401, 404, 422))
def get_provider(code: Code, cases: CasesDep, actor: ActorDep) -> JSONResponse:
    """The provider's ratings and summons (from its stream), the compounds it served and
    when (from the directory, those the reader may see), and its stream's events with
    their chain hashes. A provider outside the reader's scope reads as not found."""
    directory = cases.directory
    unit = directory.unit(code)
    allowed = directory.visible_to(actor)
    hidden = (allowed is not None and code not in allowed) or (
        actor.provider is not None and actor.provider != code)
    if unit is None or unit.level is not Level.PROVIDER or hidden:
        raise Problem(404, "provider_not_found", f"no provider {code}")
    view = directory.view
    served = []
    for compound in view.served_by(code):
        if allowed is not None and compound not in allowed:
            continue
        timeline = sorted(view.units[compound].providers, key=lambda entry: entry[0])
        for n, (start, provider) in enumerate(timeline):
            if provider == code:
                until = timeline[n + 1][0] if n + 1 < len(timeline) else None
                served.append({"compound": compound, "name": view.name_of(compound),
                               "from": start, "until": until})
    events = cases.providers.history(code)
    ratings, summons, history = [], [], []
    for e in events:
        kind = type(e).__name__
        stamp = {"version": e.originator_version, "recorded_at": e.timestamp.isoformat(),
                 "actor": {"id": e.actor_id, "role": e.actor_role}}
        if kind == "ProviderRated":
            ratings.append({**e.data, **stamp})
        elif kind == "ProviderSummoned":
            summons.append({**e.data, **stamp})
        history.append({**stamp, "type": kind, "data": e.data, "prev_hash": e.prev_hash,
                        "hash": e.hash})
    return JSONResponse({
        "provider": code, "name": unit.name, "name_en": unit.name_en, "kind": unit.kind,
        "registered": bool(events), "compounds": served, "ratings": ratings,
        "summons": summons, "history": history,
    })


@router.post("/providers/{code}/events", status_code=201,
             summary="Record a rating, a summons (约谈) or a replacement (更换)",
             responses=problems(401, 403, 409, 422))
def post_provider_event(request: Request, code: Code,
                        body: Annotated[ProviderEventIn, Body()], cases: CasesDep,
                        actor: ActorDep, idempotency: IdempotencyDep,
                        idempotency_key: IdempotencyKey = None) -> Response:
    """201 with ``{"provider", "type", "version", "position", "data"}``. Types:
    ProviderRegistered (no data: from the directory; street or admin), ProviderRated
    (``month`` YYYY-MM, ``score`` 0-100, ``comment``; street, or a community for the
    providers of its compounds), ProviderSummoned (``date``, ``reason``, ``outcome``;
    street), ProviderAssigned (``compound``, ``from`` YYYY-MM-DD, ``summons_version`` of
    the predecessor's summons, ``note``; street or admin). A rating or summons of a provider
    whose stream is not open yet opens it (``ProviderRegistered``) in the same transaction.
    Bad data is 422; a role or scope that may not, 403. ``Idempotency-Key``: a retry with
    the same key and body returns the first answer and records nothing (docs/adr/0040)."""
    assert body.type in PROVIDER_EVENTS

    def answer(recorded: ProviderRecorded) -> Answer:
        return Answer(201, {"provider": code, "type": recorded.type,
                            "version": recorded.version, "position": recorded.position,
                            "data": recorded.data})

    def produce(command: Command) -> Answer:
        return answer(cases.providers.record(code, body.type, body.data, actor, command))

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        assert row.version is not None
        recorded = cases.providers.recorded(row.stream_id, row.version)
        assert recorded is not None
        return answer(recorded)

    same_request = ("POST", f"/providers/{code}/events", body.type, body.data)
    return idempotency.respond(actor.id, idempotency_key, same_request, produce, replay,
                               language_of(request))


__all__ = ["router", "served_in"]
