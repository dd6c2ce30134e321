"""A walk of the permission table: every role × every event type.

Each event is offered, in a step that allows it and with its guard satisfied, to one actor
of each role. It is accepted exactly when ``PERMISSIONS`` lists the role (narrowed, as
``permission_refusal`` does, to the party the work is assigned to); otherwise
PermissionDenied, and nothing is appended. The narrowings get stories of their own.
"""

from __future__ import annotations

from datetime import timedelta
from uuid import uuid4

import pytest

from domain.application import Cases
from domain.catalogue import EVENT_TYPES
from domain.clock import ManualClock
from domain.errors import CaseNotFound, OutOfScope, PermissionDenied, RuleViolated
from domain.model import Actor, Role, Step
from domain.rules import ASSIGNEE_EVENTS, PERMISSIONS, TRANSITIONS
from tests.conftest import People, report_data
from tests.domain.helpers import ROLE_ACTORS, case_in_step, prepare, snapshot_of, valid_data
from tests.stories import open_case

R = Role
#: The default table of domain.md ("Who may do what"), written out plainly. The one
#: narrowing: domain.md gives CommentAdded to "every role but auditor", yet also says
#: "admin manages credentials and compounds, not cases"; the code follows the latter.
DESIGN_TABLE: dict[str, set[Role]] = {
    "ProblemReported": {R.RESIDENT, R.GRID_WORKER, R.COMMUNITY},
    **{e: {R.GRID_WORKER, R.COMMUNITY}
       for e in ("ReportMerged", "CaseMerged", "ProblemCollected", "TopicFormed")},
    **{e: {R.COMMUNITY, R.PARTY_BRANCH}
       for e in ("TopicApproved", "TopicReturned", "TopicRejected")},
    **{e: {R.COMMUNITY, R.PARTY_BRANCH, R.OWNERS_COMMITTEE}
       for e in ("StakeholderConsulted", "MeetingScheduled", "MeetingHeld")},
    **{e: {R.COMMUNITY}
       for e in ("DecisionPublished", "PublicityClosed", "CaseClosed", "CaseReopened")},
    "ObjectionRaised": {R.RESIDENT, R.OWNERS_COMMITTEE},
    "ImplementationAssigned": {R.COMMUNITY},
    **{e: {R.PROPERTY_COMPANY, R.OWNERS_COMMITTEE, R.COMMUNITY}
       for e in ("ImplementationAccepted", "ProgressReported", "ImplementationCompleted")},
    "SupervisionRecorded": {R.PARTY_BRANCH},
    "ResidentRated": {R.RESIDENT, R.GRID_WORKER, R.COMMUNITY},
    "CaseWithdrawn": {R.RESIDENT, R.COMMUNITY},
    "CommentAdded": set(Role) - {R.AUDITOR, R.ADMIN},
}


def home_step(event_type: str) -> Step:
    """The first step (in the method's order) whose table allows the event."""
    return next(step for step in Step if event_type in TRANSITIONS[step])


def test_the_permission_table_is_the_design_table() -> None:
    assert set(PERMISSIONS) == set(EVENT_TYPES)
    assert {event: set(roles) for event, roles in PERMISSIONS.items()} == DESIGN_TABLE


def test_auditors_and_admins_may_record_nothing_at_all() -> None:
    for roles in PERMISSIONS.values():
        assert R.AUDITOR not in roles
        assert R.ADMIN not in roles


@pytest.mark.parametrize("role", list(Role), ids=lambda r: r.value)
def test_only_the_permitted_roles_may_report_a_problem(app: Cases, role: Role) -> None:
    actor = ROLE_ACTORS[role]
    if role in PERMISSIONS["ProblemReported"]:
        recorded = app.report_problem(actor, report_data())
        assert recorded.case.step is Step.COLLECT
        assert list(app.case_ids()) == [recorded.case.id]
    else:
        head = app.head_position()  # the test district's directory
        with pytest.raises(PermissionDenied) as refused:
            app.report_problem(actor, report_data())
        assert refused.value.role == role
        assert list(app.case_ids()) == []
        assert app.head_position() == head


ROLE_PAIRS = [
    pytest.param(event_type, role, id=f"{event_type}-{role.value}")
    for event_type in EVENT_TYPES
    if event_type != "ProblemReported"
    for role in Role
]


@pytest.mark.parametrize(("event_type", "role"), ROLE_PAIRS)
def test_an_event_is_accepted_exactly_from_the_roles_the_table_permits(
    app: Cases, clock: ManualClock, event_type: str, role: Role
) -> None:
    target_case = open_case(app, title="另一份报告")
    step = home_step(event_type)
    case_id = case_in_step(app, clock, step)
    prepare(app, clock, case_id, event_type)
    case = app.get_case(case_id)
    actor = ROLE_ACTORS[role]
    data = valid_data(event_type, clock=clock, step=step, actor=actor, merge_into=target_case)
    permitted = role in PERMISSIONS[event_type]
    if event_type in ASSIGNEE_EVENTS and case.assignment is not None:
        permitted = permitted and role.value == case.assignment["assignee_role"]
    before = snapshot_of(app, case_id)
    target_before = snapshot_of(app, target_case)

    if permitted:
        recorded = app.record(case_id, event_type, data, actor)
        assert recorded.event.actor_id == actor.id
        assert recorded.event.actor_role == role.value
        assert app.get_case(case_id).version == before[0] + 1
    else:
        with pytest.raises(PermissionDenied) as refused:
            app.record(case_id, event_type, data, actor)
        assert refused.value.role == role
        assert refused.value.event_type == event_type
        assert snapshot_of(app, case_id) == before
        assert snapshot_of(app, target_case) == target_before


