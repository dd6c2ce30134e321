"""Valid commands for every event type, and cases prepared so that each one can pass.

The transition walk and the permission walk both need, for any step and event type, an
actor whose role is permitted and data that the catalogue and the guards accept. Nothing
here decides what is allowed: the tests compare the application's answer with the tables.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Actor, Role, Step
from tests.conftest import People, report_data
from tests.stories import advance, open_case

#: One in-scope actor of each role (the resident is the one who reports in the stories).
ROLE_ACTORS: dict[Role, Actor] = {
    Role.RESIDENT: People.resident,
    Role.GRID_WORKER: People.grid,
    Role.COMMUNITY: People.community,
    Role.PARTY_BRANCH: People.party,
    Role.OWNERS_COMMITTEE: People.owners,
    Role.PROPERTY_COMPANY: People.property,
    Role.AUDITOR: People.auditor,
    Role.ADMIN: People.admin,
    Role.STREET: People.street,
}

#: A permitted actor for each event type on a case built by ``tests.stories`` (the work is
#: assigned to the property company there).
PERMITTED: dict[str, Actor] = {
    "ProblemReported": People.resident,
    "ReportMerged": People.grid,
    "ProblemCollected": People.grid,
    "CaseMerged": People.grid,
    "TopicFormed": People.grid,
    "TopicApproved": People.party,
    "TopicReturned": People.party,
    "TopicRejected": People.community,
    "StakeholderConsulted": People.community,
    "MeetingScheduled": People.community,
    "MeetingHeld": People.owners,
    "DecisionPublished": People.community,
    "ObjectionRaised": People.neighbour,
    "PublicityClosed": People.community,
    "ImplementationAssigned": People.community,
    "ImplementationAccepted": People.property,
    "ProgressReported": People.property,
    "ImplementationCompleted": People.property,
    "SupervisionRecorded": People.party,
    "ResidentRated": People.neighbour,
    "CaseClosed": People.community,
    "CaseReopened": People.community,
    "CaseWithdrawn": People.community,
    "CommentAdded": People.owners,
}


def valid_data(
    event_type: str,
    *,
    clock: ManualClock,
    step: Step | None = None,
    actor: Actor | None = None,
    merge_into: UUID | None = None,
    variant: str | None = None,
) -> dict[str, Any]:
    """Data the catalogue accepts for the event type (and that its guard accepts, given a
    case prepared by ``prepare``). ``variant`` picks a branch: agreed/not_agreed,
    passed/failed."""
    now = clock.now()
    if event_type == "ProblemReported":
        return report_data()
    if event_type == "ReportMerged":
        return {"note": "又一位居民反映同一问题"}
    if event_type == "ProblemCollected":
        return {"category": "facilities", "description": "核实: 地库漏水"}
    if event_type == "CaseMerged":
        assert merge_into is not None, "a merge needs a case to merge into"
        return {"into_case_id": str(merge_into), "note": "同一问题"}
    if event_type == "TopicFormed":
        return {"title": "车库防水", "question": "如何出资修缮?", "parties": ["业委会", "物业"]}
    if event_type == "TopicApproved":
        return {"opinion": "同意"}
    if event_type == "TopicReturned":
        return {"rework": "补充费用测算"}
    if event_type == "TopicRejected":
        return {"reason": "referred", "referred_to": "区住建局"}
    if event_type == "StakeholderConsulted":
        return {"party": "物业", "representative": "王经理", "opinion": "愿意出资一半"}
    if event_type == "MeetingScheduled":
        return {"scheduled_at": (now + timedelta(days=2)).isoformat(), "venue": "社区议事厅",
                "invited": ["业委会", "物业"]}
    if event_type == "MeetingHeld":
        if variant == "not_agreed":
            return {"attendees": 20, "votes": {"for": 5, "against": 12, "abstain": 3},
                    "outcome": "not_agreed"}
        return {"attendees": 23, "votes": {"for": 18, "against": 3, "abstain": 2},
                "outcome": "agreed", "resolution_text": "物业与业委会各出一半"}
    if event_type == "DecisionPublished":
        return {"channels": ["公告栏", "微信群"], "notice": "公示协商结果", "publicity_days": 5}
    if event_type == "ObjectionRaised":
        return {"objection": "费用分摊不公平"}
    if event_type == "PublicityClosed":
        return {"note": "公示期内无异议"}
    if event_type == "ImplementationAssigned":
        return {"assignee_role": "property_company", "assignee": "绿城物业",
                "due_at": (now + timedelta(days=20)).isoformat(), "funding_sources": ["业委会"]}
    if event_type == "ImplementationAccepted":
        return {"note": "已领单"}
    if event_type == "ProgressReported":
        return {"percent": 60, "note": "防水层施工中"}
    if event_type == "ImplementationCompleted":
        return {"summary": "防水层重做", "cost_fen": 1_200_000}
    if event_type == "SupervisionRecorded":
        return {"verdict": variant or "passed", "note": "现场查看"}
    if event_type == "ResidentRated":
        if actor is not None and actor.role is Role.RESIDENT:
            return {"satisfaction": "satisfied", "source": "resident"}
        return {"satisfaction": "basically_satisfied", "source": "callback",
                "resident_id": "resident-2"}
    if event_type == "CaseClosed":
        resolution = "no_consensus" if step is Step.NEGOTIATE else "resolved"
        return {"resolution": resolution}
    if event_type == "CaseReopened":
        return {"reason": "雨后又漏水"}
    if event_type == "CaseWithdrawn":
        return {"reason": "问题已自行解决"}
    if event_type == "CommentAdded":
        return {"text": "请尽快处理"}
    raise AssertionError(f"no data for {event_type}")


def prepare(app: Cases, clock: ManualClock, case_id: UUID, event_type: str) -> None:
    """Record the in-step events the event's guard needs (its step must already be reached)."""
    p = People
    step = app.get_case(case_id).step
    if step is Step.PRE_CONSULT and event_type == "MeetingScheduled":
        app.consult_stakeholder(case_id, p.community, party="物业", opinion="同意")
    elif step is Step.PUBLISH and event_type in ("ObjectionRaised", "PublicityClosed"):
        app.publish_decision(case_id, p.community, channels=["公告栏"], notice="公示",
                             publicity_days=5)
        if event_type == "PublicityClosed":
            clock.advance(timedelta(days=5))
    elif step is Step.IMPLEMENT and event_type in (
        "ImplementationAccepted", "ProgressReported", "ImplementationCompleted"
    ):
        app.assign_implementation(case_id, p.community, assignee_role="property_company",
                                  assignee="绿城物业", due_at=clock.now() + timedelta(days=20))
        if event_type != "ImplementationAccepted":
            app.accept_implementation(case_id, p.property)
    elif step is Step.SUPERVISE and event_type == "CaseClosed":
        app.record_supervision(case_id, p.party, verdict="passed")


def case_in_step(app: Cases, clock: ManualClock, step: Step, **overrides: object) -> UUID:
    """A case reported by People.resident and taken along the straight path to ``step``."""
    case_id = open_case(app, **overrides)
    advance(app, clock, case_id, step)
    return case_id


def snapshot_of(app: Cases, case_id: UUID) -> tuple[int, list[Any]]:
    """The stored stream of a case as a comparable value: its version and every event."""
    return app.get_case(case_id).version, app.history(case_id)


def state_of(case: Any) -> dict[str, Any]:
    """The aggregate's state as a plain dict (without the library's pending events)."""
    return {k: v for k, v in vars(case).items() if k != "_pending_events"}
