"""``MeetingHeld.attendee_ids`` name registered participants of the case's compound: any
other id is refused (422 naming the field) by the domain, and nothing is stored; events
stored before this check still process, their unknown ids earning nothing (ADR 0104)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from domain.application import Cases
from domain.case import Case
from domain.clock import ManualClock
from domain.errors import InvalidEventData
from domain.model import Step
from projections.points_policy import PointsPolicy
from tests.conftest import People, report_data
from tests.points.stories import STAFF, cast
from tests.stories import advance


def meeting(ids: list[str]) -> dict[str, Any]:
    return {"attendees": 20, "votes": {"for": 15, "against": 3, "abstain": 2},
            "outcome": "agreed", "attendee_ids": ids}


@pytest.fixture
def app(app_factory: Callable[[str], Cases], sqlite_url: str) -> Cases:
    return app_factory(sqlite_url)


def at_negotiation(app: Cases, clock: ManualClock) -> uuid.UUID:
    case = app.report_problem(People.resident, report_data()).case.id
    advance(app, clock, case, Step.NEGOTIATE)
    return case


def test_ids_that_are_not_participants_of_the_compound_are_refused(
        app: Cases, clock: ManualClock) -> None:
    who = cast(app, "att")
    elsewhere = app.points.register(STAFF, {"compound_id": "LH", "kinds": ["volunteer"],
                                            "name": "李四"}).id
    case = at_negotiation(app, clock)
    head = app.head_position()
    for wrong in (str(uuid.uuid4()), str(elsewhere), str(case)):
        with pytest.raises(InvalidEventData) as refused:
            app.record(case, "MeetingHeld", meeting([str(who.participants[0]), wrong]),
                       People.owners)
        assert set(refused.value.errors) == {"attendee_ids"}
        assert wrong in refused.value.errors["attendee_ids"]
        assert str(who.participants[0]) not in refused.value.errors["attendee_ids"]
    assert app.head_position() == head  # nothing stored
    ids = [str(p) for p in who.participants]
    held = app.record(case, "MeetingHeld", meeting(ids), People.owners)
    assert held.event.data["attendee_ids"] == ids


def test_a_meeting_without_attendee_ids_is_as_before(app: Cases, clock: ManualClock) -> None:
    data = meeting([])
    for body in (data, {k: v for k, v in data.items() if k != "attendee_ids"}):
        case = at_negotiation(app, clock)
        assert app.record(case, "MeetingHeld", body, People.owners).event.type == "MeetingHeld"


def test_an_event_stored_before_the_check_still_processes(
        app: Cases, clock: ManualClock) -> None:
    who = cast(app, "old")
    case_id = at_negotiation(app, clock)
    case = app.repository.get(case_id)
    assert isinstance(case, Case)
    unknown = str(uuid.uuid4())
    case.record("MeetingHeld", meeting([unknown, str(who.participants[1])]), People.owners,
                clock.now())
    app.save(case)  # as an earlier version stored it: no check on the way
    assert PointsPolicy(app).catch_up() == 1  # the participant's award only
    assert app.points.get(who.participants[1], STAFF).balance == 3
