"""Appending events to a case, and the global log for integrations (事件)."""

from __future__ import annotations

from collections import OrderedDict
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Header, Query, Request
from fastapi.responses import JSONResponse

from api.http.auth import ActorDep, CasesDep, IdempotencyDep, SettingsDep
from api.http.conditional import ConditionalRoute, versions_matching
from api.http.idempotency import Answer, after_commit
from api.http.models import APPEND_EXAMPLES, AppendedOut, AppendEvent, LogOut, wire_data
from api.http.problems import Problem, language_of
from api.http.responses import problems
from api.http.routes_cases import IdempotencyKey
from api.http.views import appended_out, event_out
from domain.application import Cases
from domain.bounds import JSON_SAFE_INTEGER
from domain.case import Case, event_type_of
from domain.case_reads import StoredCaseEvent
from domain.commands import Command, CommandRow
from domain.errors import CaseNotFound, VersionConflict
from domain.model import Actor

router = APIRouter(tags=["events"], route_class=ConditionalRoute)

IfMatch = Annotated[
    str | None,
    Header(description='Append only if the case is at one of these versions: "<version>", '
           'a list ("3", "4") or * (乐观锁; RFC 9110 strong comparison: weak tags never match)',
           max_length=200),
]


def expected_version(
    cases: Cases, case_id: UUID, actor: Actor, accepted: frozenset[int] | None
) -> int | None:
    """The version to append at, when If-Match named ``accepted`` versions: the current one
    if it is among them (412 ``version_conflict`` otherwise); None without a condition."""
    if accepted is None:
        return None
    if len(accepted) == 1:
        return next(iter(accepted))  # the domain compares, atomically with the append
    current = cases.get_case(case_id, reader=actor).version
    if current not in accepted:
        raise Problem(412, "version_conflict",
                      f"case {case_id} is at version {current}, not one If-Match names",
                      {"ETag": f'"{current}"'}, expected_versions=sorted(accepted),
                      current_version=current)
    return current


@router.post(
    "/cases/{case_id}/events",
    status_code=201,
    response_model=None,
    summary="Append an event to a case (记录事件)",
    responses={
        201: {"model": AppendedOut, "description": "The appended event and the case's new step"},
        **problems(400, 401, 403, 404, 409, 412, 413, 422),
    },
)
def append_event(
    request: Request,
    case_id: UUID,
    body: Annotated[AppendEvent, Body(openapi_examples=APPEND_EXAMPLES)],
    cases: CasesDep,
    actor: ActorDep,
    idempotency: IdempotencyDep,
    if_match: IfMatch = None,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    """Append one event of the domain catalogue. The step, the role and the scope decide;
    a refusal appends nothing. The actor is always the token's, never the body's."""
    accepted = versions_matching(if_match)
    event_type: str = body.type
    data = wire_data(body.data)

    def answer(event: StoredCaseEvent, case: Case) -> Answer:
        payload = appended_out(cases, event, case, actor).model_dump(mode="json")
        return Answer(201, payload, {"ETag": f'"{event.version}"',
                                     "Location": f"/cases/{case_id}"})

    def produce(command: Command) -> Answer:
        expected = expected_version(cases, case_id, actor, accepted)
        try:
            recorded = cases.record(case_id, event_type, data, actor, expected_version=expected,
                                    command=command)
        except VersionConflict as conflict:
            if expected is not None:
                raise
            raise Problem(409, "concurrent_update",
                          "other writers kept changing the case; retry",
                          {"Retry-After": "0"}, current_version=conflict.current) from None
        return after_commit(lambda: answer(recorded.event, recorded.case), recorded.case)

    def replay(row: CommandRow) -> Answer:
        assert row.stream_id is not None
        assert row.version is not None
        event = cases.history(row.stream_id, up_to=row.version)[-1]
        return answer(event, cases.get_case(row.stream_id, version=row.version))

    condition = None if accepted is None else sorted(accepted)
    same_request = ("POST", f"/cases/{case_id}/events", condition, event_type, data)
    return idempotency.respond(  # type: ignore[return-value]
        actor.id, idempotency_key, same_request, produce, replay, language_of(request))


@router.get(
    "/events",
    response_model=LogOut,
    summary="The global log from a position, in order, within the token's scope (全局日志)",
    responses=problems(401, 422),
)
def read_log(
    request: Request,
    cases: CasesDep,
    actor: ActorDep,
    settings: SettingsDep,
    after: Annotated[int, Query(ge=0, le=JSON_SAFE_INTEGER,
                                description="Position to read after")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000, description="Most events to return")] = 100,
) -> LogOut:
    """Events after ``after`` in log order; ``next_after`` is the position to read after
    next (stable: positions never move). Tagged for ``If-None-Match`` (304) as every read."""
    limit = min(limit, settings.max_page)
    scopes: ScopeCache = request.app.state.case_scopes
    head = cases.head_position()
    events = []
    scanned = after
    for _round in range(20):
        page = cases.recorder.select_notifications(start=scanned + 1, limit=limit)
        for notification in page:
            scanned = notification.id
            event = cases.mapper.to_domain_event(notification)
            if not isinstance(event, Case.Event):
                continue
            if _covers(cases, scopes, actor, event):
                stored = StoredCaseEvent.of(event, notification.id)
                events.append(event_out(cases, stored, actor))
                if len(events) >= limit:
                    break
        if len(events) >= limit or len(page) < limit:
            break
    return LogOut(events=events, count=len(events), after=after, next_after=scanned, head=head,
                  limit=limit)


class ScopeCache(OrderedDict[UUID, tuple[str, str]]):
    """Each case's (compound, community), which never change: the least recently used are
    forgotten past ``maxsize``, so the memory of a server does not grow with the store."""

    def __init__(self, maxsize: int = 50_000) -> None:
        super().__init__()
        self.maxsize = maxsize

    def remember(self, case_id: UUID, scope: tuple[str, str]) -> None:
        self[case_id] = scope
        if len(self) > self.maxsize:
            self.popitem(last=False)


def _covers(cases: Cases, scopes: ScopeCache, actor: Actor, event: Any) -> bool:
    if actor.is_district_wide:
        return True
    case_id = event.originator_id
    scope = scopes.get(case_id)
    if scope is None:
        if event_type_of(event) == "ProblemReported":
            scope = (event.data["compound_id"], event.data["community_id"])
        else:
            try:
                case = cases.get_case(case_id)
            except CaseNotFound:
                return False
            scope = (case.compound_id, case.community_id)
        scopes.remember(case_id, scope)
    return actor.covers(*scope)
