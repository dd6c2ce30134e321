"""Fee collection over HTTP (物业费, 卫生费 收取率): record fee periods, read the figures.

``POST /fees/{compound}/events`` records one event of a compound's fee period (``{"type",
"data"}``, the fee kind and period in the data; practices.md), exactly once under an
``Idempotency-Key``. ``GET /stats/fees`` gives the collection rate (收取率) and the amount
rate per compound, community, fee kind and period (metrics.md), JSON in api.md's shape or
CSV. Who records is the domain's table (domain/fees/rules.py ``RECORDERS``): the
community and the compound's provider; everything else is 403. A value outside its list or
range is 422, a period opened twice, a collection before the opening or a refund beyond what
was collected 409 (problem details, never 500).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Path, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr

from api.http.auth import ActorDep, CasesDep, IdempotencyDep
from api.http.idempotency import Answer
from api.http.names import with_group_names
from api.http.problems import language_of, query_problem
from api.http.responses import figures_answer, problems
from api.http.routes_cases import IdempotencyKey
from api.http.routes_projections import Bom
from domain.application import Cases
from domain.commands import Command, CommandRow
from domain.fees import FeeLedger, FeePeriod, FeeRecorded
from domain.fees.rules import MAX_FEN, MAX_HOUSEHOLDS
from projections.fees import FeeProjection, FeeQuery, fee_figures
from projections.queries import QueryError, Scope

router = APIRouter(tags=["fees"])

Code = Annotated[str, Path(max_length=32, pattern=r"^[A-Za-z0-9_-]{1,32}$")]
FeeKind = Literal["property", "sanitation"]
Period = Annotated[StrictStr, Field(pattern=r"^20\d\d(-(0[1-9]|1[0-2]))?$",
                                    description="YYYY or YYYY-MM")]
Households = Annotated[StrictInt, Field(ge=0, le=MAX_HOUSEHOLDS)]
Fen = Annotated[StrictInt, Field(ge=0, le=MAX_FEN, description="fen (分)")]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fee_kind: FeeKind
    period: Period


class OpenedData(_Data):
    households_billed: Households
    amount_billed_fen: Fen


class CollectedData(_Data):
    households: Households
    amount_fen: Fen
    day: Annotated[StrictStr, Field(pattern=r"^20\d\d-\d\d-\d\d$", description="YYYY-MM-DD")]


class RefundedData(_Data):
    households: Households
    amount_fen: Fen


class FeePeriodOpened(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["FeePeriodOpened"]
    data: OpenedData


class FeesCollected(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["FeesCollected"]
    data: CollectedData


class FeesRefunded(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["FeesRefunded"]
    data: RefundedData


FeeEvent = Annotated[FeePeriodOpened | FeesCollected | FeesRefunded,
                     Field(discriminator="type")]

EXAMPLES = {
    "opened": {"summary": "Open a month's property fee", "value": {
        "type": "FeePeriodOpened", "data": {"fee_kind": "property", "period": "2026-03",
                                            "households_billed": 420,
                                            "amount_billed_fen": 3_780_000}}},
    "collected": {"summary": "Fees collected on a day", "value": {
        "type": "FeesCollected", "data": {"fee_kind": "property", "period": "2026-03",
                                          "households": 35, "amount_fen": 315_000,
                                          "day": "2026-03-12"}}},
}


def fee_out(compound: str, recorded: FeeRecorded) -> dict[str, Any]:
    ledger = recorded.ledger
    return {
        "stream_id": str(recorded.stream_id), "compound_id": compound,
        "version": recorded.version, "position": recorded.position,
        "type": recorded.event_type, "data": recorded.data,
        "recorded_at": recorded.recorded_at.isoformat(), "hash": recorded.hash,
        "period": {"fee_kind": ledger.fee_kind, "period": ledger.period,
                   "households_billed": ledger.households_billed,
                   "households_collected": ledger.households_collected,
                   "households_refunded": ledger.households_refunded,
                   "amount_billed_fen": ledger.amount_billed_fen,
                   "amount_collected_fen": ledger.amount_collected_fen,
                   "amount_refunded_fen": ledger.amount_refunded_fen},
    }


@router.post("/fees/{compound}/events", status_code=201, response_model=None,
             summary="Record a fee period's event (收费记录)",
             responses={201: {"description": "The stored event and the period's totals"},
                        **problems(400, 401, 403, 409, 413, 422)})
def append_fee_event(
    request: Request,
    compound: Code, body: Annotated[FeeEvent, Body(openapi_examples=EXAMPLES)],
    cases: CasesDep, actor: ActorDep, idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> Response:
    """``FeePeriodOpened`` (households billed, amount billed in fen), ``FeesCollected``
    (households, amount in fen, day), ``FeesRefunded`` (households, amount in fen): counts
    and amounts only. Recorded by the community and the compound's provider (403 else;
    domain/fees/rules.py). 409 ``rule_violated``: opened twice, not yet opened, a refund
    beyond what was collected."""
    event_type = body.type
    data = body.data.model_dump()

    def produce(command: Command) -> Answer:
        recorded = cases.fees.record(compound, event_type, data, actor, command=command)
        return Answer(201, fee_out(compound, recorded), {})

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        assert row.version is not None
        events = list(cases.events.get(row.stream_id, lte=row.version))
        event = events[-1]
        assert isinstance(event, FeePeriod.Event)
        ledger = FeeLedger()  # the period as the first answer saw it
        for past in events:
            assert isinstance(past, FeePeriod.Event)
            ledger = ledger.apply(type(past).__name__, past.data)
        position = cases.positions(row.stream_id).get(row.version)  # the first answer's
        recorded = FeeRecorded(row.stream_id, row.version, position, type(event).__name__,
                               event.data, ledger, event.timestamp, event.hash)
        return Answer(201, fee_out(compound, recorded), {})

    same_request = ("POST", f"/fees/{compound}/events", event_type, data)
    return idempotency.respond(actor.id, idempotency_key, same_request, produce, replay,
                               language_of(request))


def projection(request: Request, cases: Cases) -> FeeProjection:
    """This app's fee read model (made on first use, kept in the app's state)."""
    found = getattr(request.app.state, "fee_projection", None)
    if not isinstance(found, FeeProjection) or found._cases is not cases:
        found = FeeProjection(cases)
        request.app.state.fee_projection = found
    return found


Texts = Annotated[list[str] | None, Query()]


def texts(values: list[str] | None) -> list[str]:
    return [v.strip() for value in values or [] for v in value.split(",") if v.strip()]


@router.get("/stats/fees", summary="Fee collection: 收取率 and amount rate",
            responses=problems(401, 422))
def stats_fees(
    request: Request, cases: CasesDep, actor: ActorDep,
    compound: Texts = None, community: Texts = None,
    fee_kind: Annotated[list[str] | None, Query(description="property, sanitation")] = None,
    period: Annotated[list[str] | None, Query(
        description="YYYY (the year and its months) or YYYY-MM")] = None,
    group_by: Annotated[list[str] | None, Query(
        description="compound, community, fee_kind, period (comma-separated or repeated; "
        "default compound,fee_kind,period)")] = None,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
    bom: Bom = False,
) -> Response:
    """``{"position", "head", "group_by", "groups": [{"group", "names", "households_billed",
    "households_paid", "collection_rate", "amount_billed_fen", "amount_collected_fen",
    "amount_refunded_fen", "amount_paid_fen", "amount_rate", "periods"}]}``: metrics.md's
    figures over the periods in the reader's scope; rates null where nothing was billed."""
    reader = cases.directory.resolve(actor)
    query = FeeQuery(compound=texts(compound), community=texts(community),
                     fee_kind=texts(fee_kind), period=texts(period),
                     group_by=texts(group_by) or ("compound", "fee_kind", "period"))
    try:
        payload = fee_figures(projection(request, cases), Scope.of(reader), query)
    except QueryError as error:
        raise query_problem(error) from None
    with_group_names(payload, cases.directory)
    return figures_answer(payload, format, "fees", bom)
