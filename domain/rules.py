"""The rules of the eight-step method as tables (议事规则).

Three tables, and nothing outside them decides:

- ``TRANSITIONS``: for each step, the events allowed there and the step each leads to
  (``STAY``, a step, or a ``Branch`` on one data field). Anything not in the table is
  invalid, in the manner of h2's state machine.
- ``PERMISSIONS``: for each event, the roles that may record it. A few entries are
  narrowed by the case itself (the assigned party, the reporting resident, the rating's
  source); ``permission_refusal`` is the one place that narrowing happens.
- ``GUARDS``: the rules of the method that depend on what happened before (a meeting needs
  a consultation, publicity cannot close early, a case closes only after a passed
  supervision). Each returns the reason for a refusal, or None.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from domain.model import Actor, Resolution, Role, Step

if TYPE_CHECKING:
    from domain.case import Case


@dataclass(frozen=True)
class Branch:
    """The next step depends on one field of the event's data."""

    field: str
    to: Mapping[str, Step | None]


STAY = None  # the event leaves the case in its step

_ALWAYS = {"CommentAdded": STAY}
_WITHDRAW = {"CaseWithdrawn": Step.CLOSED}
#: A duplicate report may join any open case: its support count grows whatever the step.
_JOIN = {"ReportMerged": STAY}

#: The step a case opens in.
OPENING_EVENT = "ProblemReported"
OPENING_STEP = Step.COLLECT

