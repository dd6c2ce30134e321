"""Participants and their ledgers, as the application records and reads them (积分服务).

``Points`` belongs to one ``Cases`` application and saves participants in the same event
store. It checks role and scope (``rules.WRITERS``, ``rules.STAFF_READERS``: community staff
write within their compounds; a resident reads only the participant linked to them), the
fields of each event (bad ones: ``InvalidEventData``, 422), and retries a write that lost a
race for the stream's next version, deciding again on the new state, so a balance never goes
below zero (``BalanceTooLow``, 409 with the balance). ``award_once`` is the policy's write:
each award carries a key, and an award whose key the ledger already holds, or whose command
id (derived from the key) is already in the commands table, is not recorded again
(docs/adr/0101-exactly-once-awards.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.bounds import clean_text
from domain.commands import Command, KeyTaken
from domain.errors import InvalidEventData, PermissionDenied
from domain.model import Actor, Role
from domain.participant_topics import PARTICIPANT_TOPICS
from domain.points.ledger import KINDS, Participant, ParticipantNotFound, ResidentLinked
from domain.points.rules import (
    MAX_HOURS,
    MAX_POINTS,
    MIN_POINTS,
    STAFF_READERS,
    WRITERS,
    Award,
    Rule,
    points_table,
)
from domain.privacy import SubjectKeys, seal, unseal

#: How often a write is decided again when another writer took the stream's next version.
RETRIES = 64
#: The actor the policy's awards are recorded by.
POLICY_ACTOR = Actor("points-policy", Role.COMMUNITY)
#: The namespace of awards' command ids (uuid5 of participant and award key).
AWARD_NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "https://yishi.example/points/award")
MAX_NAME = 100
MAX_TEXT = 200
#: The event types a client may send to ``record``.
CLIENT_EVENTS: tuple[str, ...] = ("PointsAwarded", "PointsRedeemed", "PointsReversed",
                                  "ParticipantLinked")


def subject_of(participant_id: UUID | str) -> str:
    """The data subject a participant's name is sealed under (erasable, ADR 0005)."""
    return f"participant:{participant_id}"


def award_command_id(participant_id: str, source: str) -> UUID:
    """The deterministic command id of an award: the same award, the same id."""
    return uuid.uuid5(AWARD_NAMESPACE, f"{participant_id}|{source}")


