"""The directory over HTTP (网格化目录): read by every role in its scope, managed by admin.

``GET /directory`` lists the units a reader may see (its scope, the units above it, the
providers serving its compounds), JSON or the import file's CSV; ``GET /directory/{code}``
gives one unit with its providers over time, its team and its history; ``POST
/directory/import`` takes the import file (practices.md) and ``POST /directory/units``
the same fields as JSON, and a grid's team. Changes are bounded by the admin's scope.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr
from starlette.concurrency import run_in_threadpool

from api.http.auth import ActorDep, AdminDep, CasesDep
from api.http.problems import Problem
from api.http.responses import problems
from api.http.routes_projections import Bom
from domain.csvcells import csv_line
from domain.directory import Imported, Level, TeamRole, UnitInfo
from domain.directory.csvfile import COLUMNS, parse, rows_of
from domain.errors import DirectoryRefused
from domain.model import Actor

router = APIRouter(tags=["directory"])

Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
_Text = Annotated[StrictStr, Field(max_length=100)]


class TeamMemberIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["full_time", "part_time", "volunteer"]
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]


class UnitIn(BaseModel):
    """One unit: the import file's columns, and a grid's team ("1+3+N", names sealed)."""

    model_config = ConfigDict(extra="forbid")
    level: Literal["street", "community", "area", "compound", "grid", "provider"]
    code: Annotated[StrictStr, Field(max_length=32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    name: _Text
    parent: Annotated[StrictStr, Field(max_length=32)] | None = None
    name_en: _Text | None = None
    households: Annotated[StrictInt, Field(ge=0, le=100_000)] | None = None
    kind: Literal["property_company", "owners_committee"] | None = None
    provider: Annotated[StrictStr, Field(max_length=32)] | None = None
    provider_from: Annotated[StrictStr, Field(max_length=10)] | None = None
    team: list[TeamMemberIn] | None = Field(default=None, max_length=200)


def unit_out(unit: UnitInfo, directory: Any) -> dict[str, Any]:
    return {
        "level": unit.level.value, "code": unit.code, "name": unit.name,
        "name_en": unit.name_en, "parent": unit.parent,
        "parent_name": directory.view.name_of(unit.parent) if unit.parent else None,
        "households": unit.households, "kind": unit.kind, "provider": unit.provider,
        "provider_from": unit.provider_from,
    }


def _visible(cases: Any, actor: Actor) -> list[UnitInfo]:
    directory = cases.directory
    view = directory.current()
    allowed = directory.visible_to(actor)
    return [u for code, u in sorted(view.units.items())
            if allowed is None or code in allowed]


def _imported(result: Imported) -> dict[str, int]:
    return {"added": result.added, "changed": result.changed,
            "assignments": result.assignments, "events": result.events}


@router.get("/directory", summary="The directory's units in the reader's scope (目录)",
            responses=problems(401, 422))
def list_units(
    cases: CasesDep, actor: ActorDep,
    level: Annotated[Literal["street", "community", "area", "compound", "grid", "provider"]
                     | None, Query()] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    bom: Bom = False,
) -> Response:
    """``{"data": [unit...], "count"}`` (a grid's with its ``team_counts``), or with
    ``format=csv`` the import file's format (practices.md) so a district can round-trip
    its spreadsheet."""
    units = [u for u in _visible(cases, actor) if level is None or u.level.value == level]
    if format == "csv":
        return Response(("\ufeff" if bom else "") + directory_csv(units),
                        media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": 'attachment; filename="directory.csv"'})
    data = [unit_out(u, cases.directory) for u in units]
    for unit, row in zip(units, data, strict=True):  # each grid's team, "1+3+N" (issue 14)
        if unit.level is Level.GRID:
            row["team_counts"] = team_counts(unit)
    return JSONResponse({"data": data, "count": len(data)})


def team_counts(unit: UnitInfo) -> dict[str, int]:
    """A grid team's members per role (full_time, part_time, volunteer): "1+3+N"."""
    return {r.value: sum(1 for m in unit.team if m["role"] == r.value) for r in TeamRole}


def directory_csv(units: list[UnitInfo]) -> str:
    """The units in the import file's format (every cell through the CSV helper)."""
    lines = [csv_line(COLUMNS)]
    for u in units:
        lines.append(csv_line([u.level.value, u.code, u.name, u.parent, u.name_en,
                               u.households, u.kind, u.provider, u.provider_from]))
    return "".join(lines)


@router.get("/directory/{code}", summary="One unit: names, parent, providers over time, "
            "team, history", responses=problems(401, 404, 422))
def get_unit(
    code: Code, cases: CasesDep, actor: ActorDep,
    on: Annotated[str | None, Query(pattern=r"^\d{4}-\d{2}-\d{2}$",
                                    description="the provider serving on this day")] = None,
) -> JSONResponse:
    """Out of scope reads as not found. Team members' names are shown to staff only."""
    directory = cases.directory
    unit = directory.unit(code)
    allowed = directory.visible_to(actor)
    if unit is None or (allowed is not None and code not in allowed):
        raise Problem(404, "unit_not_found", f"no unit {code}")
    out = unit_out(unit, directory)
    out["providers"] = [{"from": start, "provider": provider,
                         "name": directory.view.name_of(provider) if provider else None}
                        for start, provider in unit.providers]
    if on is not None:
        out["provider_on"] = {"day": on, "provider": unit.provider_on(on)}
    out["children"] = [c for c in directory.view.children(code)
                       if allowed is None or c in allowed]
    if unit.level is Level.GRID:
        out["team"] = directory.team(unit, actor)
        out["team_counts"] = team_counts(unit)
    out["history"] = [
        {"version": e.originator_version, "type": type(e).__name__,
         "recorded_at": e.timestamp.isoformat(), "actor": {"id": e.actor_id, "role": e.actor_role},
         "data": _public(e.data), "prev_hash": e.prev_hash, "hash": e.hash}
        for e in directory.history(code)
    ]
    return JSONResponse(out)


def _public(data: dict[str, Any]) -> dict[str, Any]:
    """Event data without sealed envelopes (team names are read through ``team``)."""
    if "members" in data:
        return {"members": [{"role": m["role"]} for m in data["members"]]}
    return data


@router.post("/directory/import", summary="Import the directory file (CSV, practices.md)",
             responses=problems(401, 403, 413, 422))
async def import_file(request: Request, cases: CasesDep, admin: AdminDep) -> JSONResponse:
    """Body: the CSV file (UTF-8, a BOM accepted). Adds and updates by code, removes
    nothing; one bad row refuses the file (422 with each row's line number)."""
    raw = await request.body()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise Problem(422, "invalid_directory", "the file is not UTF-8",
                      errors=[{"line": 0, "field": "file", "message": "not UTF-8"}]) from None
    rows = parse(text)
    result = await run_in_threadpool(cases.directory.apply_rows, rows, admin)
    return JSONResponse(_imported(result))


@router.post("/directory/units", summary="Add or update one unit; a grid's team",
             responses=problems(401, 403, 422))
def put_unit(body: Annotated[UnitIn, Body()], cases: CasesDep, admin: AdminDep
             ) -> JSONResponse:
    record = body.model_dump(exclude_unset=True, exclude={"team"})
    record.setdefault("parent", None)
    result = cases.directory.apply_rows(rows_of([record]), admin)
    if body.team is not None:
        if body.level != "grid":
            raise DirectoryRefused([{"line": 0, "field": "team",
                                     "message": "only a grid has a team"}])
        team = cases.directory.set_team(body.code, [(m.role, m.name) for m in body.team],
                                        admin)
        return JSONResponse({**_imported(result), "team": team,
                             "events": _imported(result)["events"] + team})
    return JSONResponse(_imported(result))
