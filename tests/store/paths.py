"""Cases along every path of the method, so that a store holds every event type."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import People, report_data
from tests.stories import advance, open_case


def the_long_way(app: Cases, clock: ManualClock) -> UUID:
    """Every loop of the method on one case: returned topic, failed meeting, objection,
    failed supervision, rework, closure, a rating after closing, reopening, comments."""
    p = People
    case_id = open_case(app)
    app.add_comment(case_id, p.grid, text="已到现场查看")
    advance(app, clock, case_id, Step.REVIEW)
    app.return_topic(case_id, p.community, rework="写清出资方式")
    advance(app, clock, case_id, Step.NEGOTIATE)
    app.hold_meeting(case_id, p.community, attendees=15,
                     votes={"for": 4, "against": 9, "abstain": 2}, outcome="not_agreed")
    advance(app, clock, case_id, Step.PUBLISH)
    app.publish_decision(case_id, p.community, channels=["公告栏"], notice="公示", publicity_days=5)
    clock.advance(timedelta(days=1))
    app.raise_objection(case_id, p.neighbour, objection="费用分摊不公")
    advance(app, clock, case_id, Step.SUPERVISE)
    app.record_supervision(case_id, p.party, verdict="failed", note="仍有渗水")
    app.report_progress(case_id, p.property, percent=80, note="返工")
    app.complete_implementation(case_id, p.property, summary="返工完成")
    advance(app, clock, case_id, Step.CLOSED)
    app.rate(case_id, p.grid, satisfaction="basically_satisfied", source="callback",
             resident_id="resident-5", comment="回访")
    app.reopen_case(case_id, p.community, reason="雨后又漏")
    app.add_comment(case_id, p.property, text="再次维修")
    return case_id


def rejected_as_referred(app: Cases, clock: ManualClock) -> UUID:
    case_id = open_case(app, title="产权证办理", category="other")
    advance(app, clock, case_id, Step.REVIEW)
    app.reject_topic(case_id, People.community, reason="referred", referred_to="区不动产登记中心")
    return case_id


def withdrawn_by_the_reporter(app: Cases, clock: ManualClock) -> UUID:
    case_id = open_case(app, title="飞线充电")
    app.withdraw_case(case_id, People.resident, reason="已自行解决")
    return case_id


def no_consensus(app: Cases, clock: ManualClock) -> UUID:
    case_id = open_case(app, title="补种树木")
    advance(app, clock, case_id, Step.NEGOTIATE)
    app.close_case(case_id, People.community, resolution="no_consensus")
    return case_id


def merged_duplicate(app: Cases, clock: ManualClock) -> tuple[UUID, UUID]:
    """A grid worker's report (with its own contact) merged into an open case."""
    target = app.report_problem(
        People.grid, report_data(reporter={"name": "李四", "phone": "13900000000"})
    ).case.id
    duplicate = open_case(app, title="地库又漏水")
    app.merge_case(duplicate, target, People.grid, note="同一漏点")
    return duplicate, target


def every_path(app: Cases, clock: ManualClock) -> list[UUID]:
    """Cases whose events, together, cover the whole catalogue."""
    return [
        the_long_way(app, clock),
        rejected_as_referred(app, clock),
        withdrawn_by_the_reporter(app, clock),
        no_consensus(app, clock),
        *merged_duplicate(app, clock),
    ]
