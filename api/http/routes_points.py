"""Participation points over HTTP (积分制): participants, ledgers and the leaderboard.

``POST /points`` registers a participant, ``GET /points/{participant_id}`` reads one with
its ledger, ``POST /points/{participant_id}/events`` records volunteer hours, a redemption,
a reversal or a link, ``GET /stats/points`` gives the figures with masked names (api.md,
practices.md "Participation points"). Community staff write within their compounds; staff
read within their scope; a resident reads only the participant linked to them. A
redemption or reversal beyond the balance is 409 ``balance_too_low`` with the balance.

Both writes accept an ``Idempotency-Key`` and run through the exactly-once machinery of
case appends (api/http/idempotency.py, docs/adr/0102-points-writes-exactly-once.md): the
command's row commits with the ledger's event; a retry with the same key gets the first
answer (``Idempotent-Replayed: true``), a refusal replayed as the same refusal; the same key
with another body is 422 ``idempotency_key_reused``; 503 ``outcome_unknown`` or
``store_unavailable`` when the store could not say or was busy.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from api.http.auth import ActorDep, CasesDep, CredentialsDep, IdempotencyDep
from api.http.idempotency import Answer
from api.http.names import with_group_names
from api.http.problems import Problem, language_of, problem_of
from api.http.responses import problems
from api.http.routes_cases import IdempotencyKey
from api.http.routes_projections import Bom
from domain.commands import Command, CommandRow
from domain.csvcells import csv_line
from domain.errors import DomainError
from domain.model import Actor, Role
from domain.points import BalanceTooLow, NotReversible, Participant, ParticipantNotFound
from domain.points.ledger import KINDS, ResidentLinked
from domain.points.masking import mask_name
from domain.points.rules import MAX_HOURS, MAX_POINTS
from projections.points_figures import GROUP_BY, MAX_TOP, TOP, points_stats
from projections.queries import QueryError

MONTH = re.compile(r"20\d\d-(0[1-9]|1[0-2])")

router = APIRouter(tags=["points"])

_Text = Annotated[StrictStr, Field(min_length=1, max_length=200)]
_FORBID = ConfigDict(extra="forbid")


class ParticipantIn(BaseModel):
    """A participant to register (参与者登记): the name is personal data, sealed."""

    model_config = _FORBID
    compound_id: Annotated[StrictStr, Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")]
    kinds: Annotated[list[Literal["resident", "party_member", "volunteer"]],
                     Field(min_length=1, max_length=len(KINDS))]
    name: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    resident_id: Annotated[StrictStr, Field(min_length=1, max_length=128)] | None = Field(
        default=None, description="The id of a resident's credential to link")


class HoursData(BaseModel):
    model_config = _FORBID
    rule: Literal["volunteer_hours"]
    hours: Annotated[StrictInt, Field(ge=1, le=MAX_HOURS)]
    note: _Text | None = None


class RedeemData(BaseModel):
    model_config = _FORBID
    reward: _Text = Field(description="What the points buy: a fee discount, vouchers")
    points: Annotated[StrictInt, Field(ge=1, le=MAX_POINTS)]


class ReverseData(BaseModel):
    model_config = _FORBID
    award_version: Annotated[StrictInt, Field(ge=2, le=2**31 - 1)]
    reason: _Text


class LinkData(BaseModel):
    model_config = _FORBID
    resident_id: Annotated[StrictStr, Field(min_length=1, max_length=128)]


class PointsAwardedIn(BaseModel):
    model_config = _FORBID
    type: Literal["PointsAwarded"]
    data: HoursData


class PointsRedeemedIn(BaseModel):
    model_config = _FORBID
    type: Literal["PointsRedeemed"]
    data: RedeemData


class PointsReversedIn(BaseModel):
    model_config = _FORBID
    type: Literal["PointsReversed"]
    data: ReverseData


class ParticipantLinkedIn(BaseModel):
    model_config = _FORBID
    type: Literal["ParticipantLinked"]
    data: LinkData


LedgerEventIn = Annotated[
    PointsAwardedIn | PointsRedeemedIn | PointsReversedIn | ParticipantLinkedIn,
    Field(discriminator="type"),
]


def refusal(error: DomainError) -> Problem:
    """The problem of a points refusal: 404 for a participant not found (or out of scope),
    409 with the balance for ``balance_too_low``, else the shared mapping."""
    if isinstance(error, ParticipantNotFound):
        return Problem(404, error.code, str(error))
    if isinstance(error, BalanceTooLow):
        return Problem(409, error.code, str(error), balance=error.balance, points=error.points)
    if isinstance(error, NotReversible):
        return Problem(409, error.code, str(error), award_version=error.version)
    if isinstance(error, ResidentLinked):
        return Problem(409, error.code, str(error), participant_id=error.participant_id)
    return problem_of(error)


def _must_be_resident(credentials: Any, resident_id: str | None, compound: str | None) -> None:
    """A linked credential is a live resident's credential of the participant's compound
    (422 otherwise); checked here because credentials belong to the API."""
    if resident_id is None:
        return
    found = credentials.get(resident_id)
    if found is None or found.role is not Role.RESIDENT or found.revoked_at is not None or (
            compound is not None and found.compounds and compound not in found.compounds):
        raise Problem(422, "invalid_data", "resident_id: not a resident credential of the"
                      " participant's compound",
                      errors=[{"field": "resident_id",
                               "message": "not a resident credential of this compound"}])


def _shows_name(reader: Actor, participant: Participant) -> bool:
    return reader.role in (Role.COMMUNITY, Role.ADMIN) or (
        reader.role is Role.RESIDENT and participant.resident_id == reader.id)


def participant_out(cases: Any, participant: Participant, reader: Actor,
                    events: bool = True) -> dict[str, Any]:
    """``{"participant_id", "compound_id", "balance", "events"}`` (api.md) with the
    community, kinds, the linked resident, and the name (plain for community staff, admin
    and the linked resident; masked for other staff; null once erased)."""
    name = cases.points.name_of(participant)
    out: dict[str, Any] = {
        "participant_id": str(participant.id), "compound_id": participant.compound_id,
        "community_id": participant.community_id, "kinds": participant.kinds,
        "resident_id": participant.resident_id, "balance": participant.balance,
        "version": participant.version,
        "name": name if _shows_name(reader, participant) else mask_name(name),
        "name_erased": name is None,
    }
    if events:
        out["events"] = [
            {"version": e.originator_version, "type": type(e).__name__,
             "data": {k: v for k, v in e.data.items() if k != "name"},
             "actor": {"id": e.actor_id, "role": e.actor_role},
             "recorded_at": e.timestamp.isoformat(), "position": position,
             "prev_hash": e.prev_hash, "hash": e.hash}
            for position, e in cases.points.history(participant.id)
            if e.originator_version <= participant.version  # as of a replayed answer
        ]
    return out


@router.post("/points", status_code=201, summary="Register a participant (参与者登记)",
             response_model=None, responses=problems(400, 401, 403, 409, 422))
def register(request: Request, body: Annotated[ParticipantIn, Body()], cases: CasesDep,
             actor: ActorDep, credentials: CredentialsDep, idempotency: IdempotencyDep,
             idempotency_key: IdempotencyKey = None) -> Response:
    """Community staff register a participant of a compound in their scope. The name is
    sealed under ``participant:<id>`` (erasable). ``resident_id`` names a resident's
    credential of that compound, linked to no other participant (409 ``resident_linked``).
    Answers the participant (201), exactly once under an ``Idempotency-Key``."""
    data = body.model_dump(exclude_none=True)

    def produce(command: Command) -> Answer:
        _must_be_resident(credentials, body.resident_id, body.compound_id)
        try:
            participant = cases.points.register(actor, data, command=command)
        except DomainError as error:
            raise refusal(error) from None
        return _registered(participant)

    def _registered(participant: Participant) -> Answer:
        return Answer(201, participant_out(cases, participant, actor),
                      {"Location": f"/points/{participant.id}"})

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        assert row.version is not None
        return _registered(cases.points.at(row.stream_id, row.version))

    same_request = ("POST", "/points", data)
    return idempotency.respond(actor.id, idempotency_key, same_request, produce, replay,
                               language_of(request))


@router.get("/points/{participant_id}", summary="A participant and their ledger",
            responses=problems(401, 404, 422))
def get_participant(participant_id: UUID, cases: CasesDep, actor: ActorDep) -> JSONResponse:
    """Staff within scope, or the resident linked to the participant; 404 otherwise."""
    try:
        participant = cases.points.get(participant_id, actor)
    except DomainError as error:
        raise refusal(error) from None
    return JSONResponse(participant_out(cases, participant, actor))


@router.post("/points/{participant_id}/events", status_code=201, response_model=None,
             summary="Record volunteer hours, a redemption, a reversal or a link",
             responses={**problems(400, 401, 403, 404, 422),
                        409: {"description": "balance_too_low (with balance) or "
                                             "not_reversible (problem+json)"}})
def record(request: Request, participant_id: UUID, body: Annotated[LedgerEventIn, Body()],
           cases: CasesDep, actor: ActorDep, credentials: CredentialsDep,
           idempotency: IdempotencyDep, idempotency_key: IdempotencyKey = None) -> Response:
    """``{"type", "data"}``: ``PointsAwarded`` (rule ``volunteer_hours``, hours 1-24: the
    points are hours x the configured points per hour), ``PointsRedeemed`` (reward,
    points), ``PointsReversed`` (award_version, reason), ``ParticipantLinked``
    (resident_id). Beyond the balance: 409 ``balance_too_low`` with ``balance``. Exactly
    once under an ``Idempotency-Key``: a retry never records hours or a redemption twice,
    and a refusal is replayed as the same refusal."""
    data = body.data.model_dump(exclude_none=True)

    def produce(command: Command) -> Answer:
        if isinstance(body, ParticipantLinkedIn):
            _must_be_resident(credentials, body.data.resident_id, None)
        try:
            participant, version = cases.points.record(
                participant_id, actor, body.type, data, command=command)
        except DomainError as error:
            raise refusal(error) from None
        return _recorded(participant, version)

    def _recorded(participant: Participant, version: int) -> Answer:
        out = participant_out(cases, participant, actor, events=False)
        position, event = next((p, e) for p, e in cases.points.history(participant.id)
                               if e.originator_version == version)
        out["event"] = {"version": version, "type": type(event).__name__,
                        "data": event.data, "position": position}
        return Answer(201, out, {})

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        assert row.version is not None
        return _recorded(cases.points.at(row.stream_id, row.version), row.version)

    same_request = ("POST", f"/points/{participant_id}/events", body.type, data)
    return idempotency.respond(actor.id, idempotency_key, same_request, produce, replay,
                               language_of(request))


@router.get("/stats/points", summary="Participation points per compound or community",
            responses=problems(401, 422))
def stats(
    cases: CasesDep, actor: ActorDep,
    group_by: Annotated[str, Query(description="compound (default) or community")
                        ] = "compound",
    month: Annotated[str | None, Query(description="YYYY-MM, China time, 2000-2099")] = None,
    top: Annotated[int, Query(ge=1, le=MAX_TOP)] = TOP,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    bom: Bom = False,
) -> Response:
    """``{"position", "head", "groups": [{"group", "names", "participants", "awarded",
    "redeemed", "reversed", "top": [{"participant_id", "name", "balance"}]}]}`` with names
    masked (张*, 欧阳**), within the reader's scope; ``format=csv`` one row per top entry."""
    # Bad values are invalid_query naming the field, as on every stats endpoint (README).
    if group_by not in GROUP_BY:
        raise QueryError(f"unknown group_by {group_by!r}", "group_by", tuple(GROUP_BY))
    if month is not None and MONTH.fullmatch(month) is None:
        raise QueryError(f"month {month!r} is not YYYY-MM (2000-01 to 2099-12)", "month")
    payload = with_group_names(points_stats(cases, actor, group_by=group_by, month=month,
                                            top=top), cases.directory)
    if format == "csv":
        return Response(("\ufeff" if bom else "") + stats_csv(payload, group_by),
                        media_type="text/csv; charset=utf-8")
    return JSONResponse(payload)


def stats_csv(payload: dict[str, Any], group_by: str) -> str:
    """One line per group and rank (every cell through the CSV helper). The headers are the
    JSON's paths, dotted as in the other stats CSVs (``group.compound_id``, ``top.name``)."""
    key = f"{group_by}_id"
    lines = [csv_line([f"group.{key}", f"names.{key}", "participants", "awarded", "redeemed",
                       "reversed", "top.rank", "top.participant_id", "top.name",
                       "top.balance"])]
    for group in payload["groups"]:
        code = group["group"][f"{group_by}_id"]
        head = [code, group.get("names", {}).get(f"{group_by}_id"), group["participants"],
                group["awarded"], group["redeemed"], group["reversed"]]
        for rank, entry in enumerate(group["top"], start=1):
            lines.append(csv_line([*head, rank, entry["participant_id"], entry["name"],
                                   entry["balance"]]))
        if not group["top"]:
            lines.append(csv_line([*head, None, None, None, None]))
    return "".join(lines)