class Points:
    """The participants of one store."""

    def __init__(self, app: Any, keys: SubjectKeys, now: Callable[[], datetime],
                 env: Mapping[str, str] | None = None) -> None:
        self._app = app
        self._keys = keys
        self._now = now
        #: Points per rule (configuration, docs/adr/0100-earning-rules.md).
        self.table: dict[Rule, int] = points_table(env)

    # Writing ----------------------------------------------------------------------------

    def register(self, actor: Actor, data: Mapping[str, Any],
                 command: Command | None = None) -> Participant:
        """Register a participant (登记): ``compound_id``, ``kinds`` (non-empty subset of
        resident, party_member, volunteer), ``name`` (1-100 characters, one line; sealed
        under ``participant:<id>``), optional ``resident_id`` (a resident credential id).

        Exactly once under ``command`` (its row commits with the registration; ADR 0102):
        raises ``KeyTaken`` when a concurrent command took its Idempotency-Key, and
        ``OutcomeUnknown``/``StoreUnavailable`` as every command does."""
        _must_write(actor, "ParticipantRegistered")
        errors: dict[str, str] = {}
        compound = data.get("compound_id")
        kinds = data.get("kinds")
        if not isinstance(kinds, list) or not kinds or any(k not in KINDS for k in kinds) \
                or len(set(kinds)) != len(kinds):
            errors["kinds"] = "must be a non-empty list of distinct values of " + ", ".join(KINDS)
        name = _text(data.get("name"), MAX_NAME, "name", errors)
        resident = data.get("resident_id")
        if resident is not None:
            resident = _text(resident, 128, "resident_id", errors)
        if not isinstance(compound, str):
            errors["compound_id"] = "must be a compound code"
        if errors:
            raise InvalidEventData("ParticipantRegistered", errors)
        assert isinstance(compound, str)
        assert name is not None
        if resident is not None:
            self._must_be_free(resident, None)
        directory = self._app.directory
        community = directory.filing(compound, None)
        actor = directory.resolve(actor)
        if not actor.covers(compound, community):
            raise PermissionDenied("ParticipantRegistered", actor.role,
                                   f"{compound} is outside this credential's scope")
        participant_id = uuid.uuid4()
        now = self._now()
        subject = subject_of(participant_id)
        record: dict[str, Any] = {
            "compound_id": compound, "community_id": community, "kinds": list(kinds or []),
            "name": seal(subject, self._keys.key_for(subject, now), {"name": name}),
        }
        if resident is not None:
            record["resident_id"] = resident
        participant = Participant.register(participant_id, record, actor, now)
        self._app.commit_stream(participant, command=command, kind="participant")
        return participant

    def record(self, participant_id: UUID, actor: Actor, event_type: str,
               data: Mapping[str, Any], command: Command | None = None
               ) -> tuple[Participant, int]:
        """Record one client event on a ledger; the participant after it and its version.

        ``PointsAwarded`` only by ``volunteer_hours`` (``hours`` 1-24, ``note``): the other
        rules are the policy's. ``PointsRedeemed``: ``reward`` (text), ``points``.
        ``PointsReversed``: ``award_version``, ``reason``. ``ParticipantLinked``:
        ``resident_id``. Raises InvalidEventData (422), PermissionDenied (403),
        ParticipantNotFound (404, also out of scope), BalanceTooLow, NotReversible (409).

        Exactly once under ``command`` (ADR 0102): the same command id is kept across the
        retries of a lost race, so an insert that had in fact committed is found, never
        recorded again; ``KeyTaken`` when a concurrent command took its key."""
        _must_write(actor, event_type)
        clean = _check(event_type, data, self.table)
        if event_type == "PointsAwarded":  # each record of hours is its own award
            clean["source"] = f"hours:{uuid.uuid4()}"
        for _attempt in range(RETRIES):
            participant = self.get(participant_id, actor)
            now = self._now()
            if event_type == "PointsAwarded":
                participant.award(clean, actor, now)
            elif event_type == "PointsRedeemed":
                participant.redeem(clean["reward"], clean["points"], actor, now)
            elif event_type == "PointsReversed":
                participant.reverse(clean["award_version"], clean["reason"], actor, now)
            else:
                self._must_be_free(clean["resident_id"], str(participant.id))
                participant.link(clean["resident_id"], actor, now)
            try:
                self._app.commit_stream(participant, command=command, kind="points")
            except KeyTaken:
                raise
            except IntegrityError:
                continue  # another writer took the version: decide again on its state
            return participant, participant.version
        raise IntegrityError("the ledger kept changing: try again")

    def award_once(self, award: Award, at: datetime) -> bool:
        """Record the policy's award unless this ledger holds its key already; True when
        recorded now. Exactly once across replays, crashes and concurrent policies: the
        ledger's keys are checked on the newest state, and the award's command id
        (``award_command_id``) commits with it under the commands table's unique key."""
        command_id = award_command_id(award.participant_id, award.source)
        data = {
            "rule": award.rule.value, "points": award.points, "source": award.source,
            "earned_by": {"case_id": award.case_id, "version": award.case_version,
                          "type": award.event_type},
        }
        for _attempt in range(RETRIES):
            participant = self._load(UUID(award.participant_id))
            if not participant.award(data, POLICY_ACTOR, at):
                return False
            command = Command(id=command_id, kind="award", stream_id=participant.id,
                              version=participant.version)
            try:
                self._app.save(participant, commands=[command])
            except (IntegrityError, AssertionError):
                # IntegrityError: another writer took the version, or recorded this award
                # (its command id); AssertionError: ``record_once`` found this command
                # recorded at another version than the one decided here. Either way the
                # commands table says whether the award is in.
                if self._app.commands.find(command_id) is not None:
                    return False  # recorded by another policy run meanwhile
                continue
            return True
        raise IntegrityError("the ledger kept changing: try again")

    def check_attendees(self, compound_id: str | None, data: Mapping[str, Any]) -> None:
        """A ``MeetingHeld``'s ``attendee_ids`` (checked UUIDs, as the catalogue left them)
        must each name a registered participant of the case's compound ``compound_id``:
        else ``InvalidEventData`` (422) naming the field and the first ids that do not
        (docs/adr/0104-attendees-are-participants.md). An absent or empty list is fine.
        One stream read per distinct id (at most 500)."""
        ids = dict.fromkeys(str(i) for i in data.get("attendee_ids") or ())
        wrong: list[str] = []
        for text in ids:
            try:
                participant = self._load(UUID(text))
            except (ValueError, ParticipantNotFound):
                wrong.append(text)
                continue
            if participant.compound_id != compound_id:
                wrong.append(text)
        if wrong:
            shown = ", ".join(wrong[:5]) + (f" and {len(wrong) - 5} more" if len(wrong) > 5
                                            else "")
            raise InvalidEventData("MeetingHeld", {
                "attendee_ids": f"not registered participants of compound {compound_id}:"
                                f" {shown}"})

    def linked(self) -> dict[str, str]:
        """Resident credential id -> the participant linked to it now (a fold of the
        participants' registrations and links, in log order)."""
        found: dict[str, str] = {}
        start = 1
        topics = [t for t, n in PARTICIPANT_TOPICS.items()
                  if n in ("ParticipantRegistered", "ParticipantLinked")]
        while True:
            page = self._app.recorder.select_notifications(start=start, limit=1000,
                                                           topics=topics)
            for notification in page:
                event = self._app.mapper.to_domain_event(notification)
                resident = event.data.get("resident_id")
                participant = str(event.originator_id)
                for key in [k for k, v in found.items() if v == participant]:
                    del found[key]  # a participant has one resident at a time
                if resident:
                    found[str(resident)] = participant
            if len(page) < 1000:
                return found
            start = page[-1].id + 1

    def _must_be_free(self, resident_id: str, participant_id: str | None) -> None:
        """A resident's credential is linked to one participant (practices.md)."""
        holder = self.linked().get(resident_id)
        if holder is not None and holder != participant_id:
            raise ResidentLinked(resident_id, holder)

    # Reading ----------------------------------------------------------------------------

    def get(self, participant_id: UUID, reader: Actor) -> Participant:
        """The participant if ``reader`` may see it (staff within scope; a resident, the
        participant linked to them); ``ParticipantNotFound`` otherwise."""
        participant = self._load(participant_id)
        if not self.may_read(participant, reader):
            raise ParticipantNotFound(participant_id)
        return participant

    def at(self, participant_id: UUID, version: int) -> Participant:
        """The participant as it was at ``version`` (the answer of a recorded command,
        replayed); ``ParticipantNotFound`` when there is no such stream."""
        try:
            participant = self._app.repository.get(participant_id, version=version)
        except AggregateNotFoundError:
            raise ParticipantNotFound(participant_id) from None
        if not isinstance(participant, Participant):
            raise ParticipantNotFound(participant_id)
        return participant

    def may_read(self, participant: Participant, reader: Actor) -> bool:
        if reader.role is Role.RESIDENT:
            return participant.resident_id is not None and participant.resident_id == reader.id
        if reader.role not in STAFF_READERS:
            return False
        resolved: Actor = self._app.directory.resolve(reader)
        return resolved.covers(participant.compound_id, participant.community_id)

    def name_of(self, participant: Participant) -> str | None:
        """The name in plain text; None once erased."""
        envelope = participant.name
        opened = unseal(envelope, self._keys.get(envelope["subject_id"]))
        return None if opened is None else str(opened["name"])

    def history(self, participant_id: UUID) -> list[tuple[int, Participant.Event]]:
        """Every event of the participant with its global position, in order."""
        positions = self._app.positions(participant_id)
        return [(positions.get(e.originator_version, 0), e)
                for e in self._app.events.get(participant_id)
                if isinstance(e, Participant.Event)]

    def _load(self, participant_id: UUID) -> Participant:
        try:
            participant = self._app.repository.get(participant_id)
        except AggregateNotFoundError:
            raise ParticipantNotFound(participant_id) from None
        if not isinstance(participant, Participant):
            raise ParticipantNotFound(participant_id)
        return participant


