"""The projections as pure folds over case events (投影折叠).

Nothing here touches a database or a clock. ``apply_event`` takes what the read models
know about one case (``CaseFacts``, or None before its first event) and one event, and
returns the facts after it. ``audit_row`` turns one event into its audit-trail row. The
runner feeds them events from the global log in order; the store persists the results in
batches. Projections read events: they never decide a business rule. The one rule they
reuse, when a step is due, comes from ``domain.deadlines.TimeLimits`` itself.

Times are kept as integer microseconds since the Unix epoch (``us``): exact, comparable
and the same in SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

from domain.case import Case, event_type_of
from domain.catalogue import parse_datetime
from domain.deadlines import TimeLimits
from domain.model import Step
from domain.summaries import summarise

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICRO = timedelta(microseconds=1)

#: The loops counted on /stats/steps: an event (and a data value, when it depends on one).
LOOP_KINDS: tuple[str, ...] = (
    "returned_topics",
    "failed_meetings",
    "objections",
    "failed_supervisions",
    "reopenings",
)


@dataclass(frozen=True, slots=True)
class EventView:
    """What the folds read of a case event: the stored event's fields, and its type name.

    The runner builds these straight from the stored JSON (no domain-event object), or from
    a decoded ``Case.Event`` with ``of``; the folds see no difference.
    """

    type: str
    originator_id: str
    originator_version: int
    timestamp: datetime
    actor_id: str
    actor_role: str
    step_before: str | None
    step_after: str
    data: dict[str, Any]
    prev_hash: str
    hash: str

    @classmethod
    def of(cls, event: Case.Event) -> EventView:
        return cls(
            type=event_type_of(event),
            originator_id=str(event.originator_id),
            originator_version=event.originator_version,
            timestamp=event.timestamp,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            step_before=event.step_before,
            step_after=event.step_after,
            data=event.data,
            prev_hash=event.prev_hash,
            hash=event.hash,
        )


def us(moment: datetime) -> int:
    """Integer microseconds since the epoch of an aware datetime."""
    return (moment - EPOCH) // _MICRO


def from_us(value: int) -> datetime:
    return EPOCH + timedelta(microseconds=value)


def loop_kind(event_type: str, data: dict[str, Any]) -> str | None:
    """Which loop (a way back in the method) an event is, if any."""
    if event_type == "TopicReturned":
        return "returned_topics"
    if event_type == "MeetingHeld" and data.get("outcome") == "not_agreed":
        return "failed_meetings"
    if event_type == "ObjectionRaised":
        return "objections"
    if event_type == "SupervisionRecorded" and data.get("verdict") == "failed":
        return "failed_supervisions"
    if event_type == "CaseReopened":
        return "reopenings"
    return None


@dataclass
class CaseFacts:
    """Everything the read models keep about one case, after some prefix of its events.

    - ``closures``: ``[closed_at, reopened_at or None, resolution]`` per closing, in order;
      they answer "was it closed at T, and how" for ``as_of``.
    - ``visits``: ``[step, entered_at, left_at or None, [[at, deadline or None], ...]]`` per
      stay in a working step; the deadline list records each change of the step's deadline.
    - ``loops``: ``[kind, at]`` per loop event; ``ratings``: ``[resident_id, satisfaction, at]``
      per rating, in order (the latest per resident is the live one).
    """

    case_id: str
    version: int
    step: str
    compound_id: str
    community_id: str
    category: str
    channel: str
    title: str
    reported_at: int
    updated_at: int
    step_entered_at: int
    last_position: int
    resolution: str | None = None
    closed_at: int | None = None
    support_count: int = 1
    assignee: str | None = None
    assignee_role: str | None = None
    due_at: int | None = None
    publicity_ends_at: int | None = None
    deadline: int | None = None
    first_response_at: int | None = None
    reopen_count: int = 0
    #: The case this one was merged into (CaseMerged), if any.
    merged_into: str | None = None
    #: The grid (网格) of the first report or collection stamped with one (ADR 0115).
    grid: str | None = None
    closures: list[list[Any]] = field(default_factory=list)
    visits: list[list[Any]] = field(default_factory=list)
    loops: list[list[Any]] = field(default_factory=list)
    ratings: list[list[Any]] = field(default_factory=list)

    @property
    def status(self) -> str:
        return "closed" if self.step == Step.CLOSED else "open"

    def to_state(self) -> dict[str, Any]:
        """A JSON-ready dict of the scalar fields; the four lists are stored on their own."""
        return {name: getattr(self, name) for name in _SCALAR_NAMES}

    @classmethod
    def from_state(cls, state: dict[str, Any]) -> CaseFacts:
        return cls(**state)


#: The list fields, each stored in a column of its own (the figures read just one).
LIST_FIELDS: tuple[str, ...] = ("closures", "visits", "loops", "ratings")
_SCALAR_NAMES: tuple[str, ...] = tuple(
    f.name for f in fields(CaseFacts) if f.name not in LIST_FIELDS
)


#: Steps by value: a dict lookup instead of an Enum call for every event (the rebuild's
#: hot path).
_STEPS: dict[str, Step] = {s.value: s for s in Step}


def _deadline(facts: CaseFacts, limits: TimeLimits) -> int | None:
    """The current step's deadline, by the domain's own rule (TimeLimits.step_deadline)."""
    step = _STEPS[facts.step]
    if step is Step.CLOSED:
        return None
    view = SimpleNamespace(
        step=step,
        step_entered_at=from_us(facts.step_entered_at),
        publicity_ends_at=(
            None if facts.publicity_ends_at is None else from_us(facts.publicity_ends_at)
        ),
        assignment=None if facts.due_at is None else {"due_at": from_us(facts.due_at)},
    )
    deadline = limits.step_deadline(view)  # type: ignore[arg-type]
    return None if deadline is None else us(deadline)


def joined_case(event: EventView) -> str | None:
    """The merged duplicate whose facts a ReportMerged stored without ``reports`` needs (its
    count is the duplicate's, ADR 0062); None for every other event."""
    if event.type == "ReportMerged" and "reports" not in event.data:
        source = event.data.get("source_case_id")
        return str(source) if source else None
    return None


def apply_event(
    facts: CaseFacts | None,
    event: EventView,
    position: int,
    limits: TimeLimits,
    joined: CaseFacts | None = None,
) -> CaseFacts:
    """The facts about a case after one more of its events (a pure fold step).

    ``joined``: for a ReportMerged stored without ``reports``, the facts of the case it
    names (``joined_case``), as they stood when it was merged.
    """
    kind = event.type
    data = event.data
    at = us(event.timestamp)
    if facts is None:
        if kind != "ProblemReported":
            raise ValueError(f"case {event.originator_id} starts with {kind}, not ProblemReported")
        facts = CaseFacts(
            case_id=event.originator_id,
            version=event.originator_version,
            step=event.step_after,
            compound_id=data["compound_id"],
            community_id=data["community_id"],
            category=data["category"],
            channel=data["channel"],
            title=data["title"],
            grid=data.get("grid"),
            reported_at=at,
            updated_at=at,
            step_entered_at=at,
            last_position=position,
        )
        facts.visits.append([facts.step, at, None, []])
        _note_deadline(facts, limits, at)
        return facts

    facts.version = event.originator_version
    facts.updated_at = at
    facts.last_position = position
    if facts.first_response_at is None and event.actor_role != "resident":
        facts.first_response_at = at

    if kind == "ReportMerged":
        facts.support_count += _reports(facts, data, joined)
    deadline_inputs_changed = _apply_data(facts, kind, data, at)
    loop = loop_kind(kind, data)
    if loop is not None:
        facts.loops.append([loop, at])

    before, after = event.step_before, event.step_after
    if after != before:
        if facts.visits and facts.visits[-1][2] is None:
            facts.visits[-1][2] = at
        facts.step = after
        facts.step_entered_at = at
        if after == Step.CLOSED:
            resolution = data.get("resolution") or _CLOSING_RESOLUTION.get(kind)
            facts.resolution = resolution
            facts.closed_at = at
            facts.closures.append([at, None, resolution])
        else:
            facts.visits.append([after, at, None, []])
        deadline_inputs_changed = True
    if deadline_inputs_changed:
        _note_deadline(facts, limits, at)
    return facts


def _apply_data(facts: CaseFacts, kind: str, data: dict[str, Any], at: int) -> bool:
    """What the event's data changes in the facts; True when the deadline may change."""
    deadline_inputs_changed = False
    if kind == "CaseMerged":
        facts.merged_into = str(data["into_case_id"])
    elif kind == "ProblemCollected":
        facts.category = data["category"]
        if facts.grid is None:
            facts.grid = data.get("grid")
    elif kind == "DecisionPublished":
        facts.publicity_ends_at = at + int(data["publicity_days"]) * 86_400_000_000
        deadline_inputs_changed = True
    elif kind == "ObjectionRaised":
        facts.publicity_ends_at = None
        deadline_inputs_changed = True
    elif kind == "ImplementationAssigned":
        facts.assignee = data["assignee"]
        facts.assignee_role = data["assignee_role"]
        facts.due_at = us(parse_datetime(data["due_at"]))
        deadline_inputs_changed = True
    elif kind == "ResidentRated":
        facts.ratings.append([data["resident_id"], data["satisfaction"], at])
    elif kind == "CaseReopened":
        facts.resolution = None
        facts.closed_at = None
        facts.reopen_count += 1
        if facts.closures:
            facts.closures[-1][1] = at
    return deadline_inputs_changed


def _reports(facts: CaseFacts, data: dict[str, Any], joined: CaseFacts | None) -> int:
    """How many reports a ReportMerged brings: ``reports`` as recorded; for one stored
    before that field, the duplicate's own count when it was merged into this case (an
    existing chain a -> b -> c counts three), else one (a report joined directly)."""
    if "reports" in data:
        return int(data["reports"])
    if joined is not None and joined.merged_into == facts.case_id:
        return joined.support_count
    return 1


#: The resolution of a closing event whose data does not name one (as the aggregate does).
_CLOSING_RESOLUTION = {
    "CaseMerged": "merged",
    "TopicRejected": "rejected",
    "CaseWithdrawn": "withdrawn",
}


def _note_deadline(facts: CaseFacts, limits: TimeLimits, at: int) -> None:
    deadline = _deadline(facts, limits)
    facts.deadline = deadline
    if facts.step != Step.CLOSED and facts.visits:
        changes = facts.visits[-1][3]
        if not changes or changes[-1][1] != deadline:
            changes.append([at, deadline])


@dataclass(frozen=True)
class AuditRow:
    """One row of the audit trail (审计轨迹)."""

    position: int
    case_id: str
    version: int
    type: str
    step_before: str | None
    step_after: str
    actor_id: str
    actor_role: str
    recorded_at: int
    summary: str
    prev_hash: str
    hash: str
    compound_id: str
    community_id: str

    def as_tuple(self) -> tuple[Any, ...]:
        return (
            self.position, self.case_id, self.version, self.type, self.step_before,
            self.step_after, self.actor_id, self.actor_role, self.recorded_at, self.summary,
            self.prev_hash, self.hash, self.compound_id, self.community_id,
        )


AUDIT_COLUMNS: tuple[str, ...] = (
    "position", "case_id", "version", "type", "step_before", "step_after", "actor_id",
    "actor_role", "recorded_at", "summary", "prev_hash", "hash", "compound_id", "community_id",
)


def audit_row(event: EventView, position: int, facts: CaseFacts) -> AuditRow:
    """The audit-trail row of an event; ``facts`` gives the case's compound and community."""
    kind = event.type
    return AuditRow(
        position=position,
        case_id=event.originator_id,
        version=event.originator_version,
        type=kind,
        step_before=event.step_before,
        step_after=event.step_after,
        actor_id=event.actor_id,
        actor_role=event.actor_role,
        recorded_at=us(event.timestamp),
        summary=summarise(kind, event.data),
        prev_hash=event.prev_hash,
        hash=event.hash,
        compound_id=facts.compound_id,
        community_id=facts.community_id,
    )