TRANSITIONS: dict[Step, dict[str, Step | Branch | None]] = {
    Step.COLLECT: {
        "ProblemCollected": Step.TOPIC,
        "CaseMerged": Step.CLOSED,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.TOPIC: {
        "TopicFormed": Step.REVIEW,
        "CaseMerged": Step.CLOSED,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.REVIEW: {
        "TopicApproved": Step.PRE_CONSULT,
        "TopicReturned": Step.TOPIC,
        "TopicRejected": Step.CLOSED,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.PRE_CONSULT: {
        "StakeholderConsulted": STAY,
        "MeetingScheduled": Step.NEGOTIATE,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.NEGOTIATE: {
        "MeetingHeld": Branch("outcome", {"agreed": Step.PUBLISH, "not_agreed": Step.PRE_CONSULT}),
        "CaseClosed": Step.CLOSED,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.PUBLISH: {
        "DecisionPublished": STAY,
        "ObjectionRaised": Step.NEGOTIATE,
        "PublicityClosed": Step.IMPLEMENT,
        **_JOIN,
        **_WITHDRAW,
        **_ALWAYS,
    },
    Step.IMPLEMENT: {
        "ImplementationAssigned": STAY,
        "ImplementationAccepted": STAY,
        "ProgressReported": STAY,
        "ImplementationCompleted": Step.SUPERVISE,
        **_JOIN,
        **_ALWAYS,
    },
    Step.SUPERVISE: {
        "SupervisionRecorded": Branch("verdict", {"passed": STAY, "failed": Step.IMPLEMENT}),
        "ResidentRated": STAY,
        "CaseClosed": Step.CLOSED,
        **_JOIN,
        **_ALWAYS,
    },
    Step.CLOSED: {
        "ResidentRated": STAY,
        "CaseReopened": Step.IMPLEMENT,
        **_ALWAYS,
    },
}


def allowed_events(step: Step) -> tuple[str, ...]:
    """The events the table allows in a step, in catalogue order."""
    return tuple(TRANSITIONS[step])


def next_step(step: Step, event_type: str, data: Mapping[str, Any]) -> Step | None:
    """Where the event leads from ``step``; None when the table does not allow it there."""
    if event_type not in TRANSITIONS[step]:
        return None
    target = TRANSITIONS[step][event_type]
    if isinstance(target, Branch):
        target = target.to[data[target.field]]
    return step if target is STAY else target


R = Role
_STAFF = frozenset({R.GRID_WORKER, R.COMMUNITY})
_REVIEWERS = frozenset({R.COMMUNITY, R.PARTY_BRANCH})
_DELIBERATORS = frozenset({R.COMMUNITY, R.PARTY_BRANCH, R.OWNERS_COMMITTEE})
_COMMUNITY = frozenset({R.COMMUNITY})
#: The roles an implementation can be assigned to; the event is narrowed to the one assigned.
ASSIGNABLE = frozenset({R.PROPERTY_COMPANY, R.OWNERS_COMMITTEE, R.COMMUNITY})

PERMISSIONS: dict[str, frozenset[Role]] = {
    "ProblemReported": frozenset({R.RESIDENT, R.GRID_WORKER, R.COMMUNITY}),
    "ReportMerged": _STAFF,
    "CaseMerged": _STAFF,
    "ProblemCollected": _STAFF,
    "TopicFormed": _STAFF,
    "TopicApproved": _REVIEWERS,
    "TopicReturned": _REVIEWERS,
    "TopicRejected": _REVIEWERS,
    "StakeholderConsulted": _DELIBERATORS,
    "MeetingScheduled": _DELIBERATORS,
    "MeetingHeld": _DELIBERATORS,
    "DecisionPublished": _COMMUNITY,
    "PublicityClosed": _COMMUNITY,
    "CaseClosed": _COMMUNITY,
    "CaseReopened": _COMMUNITY,
    "ObjectionRaised": frozenset({R.RESIDENT, R.OWNERS_COMMITTEE}),
    "ImplementationAssigned": _COMMUNITY,
    "ImplementationAccepted": ASSIGNABLE,
    "ProgressReported": ASSIGNABLE,
    "ImplementationCompleted": ASSIGNABLE,
    "SupervisionRecorded": frozenset({R.PARTY_BRANCH}),
    "ResidentRated": frozenset({R.RESIDENT, R.GRID_WORKER, R.COMMUNITY}),
    "CaseWithdrawn": frozenset({R.RESIDENT, R.COMMUNITY}),
    "CommentAdded": frozenset(set(Role) - {R.AUDITOR, R.ADMIN}),
}

#: Roles that read a reporter's contact in plain text (PIPL: only those who call back);
#: the reporting resident reads their own too. Everyone else sees it masked.
CONTACT_READERS = frozenset({R.COMMUNITY, R.GRID_WORKER})


def may_read_contact(reader: Actor, reporter_actor_id: str | None) -> bool:
    """True when the reader sees the reporter's name and phone unmasked."""
    return reader.role in CONTACT_READERS or (
        reporter_actor_id is not None and reader.id == reporter_actor_id
    )


#: Events whose role is narrowed to the party the implementation is assigned to (领单).
ASSIGNEE_EVENTS = frozenset(
    {"ImplementationAccepted", "ProgressReported", "ImplementationCompleted"}
)


def permission_refusal(
    event_type: str, actor: Actor, data: Mapping[str, Any], case: Case | None,
    order_provider: str | None = None,
) -> str | None:
    """Why the actor may not record the event on this case, or None when it may.

    A provider's credential (``actor.provider``) records the implementation events only of
    orders charged to its provider: the order's ``provider_code``, or for an order from
    before orders were stamped ``order_provider`` (practices.md; docs/adr/0092)."""
    roles = PERMISSIONS[event_type]
    if actor.role not in roles:
        return "allowed roles are " + ", ".join(sorted(roles))
    if case is None:
        return None
    if event_type in ASSIGNEE_EVENTS and case.assignment is not None:
        assigned = case.assignment["assignee_role"]
        if actor.role != assigned:
            return f"the implementation is assigned to {assigned}"
        if actor.provider is not None:
            charged = case.assignment.get("provider_code", order_provider)
            if charged != actor.provider:
                return f"the order is dispatched to provider {charged or 'none'}"
    if (
        event_type == "CaseWithdrawn"
        and actor.role is R.RESIDENT
        and case.reporter_actor_id != actor.id
    ):
        return "only the reporting resident or the community may withdraw a case"
    if event_type == "ResidentRated":
        source = data.get("source")
        if actor.role is R.RESIDENT and source != "resident":
            return "a resident records ratings with source resident"
        if actor.role is R.RESIDENT and data.get("resident_id", actor.id) != actor.id:
            return "a resident rates only as themself"
        if actor.role is not R.RESIDENT and source != "callback":
            return "staff record ratings as call-backs (source callback)"
    return None


Data = Mapping[str, Any]
Guard = Callable[["Case", Data, Actor, datetime], str | None]


def _needs_consultation(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.consultations == 0:
        return "a meeting needs at least one stakeholder consultation (会前沟通) first"
    return None


def _votes_match_outcome(
    case: Case, data: Mapping[str, Any], actor: Actor, at: datetime
) -> str | None:
    votes = data["votes"]
    agreed = votes["for"] > votes["against"]
    if (data["outcome"] == "agreed") != agreed:
        return "outcome is agreed exactly when more voted for than against"
    return None


def _rejection_names_body(
    case: Case, data: Mapping[str, Any], actor: Actor, at: datetime
) -> str | None:
    if data["reason"] == "referred" and not data.get("referred_to"):
        return "a referred topic names the body it is referred to (referred_to)"
    return None


def _publicity_open(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.publicity_ends_at is None:
        return "nothing has been published yet"
    if at >= case.publicity_ends_at:
        return "the publicity period (公示期) is over"
    return None


def _publicity_over(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.publicity_ends_at is None:
        return "the decision has not been published"
    if at < case.publicity_ends_at:
        return f"the publicity period runs until {case.publicity_ends_at.isoformat()}"
    return None


def _not_yet_published(
    case: Case, data: Mapping[str, Any], actor: Actor, at: datetime
) -> str | None:
    if case.publicity_ends_at is not None:
        return "the decision is already published"
    return None


def _needs_assignment(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.assignment is None:
        return "the work has not been assigned (派单) yet"
    return None


def _needs_acceptance(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.assignment is None or not case.accepted:
        return "the assignee has not accepted the order (领单) yet"
    return None


def _close_rule(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    resolution = data["resolution"]
    if case.step is Step.NEGOTIATE and resolution != Resolution.NO_CONSENSUS:
        return "after deliberation a case closes only with resolution no_consensus"
    if case.step is Step.SUPERVISE:
        if resolution != Resolution.RESOLVED:
            return "after supervision a case closes only with resolution resolved"
        if not case.supervision_passed:
            return "a case closes as resolved only after a passed supervision (督单)"
    return None


def _reopen_resolved(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if case.resolution != Resolution.RESOLVED:
        return "only a resolved case can be reopened"
    return None


def _rating_source(case: Case, data: Data, actor: Actor, at: datetime) -> str | None:
    if data["source"] == "callback" and not data.get("resident_id"):
        return "a call-back names the resident rated (resident_id)"
    if case.step is Step.CLOSED and case.resolution != Resolution.RESOLVED:
        return "only a resolved case can be rated"
    return None


GUARDS: dict[str, Guard] = {
    "MeetingScheduled": _needs_consultation,
    "MeetingHeld": _votes_match_outcome,
    "TopicRejected": _rejection_names_body,
    "DecisionPublished": _not_yet_published,
    "ObjectionRaised": _publicity_open,
    "PublicityClosed": _publicity_over,
    "ImplementationAccepted": _needs_assignment,
    "ProgressReported": _needs_acceptance,
    "ImplementationCompleted": _needs_acceptance,
    "CaseClosed": _close_rule,
    "CaseReopened": _reopen_resolved,
    "ResidentRated": _rating_source,
}


# --- Figures that cannot be (422): checks across one event's fields -------------------

def _votes_within_attendees(data: Data) -> str | None:
    votes = data["votes"]
    if sum(int(votes.get(key, 0)) for key in ("for", "against", "abstain")) > data["attendees"]:
        return "more votes (for + against + abstain) than attendees"
    return None


def _attendee_ids_within_attendees(data: Data) -> str | None:
    if len(data.get("attendee_ids") or ()) > data["attendees"]:
        return "more attendee_ids than attendees"
    return None


#: Event -> field -> a check over the event's validated data: the figures of one event
#: that contradict each other (more votes than people in the room). A failed check is
#: ``InvalidEventData`` (422) naming the field, before any rule of the step.
FIGURES: dict[str, dict[str, Callable[[Data], str | None]]] = {
    "MeetingHeld": {"votes": _votes_within_attendees,
                    "attendee_ids": _attendee_ids_within_attendees},
}


def figure_errors(event_type: str, data: Data) -> dict[str, str]:
    """The fields of ``data`` (checked one by one already) whose figures cannot be."""
    errors: dict[str, str] = {}
    for name, check in FIGURES.get(event_type, {}).items():
        if name in data:
            found = check(data)
            if found:
                errors[name] = found
    return errors
