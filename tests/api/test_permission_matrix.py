"""The permission matrix over HTTP: every role against every event type, in scope and out.

The expectation comes from the domain's own table (``permission_refusal``), never from a
second copy: allowed means 201, refused means 403, and a refusal appends nothing. Cases are
set up with the domain (fast), the attempts go over HTTP to a real server on PostgreSQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from api.http.models import EXAMPLES
from api.http.settings import Settings
from domain.application import Cases
from domain.catalogue import CATALOGUE, validate_data
from domain.clock import ManualClock
from domain.model import Role, Step
from domain.rules import permission_refusal
from tests.api.conftest import LiveServer, Token, Tokens, make_tokens
from tests.api.helpers import append, is_problem
from tests.conftest import POSTGRES_BASE, START, People, report_data
from tests.district import register_district
from tests.stories import advance

#: Where each event type is tried, and what has to have happened in that step first.
PLACES: dict[str, Step] = {
    "ReportMerged": Step.COLLECT, "ProblemCollected": Step.COLLECT, "CaseMerged": Step.COLLECT,
    "TopicFormed": Step.TOPIC, "TopicApproved": Step.REVIEW, "TopicReturned": Step.REVIEW,
    "TopicRejected": Step.REVIEW, "StakeholderConsulted": Step.PRE_CONSULT,
    "MeetingScheduled": Step.PRE_CONSULT, "MeetingHeld": Step.NEGOTIATE,
    "DecisionPublished": Step.PUBLISH, "ObjectionRaised": Step.PUBLISH,
    "PublicityClosed": Step.PUBLISH, "ImplementationAssigned": Step.IMPLEMENT,
    "ImplementationAccepted": Step.IMPLEMENT, "ProgressReported": Step.IMPLEMENT,
    "ImplementationCompleted": Step.IMPLEMENT, "SupervisionRecorded": Step.SUPERVISE,
    "ResidentRated": Step.SUPERVISE, "CaseClosed": Step.SUPERVISE, "CaseReopened": Step.CLOSED,
    "CaseWithdrawn": Step.COLLECT, "CommentAdded": Step.REVIEW,
}


@pytest.fixture(scope="module")
def matrix() -> Iterator[tuple[LiveServer, httpx.Client, Tokens, ManualClock]]:
    schema = f"yishi_t_matrix_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    clock = ManualClock(START)
    server = LiveServer(Settings(database_url=f"{POSTGRES_BASE}?schema={schema}", clock=clock,
                                 projections=False)).start()
    register_district(server.cases)
    client = httpx.Client(base_url=server.url, timeout=60)
    try:
        yield server, client, make_tokens(server), clock
    finally:
        client.close()
        server.stop()
        with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


def prepare(app: Cases, clock: ManualClock, t: Tokens, event_type: str) -> UUID:
    """A case in which ``event_type`` is allowed by the step and every rule of the method."""
    p = People
    case_id = app.report_problem(t.resident.actor, report_data()).case.id
    advance(app, clock, case_id, PLACES[event_type])
    if event_type == "MeetingScheduled":
        app.consult_stakeholder(case_id, p.community, party="物业", opinion="同意")
    if event_type in ("ObjectionRaised",):
        app.publish_decision(case_id, p.community, channels=["公告栏"], notice="公示",
                             publicity_days=5)
    if event_type == "PublicityClosed":
        app.publish_decision(case_id, p.community, channels=["公告栏"], notice="公示",
                             publicity_days=0)
    if event_type in ("ImplementationAccepted", "ProgressReported", "ImplementationCompleted"):
        app.assign_implementation(case_id, p.community, assignee_role="property_company",
                                  assignee="物业", due_at=clock.now() + timedelta(days=9))
    if event_type in ("ProgressReported", "ImplementationCompleted"):
        app.accept_implementation(case_id, p.property)
    if event_type == "CaseClosed":
        app.record_supervision(case_id, p.party, verdict="passed")
    return case_id


def data_for(event_type: str, role: Role, other_case: Callable[[], UUID]) -> dict[str, Any]:
    data = dict(EXAMPLES[event_type])
    if event_type == "ResidentRated" and role is not Role.RESIDENT:
        data = {"satisfaction": "satisfied", "source": "callback", "resident_id": "resident-77"}
    if event_type == "CaseMerged":
        data = {"into_case_id": str(other_case())}
    if event_type == "TopicRejected":
        data = {"reason": "out_of_scope"}
    return data


@pytest.mark.parametrize("event_type", [e for e in CATALOGUE if e != "ProblemReported"])
def test_every_role_against_every_event_type(
    matrix: tuple[LiveServer, httpx.Client, Tokens, ManualClock], event_type: str
) -> None:
    server, client, t, clock = matrix
    app = server.cases

    def other_case() -> UUID:
        return app.report_problem(People.resident, report_data()).case.id

    refused_case = prepare(app, clock, t, event_type)
    before = app.get_case(refused_case).version
    outcome: dict[str, int] = {}
    for role in Role:
        who: Token = t.inside[role]
        data = data_for(event_type, role, other_case)
        case = app.get_case(refused_case)
        clean = validate_data(event_type, data)
        if role is Role.RESIDENT and event_type == "ResidentRated":
            clean.setdefault("resident_id", who.actor.id)
        allowed = permission_refusal(event_type, who.actor, clean, case) is None
        target = prepare(app, clock, t, event_type) if allowed else refused_case
        response = append(client, who, target, event_type, data)
        outcome[role.value] = response.status_code
        if allowed:
            assert response.status_code == 201, (role, response.text)
        else:
            is_problem(response, 403, "forbidden_role")
        # out of scope: refused whatever the role
        outside = append(client, t.outside[role], refused_case, event_type, data)
        is_problem(outside, 403, "out_of_scope")
    assert app.get_case(refused_case).version == before, "a refusal appended something"
    assert 201 in outcome.values() or event_type == "ProblemReported", outcome


def test_every_role_opening_a_case(
    matrix: tuple[LiveServer, httpx.Client, Tokens, ManualClock],
) -> None:
    server, client, t, _clock = matrix
    head = server.cases.head_position()
    opened = 0
    for role in Role:
        allowed = permission_refusal("ProblemReported", t.inside[role].actor, {}, None) is None
        response = client.post("/cases", json=report_data(), headers=t.inside[role].headers)
        if allowed:
            assert response.status_code == 201, response.text
            opened += 1
        else:
            is_problem(response, 403, "forbidden_role")
        outside = client.post("/cases", json=report_data(), headers=t.outside[role].headers)
        assert outside.status_code == 403, outside.text
    assert server.cases.head_position() == head + opened == head + 3
