"""The verifiable log over HTTP (可验证日志): checkpoints, tiles, proofs, case bundles.

Access (docs/adr/0053-what-the-log-proves.md): checkpoints are public (a root hash reveals
nothing); tiles and consistency proofs name every stream, so they are for district-wide
auditors (and admins); a case's proofs and bundle for whoever may read the case.
"""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Query
from fastapi.responses import PlainTextResponse, Response

from api.http.auth import ActorDep, CasesDep
from api.http.problems import FastJSONResponse, Problem
from api.http.reads import read_case
from api.http.responses import problems
from domain.bounds import JSON_SAFE_INTEGER
from domain.model import Actor, Role
from domain.tlog import tiles as tl
from domain.tlog.note import b64
from domain.tlog.tree import ProofError
from projections import tlog_reads as lr
from projections.tlog_signer import latest_checkpoint

router = APIRouter(tags=["log"])


def _auditor(actor: Actor) -> None:
    if actor.role not in (Role.AUDITOR, Role.ADMIN) or not actor.is_district_wide:
        raise Problem(403, "forbidden_role",
                      "the log's tiles and consistency proofs are for district-wide auditors",
                      role=actor.role)


def _latest(cases: Any) -> tuple[int, bytes, str]:
    last = latest_checkpoint(cases.db)
    if last is None:
        raise Problem(404, "no_checkpoint", "the log has no signed checkpoint yet")
    return last


@router.get("/log/checkpoint", response_class=PlainTextResponse,
            summary="The latest signed checkpoint (C2SP tlog-checkpoint), verbatim; public",
            responses=problems(404))
def checkpoint(cases: CasesDep) -> PlainTextResponse:
    return PlainTextResponse(_latest(cases)[2])


@router.get("/log/checkpoints", summary="Every signed checkpoint, oldest first, paged; public",
            responses=problems(422))
def checkpoints(
    cases: CasesDep,
    after: Annotated[int, Query(ge=0, le=JSON_SAFE_INTEGER, description="sizes above this")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> dict[str, Any]:
    rows = lr.checkpoints(cases, after, limit + 1)
    page = rows[:limit]
    return {"checkpoints": [{"size": s, "note": n} for s, n in page],
            "next_after": page[-1][0] if len(rows) > limit else None}


@router.get("/log/tile/{path:path}", summary="C2SP tlog-tiles: hash tiles and entry bundles",
            response_class=Response, responses=problems(401, 403, 404))
def tile(path: str, cases: CasesDep, actor: ActorDep) -> Response:
    _auditor(actor)
    try:
        level, idx, width = tl.parse_tile_path(path)
    except tl.TileError:
        raise Problem(404, "tile_not_found", f"no tile at {path}") from None
    if level == "entries":
        found = lr.entry_bundle(cases, idx)
        if found is None or found[0] < width:
            raise Problem(404, "tile_not_found", f"no tile at {path}")
        data = b"".join(len(e).to_bytes(2, "big") + e
                        for e in tl.decode_entries(found[1])[:width])
    else:
        found = lr.hash_tile(cases, int(level), idx)
        if found is None or found[0] < width:
            raise Problem(404, "tile_not_found", f"no tile at {path}")
        data = found[1][: width * 32]
    return Response(data, media_type="application/octet-stream",
                    headers={"Cache-Control": "public, max-age=31536000, immutable"
                             if width == tl.TILE_WIDTH else "no-cache"})


@router.get("/log/proof/consistency", summary="A consistency proof between two tree sizes",
            responses=problems(401, 403, 422))
def consistency(
    cases: CasesDep, actor: ActorDep,
    from_: Annotated[int, Query(alias="from", ge=1, le=JSON_SAFE_INTEGER)],
    to: Annotated[int, Query(ge=1, le=JSON_SAFE_INTEGER)],
) -> dict[str, Any]:
    _auditor(actor)
    size = _latest(cases)[0]
    if not from_ <= to <= size:
        raise Problem(422, "invalid_range",
                      f"need 1 <= from <= to <= {size} (the latest signed size)")
    try:
        proof = lr.consistency(cases, from_, to)
    except ProofError as error:
        raise Problem(422, "invalid_range", str(error)) from None
    return {"from": from_, "to": to, "proof": [b64(h) for h in proof]}


@router.get("/cases/{case_id}/proof",
            summary="Each event's leaf and inclusion proof against the latest checkpoint",
            responses=problems(401, 404, 422))
def case_proof(
    case_id: UUID, cases: CasesDep, actor: ActorDep,
    version: Annotated[int | None, Query(ge=1, le=2**31)] = None,
    format: Annotated[str | None, Query(pattern="^tlog-proof$")] = None,
) -> Any:
    read_case(cases, case_id, actor)
    proofs = lr.case_proofs(cases, case_id)
    if format is None:  # plain JSON values only: written straight by orjson
        return FastJSONResponse(proofs)
    if version is None:
        raise Problem(422, "invalid_data", "format=tlog-proof answers one event: give version",
                      errors=[{"field": "version", "message": "required with format"}])
    event = next((e for e in proofs["events"] if e["version"] == version), None)
    if event is None:
        raise Problem(404, "version_not_found", f"case {case_id} has no version {version}")
    if not event["covered"]:
        raise Problem(404, "not_covered",
                      f"version {version} is not yet covered by a signed checkpoint")
    return PlainTextResponse(event["tlog_proof"])


@router.get("/cases/{case_id}/export", summary="The case bundle (docs/bundle-format.md)",
            responses=problems(401, 404, 422))
def case_export(
    case_id: UUID, cases: CasesDep, actor: ActorDep,
    since: Annotated[int | None, Query(ge=1, le=JSON_SAFE_INTEGER,
                                       description="add a consistency proof from this size")
                     ] = None,
) -> dict[str, Any]:
    read_case(cases, case_id, actor)
    _latest(cases)
    try:
        return lr.case_bundle(cases, case_id, since)
    except ValueError as error:
        raise Problem(422, "invalid_range", str(error)) from None
