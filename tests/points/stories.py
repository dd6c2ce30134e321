"""Stories of cases that earn points, and what a plain reading of the rules says they earn
(the model the policy's awards are checked against)."""

from __future__ import annotations

from dataclasses import dataclass
from uuid import UUID

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Actor, Role, Step
from tests.conftest import People, report_data
from tests.stories import advance

STAFF = People.community


@dataclass(frozen=True)
class Story:
    """One case: who reports (index into the residents), by which channel, how far it goes
    (``"collect"``: no topic; ``"topic"``; ``"meeting"`` with attendees; ``"rated"``)."""

    reporter: int
    channel: str
    reach: str
    attendees: tuple[int, ...] = ()


@dataclass
class Cast:
    """The residents (credential ids) and participants of one example; residents with an
    index below ``linked`` are linked to the participant of the same index."""

    residents: list[Actor]
    participants: list[UUID]
    linked: int


def cast(app: Cases, tag: str, people: int = 3, linked: int = 2) -> Cast:
    residents = [Actor(f"{tag}-resident-{i}", Role.RESIDENT, frozenset({"JX"}))
                 for i in range(people)]
    participants = []
    for i in range(people):
        extra = {"resident_id": residents[i].id} if i < linked else {}
        participants.append(app.points.register(STAFF, {
            "compound_id": "JX", "kinds": ["resident"], "name": f"张{i}号", **extra}).id)
    return Cast(residents, participants, linked)


def play(app: Cases, clock: ManualClock, who: Cast, story: Story) -> set[tuple[str, str, int]]:
    """Play one story; the awards (participant, rule, points) a plain reading expects."""
    reporter = who.residents[story.reporter]
    case = app.report_problem(reporter, report_data(channel=story.channel)).case.id
    expected: set[tuple[str, str, int]] = set()
    if story.reach == "collect":
        return expected
    advance(app, clock, case, Step.REVIEW)
    if story.reporter < who.linked:
        rule = "snapshot_topic" if story.channel == "snapshot" else "report_topic"
        expected.add((str(who.participants[story.reporter]), rule,
                      8 if rule == "snapshot_topic" else 5))
    if story.reach == "topic":
        return expected
    advance(app, clock, case, Step.NEGOTIATE)
    ids = [str(who.participants[i]) for i in story.attendees]
    app.record(case, "MeetingHeld", {"attendees": 20, "votes": {"for": 15, "against": 3,
               "abstain": 2}, "outcome": "agreed", "attendee_ids": ids}, People.owners)
    expected |= {(p, "meeting_attended", 3) for p in ids}
    if story.reach == "meeting":
        return expected
    advance(app, clock, case, Step.SUPERVISE)
    app.record_supervision(case, People.party, verdict="passed")
    app.rate(case, reporter, satisfaction="satisfied")
    if story.reporter < who.linked:
        expected.add((str(who.participants[story.reporter]), "rating_given", 1))
    return expected


def awards(app: Cases, who: Cast) -> list[tuple[str, str, int]]:
    """Every award recorded in the cast's ledgers (duplicates kept, to be counted)."""
    found = []
    for participant in who.participants:
        for _p, event in app.points.history(participant):
            if type(event).__name__ == "PointsAwarded":
                found.append((str(participant), event.data["rule"], event.data["points"]))
    return found
