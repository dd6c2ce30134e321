"""Random histories of many cases, driven through the real application.

A history is a list of moves ``(case_pick, choice, minutes)``: move the clock on by
``minutes``, then either report a new case or record one of the events the picked case's
step allows (from the domain's transition table), with data and an actor that fit. The
domain refuses what its rules forbid; a refused move records nothing and is skipped.
"""

from __future__ import annotations

import random
from datetime import timedelta
from uuid import UUID

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from domain.application import Cases
from domain.case import Case
from domain.clock import ManualClock
from domain.errors import DomainError
from domain.model import Actor, Role, Step
from domain.rules import allowed_events

PLACES = (("JX", "C1"), ("LH", "C1"), ("HY", "C2"))
CATEGORIES = ("facilities", "sanitation", "parking")
CHANNELS = ("wechat", "phone", "grid_patrol")
TITLES = ("地下车库漏水", "Bicycles everywhere", "飞线充电", "rubbish not collected")

RESIDENTS = tuple(Actor(f"resident-{i}", Role.RESIDENT) for i in range(1, 4))
GRID = Actor("grid-1", Role.GRID_WORKER)
#: Grid workers whose tokens name a grid (``--grid``): their reports and collections are
#: stamped with it (docs/adr/0115). HY-G1 exists where a test registers it (GRID_UNITS);
#: each also names its compound, so that no move is refused where it does not.
GRID_WORKERS = {
    "JX": Actor("grid-jx", Role.GRID_WORKER,
                units=frozenset({("compound", "JX"), ("grid", "JX-G1")})),
    "HY": Actor("grid-hy", Role.GRID_WORKER,
                units=frozenset({("compound", "HY"), ("grid", "HY-G1")})),
}
GRID_UNITS = "level,code,name,parent,households,kind,provider,provider_from\n" \
             "grid,HY-G1,和园一网格,HY,,,,\n"
COMMUNITY = Actor("community-1", Role.COMMUNITY)
PARTY = Actor("party-1", Role.PARTY_BRANCH)
OWNERS = Actor("owners-1", Role.OWNERS_COMMITTEE)
PROPERTY = Actor("property-1", Role.PROPERTY_COMPANY)
BY_ROLE = {"property_company": PROPERTY, "owners_committee": OWNERS, "community": COMMUNITY}

def examples(n: int) -> settings:
    """Settings for a property over whole histories: n examples, no deadline (each plays
    a history through a real store), no example database."""
    return settings(
        max_examples=n,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        database=None,
    )


moves = st.lists(
    st.tuples(st.integers(0, 31), st.integers(0, 10_000), st.integers(0, 60 * 40)),
    min_size=20,
    max_size=120,
)


def play(
    app: Cases,
    clock: ManualClock,
    history: list[tuple[int, int, int]],
    case_ids: list[UUID] | None = None,
) -> int:
    """Apply the moves to the cases in ``case_ids`` (new ones are added); moves recorded."""
    case_ids = [] if case_ids is None else case_ids
    recorded = 0
    for pick, choice, minutes in history:
        clock.advance(timedelta(minutes=minutes))
        try:
            if not case_ids or pick >= 30:
                case_ids.append(_report(app, choice))
            else:
                _move(app, clock, case_ids, case_ids[pick % len(case_ids)], choice)
        except DomainError:
            continue
        recorded += 1
    return recorded


def _forward(case: Case) -> str | None:
    """The event that takes the case on along the method, given what it has done so far."""
    step = case.step
    if step is Step.PRE_CONSULT:
        return "MeetingScheduled" if case.consultations else "StakeholderConsulted"
    if step is Step.PUBLISH:
        return "PublicityClosed" if case.publicity_ends_at else "DecisionPublished"
    if step is Step.IMPLEMENT:
        if case.assignment is None:
            return "ImplementationAssigned"
        return "ImplementationCompleted" if case.accepted else "ImplementationAccepted"
    if step is Step.SUPERVISE:
        return "CaseClosed" if case.supervision_passed else "SupervisionRecorded"
    return {
        Step.COLLECT: "ProblemCollected",
        Step.TOPIC: "TopicFormed",
        Step.REVIEW: "TopicApproved",
        Step.NEGOTIATE: "MeetingHeld",
        Step.CLOSED: "ResidentRated",
    }.get(step)


