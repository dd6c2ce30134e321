"""Opening cases and reading one case: state, stream, chain (议题)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse

from api.http.auth import ActorDep, CasesDep, IdempotencyDep
from api.http.conditional import ConditionalRoute
from api.http.idempotency import Answer, after_commit
from api.http.models import (
    EXAMPLES,
    CaseOut,
    EventCoverageOut,
    ProblemReportedData,
    StreamOut,
    VerifyOut,
    wire_data,
)
from api.http.problems import Problem, language_of, not_found
from api.http.reads import moment_of, read_case
from api.http.responses import problems
from api.http.views import case_out, event_out
from domain.case import Case
from domain.commands import Command, CommandRow
from projections.tlog_reads import coverage

router = APIRouter(tags=["cases"], route_class=ConditionalRoute)

IdempotencyKey = Annotated[
    str | None,
    Header(
        description="Retry key: the same key and body return the first answer (幂等键)",
        max_length=200,
    ),
]


@router.post(
    "/cases",
    status_code=201,
    response_model=CaseOut,
    summary="Report a problem and open a case (收集问题)",
    responses=problems(400, 401, 403, 413, 422),
)
def report_problem(
    request: Request,
    body: Annotated[
        ProblemReportedData,  # type: ignore[valid-type]
        Body(openapi_examples={"garage": {"summary": "地下车库漏水",
                                          "value": EXAMPLES["ProblemReported"]}}),
    ],
    cases: CasesDep,
    actor: ActorDep,
    idempotency: IdempotencyDep,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Open a case in step collect with the ProblemReported fields. The reporter's contact
    is personal data (个人信息): stored encrypted, shown only to those who need it."""
    data = wire_data(body)

    def answer(case: Case) -> Answer:
        payload = case_out(cases, case, actor).model_dump(mode="json")
        return Answer(201, payload, {"Location": f"/cases/{case.id}", "ETag": f'"{case.version}"'})

    def produce(command: Command) -> Answer:
        case = cases.report_problem(actor, data, command=command).case
        return after_commit(lambda: answer(case), case)

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        return answer(cases.get_case(row.stream_id, version=row.version))

    same_request = ("POST", "/cases", data)
    return idempotency.respond(  # type: ignore[return-value]
        actor.id, idempotency_key, same_request, produce, replay, language_of(request))


@router.get(
    "/cases/{case_id}",
    response_model=CaseOut,
    summary="A case now, at a version, or as it was at a time",
    responses=problems(401, 404, 422),
)
def get_case(
    case_id: UUID,
    cases: CasesDep,
    actor: ActorDep,
    version: Annotated[
        int | None, Query(ge=1, le=2**31, description="State at this version")
    ] = None,
    as_of: Annotated[
        datetime | None, Query(description="State as it was at this time (RFC 3339)")
    ] = None,
) -> JSONResponse:
    """The case now, or a past state (``?version=N``, ``?as_of=T``) judged at its own
    moment: ``overdue`` at T, or at the time version N was recorded.

    ``ETag`` tags this exact answer for this reader (``If-None-Match`` then answers 304
    while nothing in it changed, ``overdue`` and the contact included); to append only at
    this version send ``If-Match: "<version>"`` with the body's ``version``."""
    case = read_case(cases, case_id, actor, version, as_of)
    return JSONResponse(
        case_out(cases, case, actor, moment_of(case, version, as_of)).model_dump(mode="json"),
    )


@router.get(
    "/cases/{case_id}/events",
    response_model=StreamOut,
    summary="The case's full event stream, with actors and hash chain (事件流)",
    responses=problems(401, 404, 422),
)
def get_stream(case_id: UUID, cases: CasesDep, actor: ActorDep) -> StreamOut:
    read_case(cases, case_id, actor)
    events = [event_out(cases, e, actor) for e in cases.history(case_id)]
    return StreamOut(case_id=case_id, events=events, count=len(events),
                     version=events[-1].version if events else 0)


@router.get(
    "/cases/{case_id}/verify",
    response_model=VerifyOut,
    summary="Recompute the case's hash chain (哈希链校验)",
    responses=problems(401, 404, 422),
)
def verify(case_id: UUID, cases: CasesDep, actor: ActorDep) -> VerifyOut:
    try:
        read_case(cases, case_id, actor)
    except Problem:
        raise
    except Exception:  # a stream too damaged to load: only district-wide readers verify it
        if not actor.is_district_wide:
            raise not_found(case_id) from None
    report = cases.verify(case_id)
    return VerifyOut(case_id=case_id, valid=report.valid, events=report.events, head=report.head,
                     broken_at=report.broken_at, reason=report.reason,
                     log=[EventCoverageOut(**c) for c in coverage(cases, case_id)])
