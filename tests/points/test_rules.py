"""The earning rules table, its configuration, and name masking (no I/O)."""

from __future__ import annotations

import pytest

from domain.model import Role
from domain.points import RULES, CaseEvent, Rule, awards_for, mask_name, points_table
from domain.points.rules import PointsConfigError

POINTS = points_table()
LINKED = {"resident-1": "p-1"}
KNOWN = {"p-1", "p-2"}


def topic(channel: str, reporter: str | None = "resident-1") -> CaseEvent:
    return CaseEvent("case-1", 4, "TopicFormed", {}, "grid-1", "grid_worker", reporter, channel)


def test_each_rule_has_one_row_with_its_default_points() -> None:
    assert set(RULES) == set(Rule)
    assert POINTS == {Rule.REPORT_TOPIC: 5, Rule.SNAPSHOT_TOPIC: 8, Rule.MEETING_ATTENDED: 3,
                      Rule.RATING_GIVEN: 1, Rule.VOLUNTEER_HOURS: 2}
    assert POINTS[Rule.SNAPSHOT_TOPIC] > POINTS[Rule.REPORT_TOPIC]


def test_points_per_rule_come_from_configuration() -> None:
    table = points_table({"POINTS_SNAPSHOT_TOPIC": "12", "POINTS_RATING_GIVEN": " "})
    assert table[Rule.SNAPSHOT_TOPIC] == 12
    assert table[Rule.RATING_GIVEN] == 1
    for bad in ("0", "100001", "five"):
        with pytest.raises(PointsConfigError, match="POINTS_MEETING_ATTENDED"):
            points_table({"POINTS_MEETING_ATTENDED": bad})


def test_a_linked_residents_report_earns_at_topic_formed_and_a_snapshot_earns_more() -> None:
    [plain] = awards_for(topic("wechat"), LINKED, KNOWN, POINTS)
    [snap] = awards_for(topic("snapshot"), LINKED, KNOWN, POINTS)
    assert (plain.participant_id, plain.rule, plain.points) == ("p-1", Rule.REPORT_TOPIC, 5)
    assert (snap.rule, snap.points) == (Rule.SNAPSHOT_TOPIC, 8)
    assert plain.source == snap.source == "topic:case-1"  # one topic award per case


def test_an_unlinked_or_staff_report_earns_nothing() -> None:
    assert awards_for(topic("wechat", reporter=None), LINKED, KNOWN, POINTS) == []
    assert awards_for(topic("wechat", reporter="resident-9"), LINKED, KNOWN, POINTS) == []


def test_each_registered_attendee_earns_once_per_meeting() -> None:
    held = CaseEvent("case-1", 9, "MeetingHeld",
                     {"attendee_ids": ["p-1", "p-2", "p-1", "p-unknown"]}, "c", "community")
    awards = awards_for(held, LINKED, KNOWN, POINTS)
    assert [(a.participant_id, a.rule, a.points) for a in awards] == [
        ("p-1", Rule.MEETING_ATTENDED, 3), ("p-2", Rule.MEETING_ATTENDED, 3)]
    assert {a.source for a in awards} == {"meeting:case-1:9"}
    # A meeting without the optional list earns nothing (today's clients).
    assert awards_for(CaseEvent("case-1", 9, "MeetingHeld", {}, "c", "community"),
                      LINKED, KNOWN, POINTS) == []


def test_a_rating_earns_for_the_linked_resident_who_gave_it() -> None:
    rated = CaseEvent("case-1", 20, "ResidentRated", {"source": "resident"}, "resident-1",
                      Role.RESIDENT.value)
    [award] = awards_for(rated, LINKED, KNOWN, POINTS)
    assert (award.participant_id, award.rule, award.source) == ("p-1", Rule.RATING_GIVEN,
                                                               "rating:case-1")
    # A call-back (回访) for that same linked resident earns nothing (ADR 0105).
    callback = CaseEvent("case-1", 20, "ResidentRated",
                         {"source": "callback", "resident_id": "resident-1"}, "c-1",
                         Role.COMMUNITY.value)
    assert awards_for(callback, LINKED, KNOWN, POINTS) == []


def test_other_events_earn_nothing() -> None:
    assert awards_for(CaseEvent("c", 2, "ProblemCollected", {}, "g", "grid_worker"),
                      LINKED, KNOWN, POINTS) == []


@pytest.mark.parametrize(("name", "masked"), [
    ("张三", "张*"), ("张三丰", "张**"), ("欧阳娜娜", "欧阳**"), ("欧阳锋", "欧阳*"),
    ("司马光", "司马*"), ("欧阳", "欧*"), ("李", "*"), (None, None),
])
def test_leaderboard_names_keep_the_surname_and_star_the_rest(
    name: str | None, masked: str | None
) -> None:
    assert mask_name(name) == masked
