"""The eight steps as named commands (八步工作法): one method per event of the catalogue.

Each is ``record`` with its event's fields named, so that tests, the demo and scripts read
like the method itself. ``Cases`` inherits them; the rules live in the domain's tables.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from domain.model import Actor

if TYPE_CHECKING:
    from domain.application import Recorded


class StepCommands:
    """The commands of the eight steps, each a call of ``record``."""

    def record(
        self,
        case_id: UUID,
        event_type: str,
        data: Mapping[str, Any],
        actor: Actor,
        expected_version: int | None = None,
    ) -> Recorded:
        raise NotImplementedError

    def join_report(self, case_id: UUID, actor: Actor, **data: Any) -> Recorded:
        """Join another report of the same problem (support +1)."""
        return self.record(case_id, "ReportMerged", data, actor)

    def collect_problem(
        self, case_id: UUID, actor: Actor, *, category: str, description: str
    ) -> Recorded:
        """Confirm and consolidate the problem (收集问题)."""
        return self.record(
            case_id, "ProblemCollected", {"category": category, "description": description}, actor
        )

    def form_topic(
        self, case_id: UUID, actor: Actor, *, title: str, question: str, parties: Sequence[str] = ()
    ) -> Recorded:
        """Turn the problem into a topic for deliberation (形成议题)."""
        return self.record(
            case_id,
            "TopicFormed",
            {"title": title, "question": question, "parties": list(parties)},
            actor,
        )

    def approve_topic(self, case_id: UUID, actor: Actor, *, opinion: str | None = None) -> Recorded:
        """Approve the topic (审核议题: 通过)."""
        return self.record(case_id, "TopicApproved", {"opinion": opinion}, actor)

    def return_topic(self, case_id: UUID, actor: Actor, *, rework: str) -> Recorded:
        """Send the topic back for rework (审核议题: 退回)."""
        return self.record(case_id, "TopicReturned", {"rework": rework}, actor)

    def reject_topic(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        reason: str,
        referred_to: str | None = None,
        note: str | None = None,
    ) -> Recorded:
        """Reject the topic (审核议题: 不予受理)."""
        return self.record(
            case_id,
            "TopicRejected",
            {"reason": reason, "referred_to": referred_to, "note": note},
            actor,
        )

    def consult_stakeholder(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        party: str,
        opinion: str,
        representative: str | None = None,
    ) -> Recorded:
        """Consult one party before the meeting (会前沟通)."""
        return self.record(
            case_id,
            "StakeholderConsulted",
            {"party": party, "opinion": opinion, "representative": representative},
            actor,
        )

    def schedule_meeting(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        scheduled_at: datetime | str,
        venue: str,
        invited: Sequence[str] = (),
    ) -> Recorded:
        """Schedule the deliberation meeting."""
        return self.record(
            case_id,
            "MeetingScheduled",
            {"scheduled_at": scheduled_at, "venue": venue, "invited": list(invited)},
            actor,
        )

    def hold_meeting(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        attendees: int,
        votes: Mapping[str, int],
        outcome: str,
        resolution_text: str | None = None,
    ) -> Recorded:
        """Record the deliberation meeting (会议协商)."""
        return self.record(
            case_id,
            "MeetingHeld",
            {
                "attendees": attendees,
                "votes": dict(votes),
                "outcome": outcome,
                "resolution_text": resolution_text,
            },
            actor,
        )

    def publish_decision(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        channels: Sequence[str],
        notice: str,
        publicity_days: int,
    ) -> Recorded:
        """Publish the decision for its publicity period (决策公布)."""
        return self.record(
            case_id,
            "DecisionPublished",
            {"channels": list(channels), "notice": notice, "publicity_days": publicity_days},
            actor,
        )

    def raise_objection(self, case_id: UUID, actor: Actor, *, objection: str) -> Recorded:
        """Object during the publicity period; the case returns to negotiation."""
        return self.record(case_id, "ObjectionRaised", {"objection": objection}, actor)

    def close_publicity(self, case_id: UUID, actor: Actor, *, note: str | None = None) -> Recorded:
        """End the publicity period; the work can be organised."""
        return self.record(case_id, "PublicityClosed", {"note": note}, actor)

    def assign_implementation(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        assignee_role: str,
        assignee: str,
        due_at: datetime | str,
        funding_sources: Sequence[str] = (),
    ) -> Recorded:
        """Dispatch the work to a responsible party (派单)."""
        return self.record(
            case_id,
            "ImplementationAssigned",
            {
                "assignee_role": assignee_role,
                "assignee": assignee,
                "due_at": due_at,
                "funding_sources": list(funding_sources),
            },
            actor,
        )

    def accept_implementation(
        self, case_id: UUID, actor: Actor, *, note: str | None = None
    ) -> Recorded:
        """The assigned party takes the order (领单)."""
        return self.record(case_id, "ImplementationAccepted", {"note": note}, actor)

    def report_progress(
        self, case_id: UUID, actor: Actor, *, percent: int, note: str | None = None
    ) -> Recorded:
        """Report how far the work is."""
        return self.record(case_id, "ProgressReported", {"percent": percent, "note": note}, actor)

    def complete_implementation(
        self, case_id: UUID, actor: Actor, *, summary: str, cost_fen: int | None = None
    ) -> Recorded:
        """Report the work done (组织实施: 完成)."""
        return self.record(
            case_id, "ImplementationCompleted", {"summary": summary, "cost_fen": cost_fen}, actor
        )

    def record_supervision(
        self, case_id: UUID, actor: Actor, *, verdict: str, note: str | None = None
    ) -> Recorded:
        """A party member supervises the result (党员督单)."""
        return self.record(
            case_id, "SupervisionRecorded", {"verdict": verdict, "note": note}, actor
        )

    def rate(
        self,
        case_id: UUID,
        actor: Actor,
        *,
        satisfaction: str,
        source: str = "resident",
        resident_id: str | None = None,
        comment: str | None = None,
    ) -> Recorded:
        """A resident rates the result, or staff record a call-back (群众评单, 回访)."""
        return self.record(
            case_id,
            "ResidentRated",
            {
                "satisfaction": satisfaction,
                "source": source,
                "resident_id": resident_id,
                "comment": comment,
            },
            actor,
        )

    def close_case(
        self, case_id: UUID, actor: Actor, *, resolution: str, note: str | None = None
    ) -> Recorded:
        """Close the case (办结)."""
        return self.record(case_id, "CaseClosed", {"resolution": resolution, "note": note}, actor)

    def reopen_case(self, case_id: UUID, actor: Actor, *, reason: str) -> Recorded:
        """Reopen a resolved case for rework."""
        return self.record(case_id, "CaseReopened", {"reason": reason}, actor)

    def withdraw_case(self, case_id: UUID, actor: Actor, *, reason: str | None = None) -> Recorded:
        """Withdraw the case before implementation (撤回)."""
        return self.record(case_id, "CaseWithdrawn", {"reason": reason}, actor)

    def add_comment(self, case_id: UUID, actor: Actor, *, text: str) -> Recorded:
        """Add a comment in any step."""
        return self.record(case_id, "CommentAdded", {"text": text}, actor)

