"""A walk of the whole transition table: every step × every event type (h2 style).

Each case is taken to its step by real events through the application, then offered one
event with a permitted role and data that satisfy the guards. The table decides: the event
is accepted exactly when ``TRANSITIONS`` allows it there, and leads where the table says;
otherwise InvalidTransition names the step and the allowed events, and nothing is stored.
"""

from __future__ import annotations

import pytest

from domain.application import Cases
from domain.catalogue import EVENT_TYPES
from domain.clock import ManualClock
from domain.errors import InvalidTransition, RuleViolated
from domain.model import Step
from domain.rules import TRANSITIONS, Branch, allowed_events, next_step
from tests.conftest import People
from tests.domain.helpers import PERMITTED, case_in_step, prepare, snapshot_of, valid_data
from tests.stories import advance, open_case

#: The branches of the two events whose next step depends on their data.
VARIANTS: dict[str, tuple[str | None, ...]] = {
    "MeetingHeld": ("agreed", "not_agreed"),
    "SupervisionRecorded": ("passed", "failed"),
}

PAIRS = [
    pytest.param(step, event_type, variant, id=f"{step.value}-{event_type}-{variant or 'plain'}")
    for step in Step
    for event_type in EVENT_TYPES
    for variant in VARIANTS.get(event_type, (None,))
]


def test_the_walk_covers_every_step_and_every_catalogue_event() -> None:
    assert set(TRANSITIONS) == set(Step)
    assert {event for step in Step for event in TRANSITIONS[step]} <= set(EVENT_TYPES)
    assert len(PAIRS) == len(Step) * (len(EVENT_TYPES) + len(VARIANTS))


@pytest.mark.parametrize(("step", "event_type", "variant"), PAIRS)
def test_an_event_is_accepted_exactly_when_the_table_allows_it_in_the_step(
    app: Cases, clock: ManualClock, step: Step, event_type: str, variant: str | None
) -> None:
    target_case = open_case(app, title="同一问题的另一份报告")
    case_id = case_in_step(app, clock, step)
    prepare(app, clock, case_id, event_type)
    assert app.get_case(case_id).step is step
    actor = PERMITTED[event_type]
    data = valid_data(event_type, clock=clock, step=step, actor=actor, merge_into=target_case,
                      variant=variant)
    before = snapshot_of(app, case_id)
    target_before = snapshot_of(app, target_case)

    if event_type in TRANSITIONS[step]:
        recorded = app.record(case_id, event_type, data, actor)
        case = app.get_case(case_id)
        expected = next_step(step, event_type, recorded.event.data)
        assert recorded.event.type == event_type
        assert case.version == before[0] + 1
        assert case.step is expected
        assert recorded.event.step_before == step.value
        assert recorded.event.step_after == expected.value
        assert app.history(case_id)[:-1] == before[1]
        if event_type in VARIANTS:
            branch = TRANSITIONS[step][event_type]
            assert isinstance(branch, Branch)
            assert variant is not None
            assert expected is (branch.to[variant] or step)
        assert app.verify(case_id).valid
    else:
        with pytest.raises(InvalidTransition) as refused:
            app.record(case_id, event_type, data, actor)
        error = refused.value
        assert error.step == step
        assert error.event_type == event_type
        assert error.allowed == allowed_events(step)
        assert f"step {step.value}" in str(error)
        for allowed in allowed_events(step):
            assert allowed in str(error)
        assert snapshot_of(app, case_id) == before
        assert snapshot_of(app, target_case) == target_before


@pytest.mark.parametrize("step", list(Step), ids=lambda s: s.value)
def test_a_second_report_can_never_be_recorded_on_an_existing_case(
    app: Cases, clock: ManualClock, step: Step
) -> None:
    case_id = case_in_step(app, clock, step)
    before = snapshot_of(app, case_id)
    with pytest.raises(InvalidTransition, match=f"step {step.value}"):
        app.record(case_id, "ProblemReported", valid_data("ProblemReported", clock=clock),
                   PERMITTED["ProblemReported"])
    assert snapshot_of(app, case_id) == before


@pytest.mark.parametrize(
    ("event_type", "reached_by"),
    [
        ("CaseReopened", "withdrawn"),
        ("CaseReopened", "rejected"),
        ("ResidentRated", "withdrawn"),
        ("ResidentRated", "merged"),
    ],
)
def test_a_case_closed_without_a_resolution_can_be_neither_reopened_nor_rated(
    app: Cases, clock: ManualClock, event_type: str, reached_by: str
) -> None:
    case_id = open_case(app)
    if reached_by == "withdrawn":
        app.withdraw_case(case_id, People.resident, reason="已解决")
    elif reached_by == "rejected":
        advance(app, clock, case_id, Step.REVIEW)
        app.reject_topic(case_id, People.community, reason="out_of_scope")
    else:
        other = open_case(app)
        app.merge_case(case_id, other, People.grid)
    assert app.get_case(case_id).step is Step.CLOSED
    actor = PERMITTED[event_type]
    before = snapshot_of(app, case_id)
    with pytest.raises(RuleViolated, match="resolved"):
        app.record(case_id, event_type, valid_data(event_type, clock=clock, actor=actor), actor)
    assert snapshot_of(app, case_id) == before
