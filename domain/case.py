"""The case aggregate (议题): one resident problem as an immutable event stream.

Commands decide in ``Case.report`` and ``Case.record``: they check the catalogue, the
actor's scope, the permission table, the transition table and the guards, then trigger
one event. Each event class only assigns state in ``evolve``: no clock, no ids, no I/O,
so a replay reproduces history exactly. Every event carries its actor, the step before
and after, the time the application's clock gave, and its link in the case's hash chain.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.catalogue import CATALOGUE, parse_datetime, validate_data
from domain.chain import GENESIS, event_hash
from domain.errors import (
    CompoundOutOfScope,
    InvalidEventData,
    InvalidTransition,
    OutOfScope,
    PermissionDenied,
    RuleViolated,
    UnknownEventType,
)
from domain.model import Actor, Resolution, Role, Step
from domain.rules import (
    GUARDS,
    OPENING_EVENT,
    OPENING_STEP,
    allowed_events,
    next_step,
    permission_refusal,
)
from domain.stream import ChainedStream, chained

#: The resolution a closing event gives when its data does not name one.
_CLOSING_RESOLUTION = {
    "CaseMerged": Resolution.MERGED,
    "TopicRejected": Resolution.REJECTED,
    "CaseWithdrawn": Resolution.WITHDRAWN,
}


class Case(Aggregate):
    """A case through the eight steps (议事案件)."""

    TOPIC = "yishi:Case"

    class Event(ChainedStream.Event):
        """A case event: the envelope of every stream (domain/stream.py), steps applied."""

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, Case)
            case = aggregate
            if self.step_after != self.step_before:
                case.step_entered_at = self.timestamp
                if self.step_after == Step.PRE_CONSULT:
                    case.consultations = 0
                if self.step_after == Step.CLOSED:
                    case.resolution = self.data.get(
                        "resolution", _CLOSING_RESOLUTION.get(type(self).__name__)
                    )
                    case.closed_at = self.timestamp
            case._step = self.step_after
            case.head_hash = self.hash
            self.evolve(case)

        def evolve(self, case: Case) -> None:
            """The state change particular to this event type (pure)."""

    class Created(Event, Aggregate.Created):
        """The library's creation event, specialised below; never recorded itself."""

        TOPIC = "yishi:Case.Created"

    class ProblemReported(Created):
        TOPIC = "yishi:Case.ProblemReported"

        def evolve(self, case: Case) -> None:
            data = self.data
            case.compound_id = data["compound_id"]
            case.community_id = data["community_id"]
            case.title = data["title"]
            case.description = data["description"]
            case.category = data["category"]
            case.channel = data["channel"]
            case.location = data.get("location")
            case.attachments = list(data.get("attachments", []))
            case.reporter = data.get("reporter")
            case.reporter_actor_id = self.actor_id if self.actor_role == Role.RESIDENT else None
            case.reported_at = self.timestamp
            case.resolution = None
            case.closed_at = None
            case.support_count = 1
            case.topic = None
            case.consultations = 0
            case.meeting_at = None
            case.publicity_ends_at = None
            case.assignment = None
            case.accepted = False
            case.progress = 0
            case.supervision_passed = False
            case.ratings = {}
            case.merged_into = None
            case.reopen_count = 0
            case.comment_count = 0

    class ReportMerged(Event):
        TOPIC = "yishi:Case.ReportMerged"

        def evolve(self, case: Case) -> None:
            # As recorded: a merged duplicate's count since ADR 0062, one report before it.
            case.support_count += int(self.data.get("reports", 1))

    class ProblemCollected(Event):
        TOPIC = "yishi:Case.ProblemCollected"

        def evolve(self, case: Case) -> None:
            case.category = self.data["category"]
            case.description = self.data["description"]

    class CaseMerged(Event):
        TOPIC = "yishi:Case.CaseMerged"

        def evolve(self, case: Case) -> None:
            case.merged_into = self.data["into_case_id"]

    class TopicFormed(Event):
        TOPIC = "yishi:Case.TopicFormed"

        def evolve(self, case: Case) -> None:
            case.topic = {
                "title": self.data["title"],
                "question": self.data["question"],
                "parties": list(self.data.get("parties", [])),
            }

    class TopicApproved(Event):
        TOPIC = "yishi:Case.TopicApproved"

    class TopicReturned(Event):
        TOPIC = "yishi:Case.TopicReturned"

    class TopicRejected(Event):
        TOPIC = "yishi:Case.TopicRejected"

    class StakeholderConsulted(Event):
        TOPIC = "yishi:Case.StakeholderConsulted"

        def evolve(self, case: Case) -> None:
            case.consultations += 1

    class MeetingScheduled(Event):
        TOPIC = "yishi:Case.MeetingScheduled"

        def evolve(self, case: Case) -> None:
            case.meeting_at = parse_datetime(self.data["scheduled_at"])

    class MeetingHeld(Event):
        TOPIC = "yishi:Case.MeetingHeld"

    class DecisionPublished(Event):
        TOPIC = "yishi:Case.DecisionPublished"

        def evolve(self, case: Case) -> None:
            case.publicity_ends_at = self.timestamp + timedelta(days=self.data["publicity_days"])

    class ObjectionRaised(Event):
        TOPIC = "yishi:Case.ObjectionRaised"

        def evolve(self, case: Case) -> None:
            case.publicity_ends_at = None

    class PublicityClosed(Event):
        TOPIC = "yishi:Case.PublicityClosed"

    class ImplementationAssigned(Event):
        TOPIC = "yishi:Case.ImplementationAssigned"

        def evolve(self, case: Case) -> None:
            case.assignment = {
                "assignee_role": self.data["assignee_role"],
                "assignee": self.data["assignee"],
                "due_at": self.data["due_at"],
            }
            if "provider_code" in self.data:  # orders stamped with their provider (ADR 0092)
                case.assignment["provider_code"] = self.data["provider_code"]
            case.accepted = False

    class ImplementationAccepted(Event):
        TOPIC = "yishi:Case.ImplementationAccepted"

        def evolve(self, case: Case) -> None:
            case.accepted = True

    class ProgressReported(Event):
        TOPIC = "yishi:Case.ProgressReported"

        def evolve(self, case: Case) -> None:
            case.progress = self.data["percent"]

    class ImplementationCompleted(Event):
        TOPIC = "yishi:Case.ImplementationCompleted"

        def evolve(self, case: Case) -> None:
            case.progress = 100
            case.supervision_passed = False

    class SupervisionRecorded(Event):
        TOPIC = "yishi:Case.SupervisionRecorded"

        def evolve(self, case: Case) -> None:
            case.supervision_passed = self.data["verdict"] == "passed"

    class ResidentRated(Event):
        TOPIC = "yishi:Case.ResidentRated"

        def evolve(self, case: Case) -> None:
            case.ratings = {**case.ratings, self.data["resident_id"]: self.data["satisfaction"]}

    class CaseClosed(Event):
        TOPIC = "yishi:Case.CaseClosed"

    class CaseReopened(Event):
        TOPIC = "yishi:Case.CaseReopened"

        def evolve(self, case: Case) -> None:
            case.resolution = None
            case.closed_at = None
            case.supervision_passed = False
            case.reopen_count += 1

    class CaseWithdrawn(Event):
        TOPIC = "yishi:Case.CaseWithdrawn"

    class CommentAdded(Event):
        TOPIC = "yishi:Case.CommentAdded"

        def evolve(self, case: Case) -> None:
            case.comment_count += 1

    # State, assigned only by the events above. Declared for type checkers only: the
    # library would otherwise make these dataclass fields of the aggregate.
    if TYPE_CHECKING:
        _step: str
        compound_id: str
        community_id: str
        title: str
        description: str
        category: str
        channel: str
        location: str | None
        attachments: list[str]
        reporter: dict[str, str] | None
        reporter_actor_id: str | None
        reported_at: datetime
        step_entered_at: datetime
        resolution: str | None
        closed_at: datetime | None
        support_count: int
        topic: dict[str, Any] | None
        consultations: int
        meeting_at: datetime | None
        publicity_ends_at: datetime | None
        assignment: dict[str, str] | None
        accepted: bool
        progress: int
        supervision_passed: bool
        ratings: dict[str, str]
        merged_into: str | None
        reopen_count: int
        comment_count: int
        head_hash: str

    EVENT_CLASSES: ClassVar[dict[str, type[Case.Event]]]

    @property
    def step(self) -> Step:
        return Step(self._step)

    @property
    def is_open(self) -> bool:
        return self.step.is_open

    # Commands ---------------------------------------------------------------------------

    @classmethod
    def report(
        cls,
        case_id: UUID,
        data: Mapping[str, Any],
        actor: Actor,
        at: datetime,
        sealed_reporter: Mapping[str, str] | None = None,
    ) -> Case:
        """Open a case for a reported problem (收集问题).

        ``data`` holds the ProblemReported fields except the reporter's contact, which the
        application seals (encrypts) first and passes as ``sealed_reporter``.
        """
        clean = validate_data(OPENING_EVENT, data)
        if "community_id" not in clean:  # the application fills it in from the directory
            raise InvalidEventData(OPENING_EVENT, {"community_id": "required"})
        refusal = permission_refusal(OPENING_EVENT, actor, clean, None)
        if refusal:
            raise PermissionDenied(OPENING_EVENT, actor.role, refusal)
        if not actor.covers(clean["compound_id"], clean["community_id"]):
            raise CompoundOutOfScope(clean["compound_id"])
        if sealed_reporter is not None:
            clean["reporter"] = dict(sealed_reporter)
        content = cls._content(case_id, 1, OPENING_EVENT, clean, actor, at, None, OPENING_STEP)
        return cls._create(cls.ProblemReported, id=case_id, timestamp=at, **content)

    def record(
        self, event_type: str, data: Mapping[str, Any], actor: Actor, at: datetime,
        order_provider: str | None = None,
    ) -> Case.Event:
        """Decide whether the actor may record the event now, and record it.

        ``order_provider``: the provider an order recorded before orders were stamped is
        attributed to (the application's, from the directory; docs/adr/0092); a stamped
        order's own ``provider_code`` decides otherwise. An ``ImplementationAssigned``
        whose data holds ``provider_code`` (the application's, possibly null) keeps it.

        Refusals raise (and record nothing): UnknownEventType, InvalidEventData,
        OutOfScope, PermissionDenied, InvalidTransition, RuleViolated, in that order.
        """
        if event_type not in CATALOGUE:
            raise UnknownEventType(event_type, tuple(CATALOGUE))
        if event_type == OPENING_EVENT:
            raise InvalidTransition(event_type, self.step, allowed_events(self.step))
        clean = validate_data(event_type, data)
        if event_type == "ImplementationAssigned" and "provider_code" in data:
            clean["provider_code"] = clean.get("provider_code")  # null is kept: "none"
        if not actor.covers(self.compound_id, self.community_id):
            raise OutOfScope(self.id)
        if event_type == "ResidentRated" and actor.role is Role.RESIDENT:
            clean.setdefault("resident_id", actor.id)
        refusal = permission_refusal(event_type, actor, clean, self, order_provider)
        if refusal:
            raise PermissionDenied(event_type, actor.role, refusal)
        target = next_step(self.step, event_type, clean)
        if target is None:
            raise InvalidTransition(event_type, self.step, allowed_events(self.step))
        guard = GUARDS.get(event_type)
        reason = guard(self, clean, actor, at) if guard else None
        if reason:
            raise RuleViolated(event_type, self.step, reason)
        content = self._content(
            self.id,
            self.version + 1,
            event_type,
            clean,
            actor,
            at,
            self.step,
            target,
            self.head_hash,
        )
        self.trigger_event(self.EVENT_CLASSES[event_type], timestamp=at, **content)
        return self.pending_events[-1]  # type: ignore[return-value]

    @staticmethod
    def _content(
        case_id: UUID,
        version: int,
        event_type: str,
        data: dict[str, Any],
        actor: Actor,
        at: datetime,
        step_before: Step | None,
        step_after: Step,
        prev_hash: str = GENESIS,
    ) -> dict[str, Any]:
        before = step_before.value if step_before is not None else None
        return chained(case_id, version, event_type, data, actor, at, prev_hash, before,
                       step_after.value)


