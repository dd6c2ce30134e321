"""How cases and events are shown to one reader, personal data included (展示).

The reporter's contact is shown in plain text only to the roles that call residents back
(community, grid worker) and to the resident who reported; others see it masked
("张*", "138****0000"); after erasure everyone sees ``{"erased": true}``. The rule is this
one table (docs/adr/0013-http-reads.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from api.http.models import ActorOut, AppendedOut, CaseOut, EventOut, Reporter
from domain.application import Cases
from domain.case import Case
from domain.case_reads import StoredCaseEvent
from domain.model import STEP_NAMES_ZH, Actor, Role
from domain.privacy import unseal
from domain.rules import allowed_events, may_read_contact


def mask_name(name: str) -> str:
    return name[:1] + "*" * max(len(name) - 1, 1) if name else ""


def mask_phone(phone: str) -> str:
    digits = phone.strip()
    if len(digits) >= 7:
        return digits[:3] + "****" + digits[-4:]
    return "****"


def reporter_view(
    cases: Cases, envelope: Mapping[str, str] | None, reporter_actor_id: str | None, reader: Actor
) -> Reporter | None:
    if envelope is None:
        return None
    subject = envelope.get("subject_id")
    contact = unseal(envelope, cases.keys.get(subject) if subject else None)
    if contact is None:
        return Reporter(erased=True, subject_id=subject)
    if may_read_contact(reader, reporter_actor_id):
        return Reporter(name=contact.get("name"), phone=contact.get("phone"), subject_id=subject)
    return Reporter(
        name=mask_name(str(contact.get("name", ""))),
        phone=mask_phone(str(contact.get("phone", ""))),
        masked=True,
        subject_id=subject,
    )


def case_out(cases: Cases, case: Case, reader: Actor, at: datetime | None = None) -> CaseOut:
    """The case as ``reader`` may see it; ``overdue`` as it stood at ``at`` (default now: a
    past state is judged at its own moment, api/http/reads.py ``moment_of``)."""
    ratings: dict[str, int] = {}
    for satisfaction in case.ratings.values():
        ratings[satisfaction] = ratings.get(satisfaction, 0) + 1
    step = case.step
    return CaseOut(
        id=case.id,
        version=case.version,
        step=step,
        step_zh=STEP_NAMES_ZH[step],
        status="open" if case.is_open else "closed",
        resolution=case.resolution,
        compound_id=case.compound_id,
        community_id=case.community_id,
        title=case.title,
        description=case.description,
        category=case.category,
        channel=case.channel,
        location=case.location,
        attachments=list(case.attachments),
        reported_at=case.reported_at,
        step_entered_at=case.step_entered_at,
        deadline=cases.limits.step_deadline(case),
        overdue=cases.limits.is_overdue(case, at if at is not None else cases.clock.now()),
        closed_at=case.closed_at,
        support_count=case.support_count,
        topic=case.topic,
        consultations=case.consultations,
        meeting_at=case.meeting_at,
        publicity_ends_at=case.publicity_ends_at,
        assignment=case.assignment,
        accepted=case.accepted,
        progress=case.progress,
        supervision_passed=case.supervision_passed,
        ratings=ratings,
        merged_into=case.merged_into,
        reopen_count=case.reopen_count,
        comment_count=case.comment_count,
        head_hash=case.head_hash,
        allowed_events=list(allowed_events(step)),
        reporter=reporter_view(cases, case.reporter, case.reporter_actor_id, reader),
    )


def shown_data(cases: Cases, event: StoredCaseEvent, reader: Actor) -> dict[str, Any]:
    """The event's data with the sealed reporter replaced by what the reader may see."""
    data = dict(event.data)
    if "reporter" in data and isinstance(data["reporter"], Mapping):
        reporter_id = event.actor_id if event.actor_role == Role.RESIDENT else None
        view = reporter_view(cases, data["reporter"], reporter_id, reader)
        data["reporter"] = view.model_dump(exclude_none=True) if view else None
    return data


def _event_fields(cases: Cases, event: StoredCaseEvent, reader: Actor) -> dict[str, Any]:
    return {
        "case_id": event.case_id,
        "version": event.version,
        "type": event.type,
        "data": shown_data(cases, event, reader),
        "actor": ActorOut(id=event.actor_id, role=event.actor_role),
        "step_before": event.step_before,
        "step_after": event.step_after,
        "recorded_at": event.recorded_at,
        "position": event.position,
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def event_out(cases: Cases, event: StoredCaseEvent, reader: Actor) -> EventOut:
    return EventOut(**_event_fields(cases, event, reader))


def appended_out(cases: Cases, event: StoredCaseEvent, case: Case, reader: Actor) -> AppendedOut:
    return AppendedOut(
        **_event_fields(cases, event, reader),
        step=case.step.value,
        status="open" if case.is_open else "closed",
    )
