"""Short stories that take a case through the method, for tests of every layer."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import People, report_data

#: The steps in the order a straight case passes them, and what takes it out of each.
STRAIGHT_PATH: tuple[Step, ...] = (
    Step.COLLECT, Step.TOPIC, Step.REVIEW, Step.PRE_CONSULT, Step.NEGOTIATE,
    Step.PUBLISH, Step.IMPLEMENT, Step.SUPERVISE, Step.CLOSED,
)


def open_case(app: Cases, **overrides: object) -> UUID:
    return app.report_problem(People.resident, report_data(**overrides)).case.id


def advance(app: Cases, clock: ManualClock, case_id: UUID, to: Step) -> None:
    """Take an open case along the straight path until it is in step ``to``."""
    p = People
    while (step := app.get_case(case_id).step) is not to:
        if step is Step.COLLECT:
            app.collect_problem(case_id, p.grid, category="facilities", description="核实: 漏水")
        elif step is Step.TOPIC:
            app.form_topic(case_id, p.grid, title="车库防水", question="如何出资修缮?",
                           parties=["业委会", "物业"])
        elif step is Step.REVIEW:
            app.approve_topic(case_id, p.party, opinion="同意")
        elif step is Step.PRE_CONSULT:
            app.consult_stakeholder(case_id, p.community, party="物业", opinion="愿意出资一半")
            app.schedule_meeting(case_id, p.community, scheduled_at=clock.now() + timedelta(days=2),
                                 venue="社区议事厅")
        elif step is Step.NEGOTIATE:
            app.hold_meeting(case_id, p.owners, attendees=23,
                             votes={"for": 18, "against": 3, "abstain": 2}, outcome="agreed",
                             resolution_text="物业与业委会各出一半")
        elif step is Step.PUBLISH:
            app.publish_decision(case_id, p.community, channels=["公告栏", "微信群"],
                                 notice="公示协商结果", publicity_days=5)
            clock.advance(timedelta(days=5))
            app.close_publicity(case_id, p.community)
        elif step is Step.IMPLEMENT:
            app.assign_implementation(case_id, p.community, assignee_role="property_company",
                                      assignee="绿城物业", due_at=clock.now() + timedelta(days=20))
            app.accept_implementation(case_id, p.property)
            app.report_progress(case_id, p.property, percent=50)
            app.complete_implementation(
                case_id, p.property, summary="防水层重做", cost_fen=1_200_000
            )
        elif step is Step.SUPERVISE:
            app.record_supervision(case_id, p.party, verdict="passed")
            app.rate(case_id, p.resident, satisfaction="satisfied")
            app.close_case(case_id, p.community, resolution="resolved")
        else:  # pragma: no cover
            raise AssertionError(f"cannot advance from {step}")
        clock.advance(timedelta(hours=6))