Case.EVENT_CLASSES = {name: getattr(Case, name) for name in CATALOGUE}


def event_type_of(event: Case.Event) -> str:
    """The catalogue name of a stored or pending case event."""
    return type(event).__name__


def recomputed_hash(event: Case.Event) -> str:
    """The hash an event should carry, recomputed from its content."""
    return event_hash(
        case_id=event.originator_id,
        version=event.originator_version,
        event_type=event_type_of(event),
        recorded_at=event.timestamp,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        step_before=event.step_before,
        step_after=event.step_after,
        data=event.data,
        prev_hash=event.prev_hash,
    )


def merge_cases(
    duplicate: Case, target: Case, actor: Actor, at: datetime, note: str | None
) -> None:
    """Join a duplicate case into the case it repeats (合并重复问题).

    The duplicate records CaseMerged and closes as merged; the target records
    ReportMerged with ``reports``, the duplicate's own support count (its report and every
    report merged into it before), and its support count grows by that many
    (docs/adr/0062-merged-report-counts.md). The caller saves both in one transaction.
    """
    if duplicate.id == target.id:
        raise RuleViolated("CaseMerged", duplicate.step, "a case cannot be merged into itself")
    if not target.is_open:
        raise RuleViolated("CaseMerged", duplicate.step, "the case merged into must be open")
    if target.compound_id != duplicate.compound_id:
        raise RuleViolated(
            "CaseMerged", duplicate.step, "only cases of the same compound can be merged"
        )
    extra = {"note": note} if note else {}
    duplicate.record("CaseMerged", {"into_case_id": str(target.id), **extra}, actor, at)
    joined = {"source_case_id": str(duplicate.id), "reports": duplicate.support_count}
    target.record("ReportMerged", {**joined, **extra}, actor, at)