def test_the_wrong_role_learns_of_its_role_before_the_step(
    app: Cases, clock: ManualClock
) -> None:
    case_id = case_in_step(app, clock, Step.COLLECT)
    with pytest.raises(PermissionDenied):
        app.record(case_id, "SupervisionRecorded", {"verdict": "passed"}, People.property)


# The narrowings of permission_refusal -------------------------------------------------------


def test_a_neighbour_may_not_withdraw_a_case_someone_else_reported(
    app: Cases, clock: ManualClock
) -> None:
    case_id = open_case(app)
    before = snapshot_of(app, case_id)
    with pytest.raises(PermissionDenied, match="reporting resident"):
        app.withdraw_case(case_id, People.neighbour, reason="我觉得不需要")
    assert snapshot_of(app, case_id) == before
    app.withdraw_case(case_id, People.resident, reason="已自行解决")
    assert app.get_case(case_id).resolution == "withdrawn"


def test_a_case_reported_by_staff_can_be_withdrawn_by_no_resident(
    app: Cases, clock: ManualClock
) -> None:
    case_id = app.report_problem(People.grid, report_data()).case.id
    with pytest.raises(PermissionDenied):
        app.withdraw_case(case_id, People.resident)
    app.withdraw_case(case_id, People.community)
    assert app.get_case(case_id).step is Step.CLOSED


@pytest.mark.parametrize(
    ("actor", "source", "resident_id"),
    [
        (People.resident, "callback", "resident-1"),
        (People.grid, "resident", None),
        (People.community, "resident", "resident-2"),
        (People.resident, "resident", "resident-2"),
    ],
    ids=["resident-as-callback", "grid-as-resident", "community-as-resident",
         "resident-for-someone-else"],
)
def test_a_rating_source_must_match_who_records_it(
    app: Cases, clock: ManualClock, actor: Actor, source: str, resident_id: str | None
) -> None:
    case_id = case_in_step(app, clock, Step.SUPERVISE)
    before = snapshot_of(app, case_id)
    with pytest.raises(PermissionDenied):
        app.rate(case_id, actor, satisfaction="dissatisfied", source=source,
                 resident_id=resident_id)
    assert snapshot_of(app, case_id) == before


def test_a_callback_must_name_the_resident_rated(app: Cases, clock: ManualClock) -> None:
    case_id = case_in_step(app, clock, Step.SUPERVISE)
    with pytest.raises(RuleViolated, match="resident_id"):
        app.rate(case_id, People.grid, satisfaction="satisfied", source="callback")


def test_each_resident_has_one_live_rating(app: Cases, clock: ManualClock) -> None:
    case_id = case_in_step(app, clock, Step.SUPERVISE)
    app.rate(case_id, People.neighbour, satisfaction="dissatisfied")
    app.rate(case_id, People.neighbour, satisfaction="satisfied")
    app.rate(case_id, People.community, satisfaction="basically_satisfied", source="callback",
             resident_id="resident-3")
    assert app.get_case(case_id).ratings == {
        "resident-2": "satisfied", "resident-3": "basically_satisfied",
    }


@pytest.mark.parametrize("assigned", ["property_company", "owners_committee", "community"])
def test_only_the_assigned_party_takes_and_completes_the_order(
    app: Cases, clock: ManualClock, assigned: str
) -> None:
    case_id = case_in_step(app, clock, Step.IMPLEMENT)
    app.assign_implementation(case_id, People.community, assignee_role=assigned,
                              assignee="负责方", due_at=clock.now() + timedelta(days=10))
    assignee = ROLE_ACTORS[Role(assigned)]
    for other in (People.property, People.owners, People.community):
        if other is not assignee:
            with pytest.raises(PermissionDenied, match=f"assigned to {assigned}"):
                app.accept_implementation(case_id, other)
    app.accept_implementation(case_id, assignee)
    app.complete_implementation(case_id, assignee, summary="完成")
    assert app.get_case(case_id).step is Step.SUPERVISE


def test_a_reassignment_moves_the_order_to_the_new_party(app: Cases, clock: ManualClock) -> None:
    case_id = case_in_step(app, clock, Step.IMPLEMENT)
    app.assign_implementation(case_id, People.community, assignee_role="property_company",
                              assignee="绿城物业", due_at=clock.now() + timedelta(days=10))
    app.accept_implementation(case_id, People.property)
    app.assign_implementation(case_id, People.community, assignee_role="owners_committee",
                              assignee="业委会", due_at=clock.now() + timedelta(days=10))
    with pytest.raises(PermissionDenied):
        app.report_progress(case_id, People.property, percent=10)
    with pytest.raises(RuleViolated, match="accepted"):
        app.report_progress(case_id, People.owners, percent=10)
    app.accept_implementation(case_id, People.owners)
    app.report_progress(case_id, People.owners, percent=10)
    assert app.get_case(case_id).progress == 10


def test_an_actor_outside_the_compound_touches_nothing(app: Cases, clock: ManualClock) -> None:
    case_id = case_in_step(app, clock, Step.IMPLEMENT)
    before = snapshot_of(app, case_id)
    with pytest.raises(OutOfScope):
        app.add_comment(case_id, People.outsider, text="别的小区的物业")
    with pytest.raises(OutOfScope):
        app.get_case(case_id, reader=People.outsider)
    with pytest.raises(OutOfScope):
        app.report_problem(Actor("resident-9", Role.RESIDENT, frozenset({"OTHER"})), report_data())
    assert snapshot_of(app, case_id) == before
    assert len(list(app.case_ids())) == 1


def test_an_unknown_case_is_not_found(app: Cases) -> None:
    with pytest.raises(CaseNotFound):
        app.add_comment(uuid4(), People.community, text="?")
