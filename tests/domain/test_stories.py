"""Stories of cases through the eight steps, as a community worker would tell them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from domain.errors import (
    CaseNotFound,
    InvalidEventData,
    InvalidTransition,
    PermissionDenied,
    RuleViolated,
)
from domain.model import Step
from tests.conftest import START, People, report_data
from tests.domain.helpers import snapshot_of, state_of
from tests.stories import STRAIGHT_PATH, advance, open_case

p = People


def steps_entered(app: Cases, case_id: object) -> list[str]:
    """The steps a case entered, in order (each change of step once)."""
    entered: list[str] = []
    for event in app.history(case_id):  # type: ignore[arg-type]
        if not entered or event.step_after != entered[-1]:
            entered.append(event.step_after)
    return entered


def test_a_leaking_garage_goes_straight_through_the_eight_steps_to_resolved(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.CLOSED)
    case = app.get_case(case_id)
    assert steps_entered(app, case_id) == [step.value for step in STRAIGHT_PATH]
    assert case.resolution == "resolved"
    assert case.closed_at == app.history(case_id)[-1].recorded_at
    assert case.ratings == {"resident-1": "satisfied"}
    assert case.assignment is not None
    assert case.assignment["assignee"] == "绿城物业"
    assert case.progress == 100
    assert app.verify(case_id).valid
    # a resident may still rate a resolved case; nobody may do the work again unless reopened
    app.rate(case_id, p.neighbour, satisfaction="basically_satisfied")
    with pytest.raises(InvalidTransition, match="step closed"):
        app.report_progress(case_id, p.property, percent=100)


def test_a_property_certificate_problem_is_rejected_and_referred_elsewhere(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app, title="产权证迟迟未办", category="other")
    advance(app, clock, case_id, Step.REVIEW)
    with pytest.raises(RuleViolated, match="referred_to"):
        app.reject_topic(case_id, p.party, reason="referred")
    app.reject_topic(case_id, p.party, reason="referred", referred_to="区不动产登记中心",
                     note="请向登记中心申请")
    case = app.get_case(case_id)
    assert case.step is Step.CLOSED
    assert case.resolution == "rejected"
    with pytest.raises(InvalidTransition):
        app.approve_topic(case_id, p.party)


def test_a_duplicate_report_is_merged_and_both_streams_are_saved_together(
    store_url: str, app_factory: Callable[[str], Cases], clock: ManualClock
) -> None:
    app = app_factory(store_url)
    first = open_case(app)
    advance(app, clock, first, Step.TOPIC)
    duplicate = app.report_problem(p.grid, report_data(title="车库又漏了")).case.id
    clock.advance(timedelta(hours=1))

    recorded = app.merge_case(duplicate, first, p.grid, note="同一漏点")

    dup_events, first_events = app.history(duplicate), app.history(first)
    merged, joined = dup_events[-1], first_events[-1]
    assert (merged.type, joined.type) == ("CaseMerged", "ReportMerged")
    assert merged.data == {"into_case_id": str(first), "note": "同一漏点"}
    assert joined.data == {"source_case_id": str(duplicate), "reports": 1, "note": "同一漏点"}
    assert merged.recorded_at == joined.recorded_at == clock.now()
    assert merged.position is not None
    assert joined.position is not None
    assert abs(merged.position - joined.position) == 1  # one transaction, adjacent in the log
    assert recorded.event == merged
    assert app.get_case(duplicate).resolution == "merged"
    assert app.get_case(duplicate).merged_into == str(first)
    assert app.get_case(first).support_count == 2
    assert app.get_case(first).step is Step.TOPIC
    assert app.verify(duplicate).valid
    assert app.verify(first).valid


def test_a_merge_that_is_refused_changes_neither_case(app: Cases, clock: ManualClock) -> None:
    closed = open_case(app)
    app.withdraw_case(closed, p.resident)
    duplicate = open_case(app, title="重复")
    elsewhere = app.report_problem(p.community, report_data(compound_id="JT")).case.id
    before = {c: snapshot_of(app, c) for c in (closed, duplicate, elsewhere)}
    with pytest.raises(RuleViolated, match="must be open"):
        app.merge_case(duplicate, closed, p.grid)
    with pytest.raises(RuleViolated, match="itself"):
        app.merge_case(duplicate, duplicate, p.grid)
    with pytest.raises(RuleViolated, match="same compound"):
        app.merge_case(duplicate, elsewhere, p.community)
    with pytest.raises(PermissionDenied):
        app.merge_case(duplicate, open_case(app), p.owners)
    advance(app, clock, duplicate, Step.REVIEW)
    before[duplicate] = snapshot_of(app, duplicate)
    target = open_case(app)
    with pytest.raises(InvalidTransition, match="step review"):
        app.merge_case(duplicate, target, p.grid)
    assert app.get_case(target).version == 1
    for case_id, snapshot in before.items():
        assert snapshot_of(app, case_id) == snapshot


def test_a_resident_withdraws_her_report_before_the_meeting(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.PRE_CONSULT)
    app.withdraw_case(case_id, p.resident, reason="邻居已经修好了")
    case = app.get_case(case_id)
    assert case.step is Step.CLOSED
    assert case.resolution == "withdrawn"
    with pytest.raises(RuleViolated, match="resolved"):
        app.reopen_case(case_id, p.community, reason="想重新开")


def test_a_neighbour_cannot_withdraw_a_case_that_is_not_hers(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.REVIEW)
    before = snapshot_of(app, case_id)
    with pytest.raises(PermissionDenied, match="reporting resident"):
        app.withdraw_case(case_id, p.neighbour, reason="不关心")
    assert snapshot_of(app, case_id) == before


def test_once_the_work_is_under_way_the_case_can_no_longer_be_withdrawn(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.IMPLEMENT)
    with pytest.raises(InvalidTransition, match="step implement"):
        app.withdraw_case(case_id, p.resident)


def test_publicity_cannot_close_early_and_an_objection_sends_it_back_to_negotiation(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.PUBLISH)
    with pytest.raises(RuleViolated, match="not been published"):
        app.close_publicity(case_id, p.community)
    with pytest.raises(RuleViolated, match="nothing has been published"):
        app.raise_objection(case_id, p.neighbour, objection="?")
    published_at = clock.now()
    app.publish_decision(case_id, p.community, channels=["公告栏"], notice="公示", publicity_days=5)
    with pytest.raises(RuleViolated, match="already published"):
        app.publish_decision(case_id, p.community, channels=["微信群"], notice="再公示",
                             publicity_days=5)
    clock.set(published_at + timedelta(days=5) - timedelta(seconds=1))
    with pytest.raises(RuleViolated, match="publicity period runs until"):
        app.close_publicity(case_id, p.community)

    app.raise_objection(case_id, p.neighbour, objection="出资比例不公平")
    assert app.get_case(case_id).step is Step.NEGOTIATE
    app.hold_meeting(case_id, p.owners, attendees=30, votes={"for": 20, "against": 8,
                     "abstain": 2}, outcome="agreed", resolution_text="调整出资比例")
    second = clock.now()
    app.publish_decision(case_id, p.community, channels=["公告栏"], notice="再次公示",
                         publicity_days=3)
    clock.set(second + timedelta(days=3))
    with pytest.raises(RuleViolated, match="is over"):
        app.raise_objection(case_id, p.owners, objection="太迟了")
    app.close_publicity(case_id, p.community)
    assert app.get_case(case_id).step is Step.IMPLEMENT
    assert steps_entered(app, case_id)[-4:] == ["publish", "negotiate", "publish", "implement"]


def test_a_failed_supervision_sends_the_work_back_and_a_resolved_case_can_be_reopened(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.SUPERVISE)
    with pytest.raises(RuleViolated, match="passed supervision"):
        app.close_case(case_id, p.community, resolution="resolved")
    app.record_supervision(case_id, p.party, verdict="failed", note="墙角仍渗水")
    assert app.get_case(case_id).step is Step.IMPLEMENT
    app.report_progress(case_id, p.property, percent=90, note="返工")
    app.complete_implementation(case_id, p.property, summary="返工完成")
    with pytest.raises(RuleViolated, match="passed supervision"):
        app.close_case(case_id, p.community, resolution="resolved")
    app.record_supervision(case_id, p.party, verdict="passed")
    with pytest.raises(RuleViolated, match="resolved"):
        app.close_case(case_id, p.community, resolution="no_consensus")
    app.close_case(case_id, p.community, resolution="resolved")
    assert app.get_case(case_id).resolution == "resolved"

    app.reopen_case(case_id, p.community, reason="雨季又漏")
    case = app.get_case(case_id)
    assert case.step is Step.IMPLEMENT
    assert case.resolution is None
    assert case.closed_at is None
    assert case.reopen_count == 1
    assert case.supervision_passed is False
    app.complete_implementation(case_id, p.property, summary="第三次修缮")
    with pytest.raises(RuleViolated, match="passed supervision"):
        app.close_case(case_id, p.community, resolution="resolved")
    assert steps_entered(app, case_id)[-6:] == [
        "supervise", "implement", "supervise", "closed", "implement", "supervise"]


def test_a_failed_meeting_needs_a_fresh_consultation_before_the_next_one(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.PRE_CONSULT)
    with pytest.raises(RuleViolated, match="consultation"):
        app.schedule_meeting(case_id, p.community, scheduled_at=clock.now(), venue="议事厅")
    advance(app, clock, case_id, Step.NEGOTIATE)
    with pytest.raises(RuleViolated, match="more voted for"):
        app.hold_meeting(case_id, p.party, attendees=10, votes={"for": 3, "against": 6,
                         "abstain": 1}, outcome="agreed")
    app.hold_meeting(case_id, p.party, attendees=10, votes={"for": 3, "against": 6,
                     "abstain": 1}, outcome="not_agreed")
    assert app.get_case(case_id).step is Step.PRE_CONSULT
    with pytest.raises(RuleViolated, match="consultation"):
        app.schedule_meeting(case_id, p.community, scheduled_at=clock.now(), venue="议事厅")
    app.consult_stakeholder(case_id, p.owners, party="3号楼居民", opinion="愿意分摊")
    app.schedule_meeting(case_id, p.community, scheduled_at=clock.now(), venue="议事厅")
    assert app.get_case(case_id).step is Step.NEGOTIATE
    app.close_case(case_id, p.community, resolution="no_consensus")
    assert app.get_case(case_id).resolution == "no_consensus"


def test_a_case_can_be_read_as_it_was_at_a_version_and_at_a_time(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    advance(app, clock, case_id, Step.CLOSED)
    history = app.history(case_id)

    at_five = app.get_case(case_id, version=5)
    assert at_five.version == 5
    assert at_five.step is Step.PRE_CONSULT
    assert at_five.consultations == 1
    assert state_of(at_five) == state_of(app.replay(case_id, up_to=5)[-1][1])

    assert len({e.recorded_at for e in history}) > 5  # the clock moved during the story
    for event in history:
        moment = event.recorded_at + timedelta(seconds=1)
        latest = max(e.version for e in history if e.recorded_at <= moment)
        as_of = app.get_case(case_id, as_of=moment)
        assert as_of.version == latest
        assert as_of.step.value == history[latest - 1].step_after
    with pytest.raises(CaseNotFound):
        app.get_case(case_id, as_of=START - timedelta(seconds=1))
    assert app.get_case(case_id, as_of=clock.now() + timedelta(days=365)).version == 16
    # a time and a version: the earlier of the two
    late = app.get_case(case_id, as_of=clock.now(), version=3)
    assert late.version == 3


def test_a_case_past_its_step_limit_is_overdue(app: Cases, clock: ManualClock) -> None:
    case_id = open_case(app)
    case = app.get_case(case_id)
    assert app.limits.step_deadline(case) == START + timedelta(days=2)
    assert not app.limits.is_overdue(case, START + timedelta(days=2))
    assert app.limits.is_overdue(case, START + timedelta(days=2, seconds=1))
    advance(app, clock, case_id, Step.CLOSED)
    assert app.limits.step_deadline(app.get_case(case_id)) is None


def test_a_merge_with_a_field_it_does_not_know_is_refused_and_records_nothing(
    app: Cases,
) -> None:
    duplicate, target = open_case(app), open_case(app)
    with pytest.raises(InvalidEventData) as refused:
        app.record(duplicate, "CaseMerged", {"into_case_id": str(target), "colour": "red"},
                   People.grid)
    assert "colour" in refused.value.errors
    assert app.get_case(duplicate).version == app.get_case(target).version == 1