def _report(app: Cases, choice: int) -> UUID:
    compound, community = PLACES[choice % len(PLACES)]
    actor = RESIDENTS[choice % 3] if choice % 2 else GRID
    if actor is GRID and (choice // 11) % 2:
        actor = GRID_WORKERS.get(compound, GRID)
    data = {
        "compound_id": compound,
        "community_id": community,
        "title": TITLES[(choice // 3) % len(TITLES)],
        "description": "found on patrol",
        "category": CATEGORIES[(choice // 7) % len(CATEGORIES)],
        "channel": CHANNELS[(choice // 5) % len(CHANNELS)],
    }
    return app.report_problem(actor, data).case.id


def _move(app: Cases, clock: ManualClock, case_ids: list[UUID], case_id: UUID, choice: int) -> None:
    case = app.get_case(case_id)
    options = [e for e in allowed_events(case.step) if e != "ProblemReported"]
    event = options[(choice // 3) % len(options)]
    if choice % 3:  # mostly go forward, so that cases reach the later steps and loops
        event = _forward(case) or event
    bit = (choice // 16) % 2 == 0
    resident = RESIDENTS[(choice // 32) % 3]
    if event == "ReportMerged":
        app.join_report(case_id, GRID)
    elif event == "CaseMerged":
        others = [i for i in case_ids if i != case_id]
        if others:
            app.merge_case(case_id, others[choice % len(others)], GRID)
    elif event == "ProblemCollected":
        collector = GRID_WORKERS.get(case.compound_id, GRID) if bit else GRID
        app.collect_problem(case_id, collector, category=CATEGORIES[choice % 3],
                            description="checked")
    elif event == "TopicFormed":
        app.form_topic(case_id, GRID, title="topic", question="how?", parties=["owners"])
    elif event == "TopicApproved":
        app.approve_topic(case_id, PARTY)
    elif event == "TopicReturned":
        app.return_topic(case_id, COMMUNITY, rework="be precise")
    elif event == "TopicRejected":
        app.reject_topic(case_id, PARTY, reason="out_of_scope")
    elif event == "StakeholderConsulted":
        app.consult_stakeholder(case_id, COMMUNITY, party="property", opinion="agrees")
    elif event == "MeetingScheduled":
        app.schedule_meeting(case_id, OWNERS, scheduled_at=clock.now() + timedelta(days=1),
                             venue="hall")
    elif event == "MeetingHeld":
        votes = {"for": 5, "against": 1, "abstain": 0} if bit else {"for": 1, "against": 5,
                                                                   "abstain": 1}
        app.hold_meeting(case_id, OWNERS, attendees=7, votes=votes,
                         outcome="agreed" if bit else "not_agreed")
    elif event == "DecisionPublished":
        app.publish_decision(case_id, COMMUNITY, channels=["board"], notice="notice",
                             publicity_days=choice % 3)
    elif event == "ObjectionRaised":
        app.raise_objection(case_id, resident, objection="no")
    elif event == "PublicityClosed":
        if case.publicity_ends_at is not None and clock.now() < case.publicity_ends_at:
            clock.advance(max(case.publicity_ends_at - clock.now(), timedelta(0)))
        app.close_publicity(case_id, COMMUNITY)
    elif event == "ImplementationAssigned":
        role = ("property_company", "owners_committee", "community")[choice % 3]
        app.assign_implementation(case_id, COMMUNITY, assignee_role=role, assignee=f"{role}-x",
                                  due_at=clock.now() + timedelta(hours=choice % 200))
    elif event in ("ImplementationAccepted", "ProgressReported", "ImplementationCompleted"):
        actor = BY_ROLE[case.assignment["assignee_role"]] if case.assignment else PROPERTY
        if event == "ImplementationAccepted":
            app.accept_implementation(case_id, actor)
        elif event == "ProgressReported":
            app.report_progress(case_id, actor, percent=choice % 101)
        else:
            app.complete_implementation(case_id, actor, summary="done")
    elif event == "SupervisionRecorded":
        app.record_supervision(case_id, PARTY, verdict="passed" if bit else "failed")
    elif event == "ResidentRated":
        satisfaction = ("satisfied", "basically_satisfied", "dissatisfied")[choice % 3]
        if (choice // 64) % 2:
            app.rate(case_id, resident, satisfaction=satisfaction)
        else:
            app.rate(case_id, COMMUNITY, satisfaction=satisfaction, source="callback",
                     resident_id=resident.id)
    elif event == "CaseClosed":
        resolution = "no_consensus" if case.step is Step.NEGOTIATE else "resolved"
        app.close_case(case_id, COMMUNITY, resolution=resolution)
    elif event == "CaseReopened":
        app.reopen_case(case_id, COMMUNITY, reason="leaks again")
    elif event == "CaseWithdrawn":
        app.withdraw_case(case_id, COMMUNITY)
    elif event == "CommentAdded":
        app.add_comment(case_id, resident if bit else GRID, text="still there")
    else:  # pragma: no cover - the catalogue grew: teach the driver the new event
        raise AssertionError(f"no move for {event}")


def random_history(seed: int, length: int) -> list[tuple[int, int, int]]:
    """A reproducible history without Hypothesis, for the larger scenario tests."""
    rng = random.Random(seed)
    return [(rng.randint(0, 31), rng.randint(0, 10_000), rng.randint(0, 600))
            for _ in range(length)]