def _must_write(actor: Actor, event_type: str) -> None:
    if actor.role not in WRITERS:
        raise PermissionDenied(event_type, actor.role,
                               "community staff record participants and points")


def _text(value: object, limit: int, field: str, errors: dict[str, str]) -> str | None:
    if not isinstance(value, str):
        errors[field] = "must be a string"
        return None
    try:
        text = clean_text(value, one_line=True).strip()
    except ValueError as error:
        errors[field] = str(error)
        return None
    if not text or len(text) > limit:
        errors[field] = f"must be 1 to {limit} characters"
        return None
    return text


def _int(value: object, low: int, high: int, field: str, errors: dict[str, str]) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        errors[field] = f"must be a whole number from {low} to {high}"
        return 0
    return value


def _check(event_type: str, data: Mapping[str, Any], table: Mapping[Rule, int]
           ) -> dict[str, Any]:
    """The client event's data, checked and normalised; InvalidEventData otherwise."""
    fields = {"PointsAwarded": {"rule", "hours", "note"},
              "PointsRedeemed": {"reward", "points"},
              "PointsReversed": {"award_version", "reason"},
              "ParticipantLinked": {"resident_id"}}.get(event_type)
    if fields is None:
        raise InvalidEventData(event_type, {"type": "must be one of " + ", ".join(CLIENT_EVENTS)})
    errors = {str(k): f"is not a field of {event_type}" for k in data if k not in fields}
    clean: dict[str, Any] = {}
    if event_type == "PointsAwarded":
        if data.get("rule") != Rule.VOLUNTEER_HOURS.value:
            errors["rule"] = "must be volunteer_hours (the other rules are awarded by the policy)"
        hours = _int(data.get("hours"), 1, MAX_HOURS, "hours", errors)
        clean = {"rule": Rule.VOLUNTEER_HOURS.value,
                 "points": min(hours * table[Rule.VOLUNTEER_HOURS], MAX_POINTS),
                 "hours": hours}
        if data.get("note") is not None:
            clean["note"] = _text(data["note"], MAX_TEXT, "note", errors)
    elif event_type == "PointsRedeemed":
        clean = {"reward": _text(data.get("reward"), MAX_TEXT, "reward", errors),
                 "points": _int(data.get("points"), MIN_POINTS, MAX_POINTS, "points", errors)}
    elif event_type == "PointsReversed":
        clean = {"award_version": _int(data.get("award_version"), 2, 2**31 - 1,
                                       "award_version", errors),
                 "reason": _text(data.get("reason"), MAX_TEXT, "reason", errors)}
    else:
        clean = {"resident_id": _text(data.get("resident_id"), 128, "resident_id", errors)}
    if errors:
        raise InvalidEventData(event_type, errors)
    return clean
