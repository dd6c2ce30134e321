"""A stateful test: random commands, valid and invalid, against the real application.

Hypothesis drives one case (and a second case it may be merged into) with random events,
random roles and random time. After every step the application must agree with a plain
model of the method written here, independently of domain/rules.py: the same step, the
version grown by exactly the events accepted, the same refusal class, a replay from the
stored events equal to the loaded case, and a hash chain that verifies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, event, note, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from domain.application import Cases, open_cases
from domain.catalogue import EVENT_TYPES
from domain.clock import ManualClock
from domain.errors import DomainError, InvalidTransition, PermissionDenied, RuleViolated
from domain.model import Actor
from tests.conftest import START, People, report_data
from tests.district import register_district
from tests.domain.helpers import state_of
from tests.domain.test_permission_table import DESIGN_TABLE

STAY = "stay"
#: The method as domain.md describes it, one plain dict: step -> event -> next step.
#: MeetingHeld and SupervisionRecorded branch on their data (see ``Model.target``).
ANY_OPEN = {"ReportMerged": STAY, "CommentAdded": STAY}
BEFORE_IMPLEMENT = {**ANY_OPEN, "CaseWithdrawn": "closed"}
FLOW: dict[str, dict[str, str]] = {
    "collect": {"ProblemCollected": "topic", "CaseMerged": "closed", **BEFORE_IMPLEMENT},
    "topic": {"TopicFormed": "review", "CaseMerged": "closed", **BEFORE_IMPLEMENT},
    "review": {"TopicApproved": "pre-consult", "TopicReturned": "topic",
               "TopicRejected": "closed", **BEFORE_IMPLEMENT},
    "pre-consult": {"StakeholderConsulted": STAY, "MeetingScheduled": "negotiate",
                    **BEFORE_IMPLEMENT},
    "negotiate": {"MeetingHeld": "branch", "CaseClosed": "closed", **BEFORE_IMPLEMENT},
    "publish": {"DecisionPublished": STAY, "ObjectionRaised": "negotiate",
                "PublicityClosed": "implement", **BEFORE_IMPLEMENT},
    "implement": {"ImplementationAssigned": STAY, "ImplementationAccepted": STAY,
                  "ProgressReported": STAY, "ImplementationCompleted": "supervise", **ANY_OPEN},
    "supervise": {"SupervisionRecorded": "branch", "ResidentRated": STAY,
                  "CaseClosed": "closed", **ANY_OPEN},
    "closed": {"ResidentRated": STAY, "CaseReopened": "implement", "CommentAdded": STAY},
}
ACTORS: tuple[Actor, ...] = (
    People.resident, People.neighbour, People.grid, People.community, People.party,
    People.owners, People.property, People.auditor, People.admin,
)
#: Events that end or side-track a case; the "allowed" rules leave them to ``any_command``.
DETOURS = {"CaseWithdrawn", "CaseMerged", "TopicRejected", "ReportMerged", "CommentAdded"}
ASSIGNEE_EVENTS = ("ImplementationAccepted", "ProgressReported", "ImplementationCompleted")
COMMANDS = tuple(e for e in EVENT_TYPES if e != "ProblemReported")
ASSIGNEE = ("property_company", "owners_committee", "community")


def command_data(event_type: str, flavour: int, now: datetime, into: str) -> dict[str, Any]:
    """Catalogue-valid data; ``flavour`` (0-3) picks branches and rule-breaking variants."""
    if event_type == "MeetingHeld":
        votes = [{"for": 9, "against": 2, "abstain": 1}, {"for": 2, "against": 9, "abstain": 0}]
        outcome = ["agreed", "not_agreed"][flavour % 2]
        # flavours 2 and 3 pair the outcome with the other votes: the guard refuses them
        return {"attendees": 12, "votes": votes[flavour % 2 if flavour < 2 else 1 - flavour % 2],
                "outcome": outcome}
    if event_type == "SupervisionRecorded":
        return {"verdict": "passed" if flavour % 2 == 0 else "failed"}
    if event_type == "CaseClosed":
        return {"resolution": "resolved" if flavour % 2 == 0 else "no_consensus"}
    if event_type == "TopicRejected":
        return {"reason": "referred", "referred_to": "街道办"} if flavour == 0 else (
            {"reason": "referred"} if flavour == 1 else {"reason": "out_of_scope"})
    if event_type == "DecisionPublished":
        return {"channels": ["公告栏"], "notice": "公示", "publicity_days": [0, 1, 3, 5][flavour]}
    if event_type == "ImplementationAssigned":
        return {"assignee_role": ASSIGNEE[flavour % 3], "assignee": "负责方",
                "due_at": (now + timedelta(days=10)).isoformat()}
    if event_type == "ResidentRated":
        source = "resident" if flavour % 2 == 0 else "callback"
        data: dict[str, Any] = {"satisfaction": "satisfied", "source": source}
        if flavour >= 2:
            data["resident_id"] = "resident-7"  # a callback's resident, or someone else's
        return data
    if event_type == "CaseMerged":
        return {"into_case_id": into}
    return {
        "ReportMerged": {},
        "ProblemCollected": {"category": "sanitation", "description": "垃圾未清运"},
        "TopicFormed": {"title": "垃圾清运", "question": "谁来清运?"},
        "TopicApproved": {},
        "TopicReturned": {"rework": "补充材料"},
        "StakeholderConsulted": {"party": "物业", "opinion": "同意"},
        "MeetingScheduled": {"scheduled_at": (now + timedelta(days=1)).isoformat(),
                             "venue": "议事厅"},
        "ObjectionRaised": {"objection": "不同意"},
        "PublicityClosed": {},
        "ImplementationAccepted": {},
        "ProgressReported": {"percent": 30 * flavour},
        "ImplementationCompleted": {"summary": "已清运"},
        "CaseReopened": {"reason": "又堆积了"},
        "CaseWithdrawn": {},
        "CommentAdded": {"text": "跟进"},
    }[event_type]


class Model:
    """What the case should be, by the rules of domain.md, kept by hand."""

    def __init__(self) -> None:
        self.step = "collect"
        self.version = 1
        self.consultations = 0
        self.publicity_until: datetime | None = None
        self.assigned: str | None = None
        self.accepted = False
        self.passed = False
        self.resolution: str | None = None
        self.target_version = 1

    def target(self, event_type: str, data: dict[str, Any]) -> str | None:
        """The next step, or None when the step does not allow the event."""
        to = FLOW[self.step].get(event_type)
        if to == "branch":
            if event_type == "MeetingHeld":
                return "publish" if data["outcome"] == "agreed" else "pre-consult"
            return self.step if data["verdict"] == "passed" else "implement"
        return self.step if to == STAY else to

    def refusal(self, event_type: str, data: dict[str, Any], actor: Actor,
                now: datetime) -> type[DomainError] | None:
        role = actor.role
        rates_as_someone_else = (
            data.get("resident_id", actor.id) != actor.id or data.get("source") != "resident")
        if event_type == "ResidentRated" and role == "resident" and rates_as_someone_else:
            return PermissionDenied
        if role not in DESIGN_TABLE[event_type]:
            return PermissionDenied
        if event_type in ASSIGNEE_EVENTS and self.assigned and role != self.assigned:
            return PermissionDenied
        if event_type == "CaseWithdrawn" and role == "resident" and actor.id != "resident-1":
            return PermissionDenied
        if event_type == "ResidentRated" and role != "resident" and data["source"] != "callback":
            return PermissionDenied
        if self.target(event_type, data) is None:
            return InvalidTransition
        return RuleViolated if self.rule_broken(event_type, data, now) else None

    def rule_broken(self, event_type: str, data: dict[str, Any], now: datetime) -> bool:
        if event_type == "MeetingScheduled":
            return self.consultations == 0
        if event_type == "MeetingHeld":
            votes = data["votes"]
            return (data["outcome"] == "agreed") != (votes["for"] > votes["against"])
        if event_type == "TopicRejected":
            return data["reason"] == "referred" and "referred_to" not in data
        if event_type == "DecisionPublished":
            return self.publicity_until is not None
        if event_type == "ObjectionRaised":
            return self.publicity_until is None or now >= self.publicity_until
        if event_type == "PublicityClosed":
            return self.publicity_until is None or now < self.publicity_until
        if event_type == "ImplementationAccepted":
            return self.assigned is None
        if event_type in ("ProgressReported", "ImplementationCompleted"):
            return self.assigned is None or not self.accepted
        if event_type == "CaseClosed":
            if self.step == "negotiate":
                return data["resolution"] != "no_consensus"
            return data["resolution"] != "resolved" or not self.passed
        if event_type == "CaseReopened":
            return self.resolution != "resolved"
        if event_type == "ResidentRated":
            if data["source"] == "callback" and "resident_id" not in data:
                return True
            return self.step == "closed" and self.resolution != "resolved"
        return False

    def apply(self, event_type: str, data: dict[str, Any], now: datetime) -> None:
        to = self.target(event_type, data)
        assert to is not None
        if to == "pre-consult" and self.step != "pre-consult":
            self.consultations = 0
        if to == "closed" and self.step != "closed":
            self.resolution = data.get("resolution") or {
                "TopicRejected": "rejected", "CaseWithdrawn": "withdrawn",
                "CaseMerged": "merged"}[event_type]
        if event_type == "StakeholderConsulted":
            self.consultations += 1
        elif event_type == "DecisionPublished":
            self.publicity_until = now + timedelta(days=data["publicity_days"])
        elif event_type == "ObjectionRaised":
            self.publicity_until = None
        elif event_type == "ImplementationAssigned":
            self.assigned, self.accepted = data["assignee_role"], False
        elif event_type == "ImplementationAccepted":
            self.accepted = True
        elif event_type == "ImplementationCompleted":
            self.passed = False
        elif event_type == "SupervisionRecorded":
            self.passed = data["verdict"] == "passed"
        elif event_type == "CaseReopened":
            self.resolution, self.passed = None, False
        elif event_type == "CaseMerged":
            self.target_version += 1
        self.step = to
        self.version += 1


class CaseMachine(RuleBasedStateMachine):
    """One case under random commands, checked against ``Model`` after every step."""

    def __init__(self) -> None:
        super().__init__()
        self.clock = ManualClock(START)
        self.app: Cases = register_district(open_cases("memory:", clock=self.clock))
        self.model = Model()

    @initialize()
    def report(self) -> None:
        self.case_id = self.app.report_problem(People.resident, report_data()).case.id
        self.other_id = self.app.report_problem(People.grid, report_data(title="重复")).case.id
        note(f"case {self.case_id} reported; duplicate target {self.other_id}")

    def attempt(self, event_type: str, actor: Actor, flavour: int) -> None:
        now = self.clock.now()
        data = command_data(event_type, flavour, now, str(self.other_id))
        expected = self.model.refusal(event_type, data, actor, now)
        note(f"[{self.model.step}] {actor.role}:{actor.id} {event_type} {data}"
             f" -> expect {expected.__name__ if expected else 'accepted'}")
        refused: DomainError | None = None
        try:
            self.app.record(self.case_id, event_type, data, actor)
        except DomainError as error:
            refused = error
        if refused is not None:
            assert expected is not None, f"refused unexpectedly: {refused}"
            assert type(refused) is expected, f"expected {expected.__name__}, got {refused!r}"
        else:
            assert expected is None, f"accepted, but expected {expected.__name__}"
            self.model.apply(event_type, data, now)
            event(f"reached {self.model.step}")

    @rule(event_type=st.sampled_from(COMMANDS), actor=st.sampled_from(ACTORS),
          flavour=st.integers(0, 3))
    def any_command(self, event_type: str, actor: Actor, flavour: int) -> None:
        self.attempt(event_type, actor, flavour)

    @rule(choice=st.data(), flavour=st.integers(0, 3))
    def a_command_the_step_allows(self, choice: st.DataObject, flavour: int) -> None:
        # mostly the work of the step, so that random cases get far along the method
        allowed = sorted(set(FLOW[self.model.step]) - DETOURS)
        if self.model.step == "negotiate":
            allowed.remove("CaseClosed")
        event_type = choice.draw(st.sampled_from(allowed or sorted(FLOW[self.model.step])))
        roles = DESIGN_TABLE[event_type]
        if event_type in ASSIGNEE_EVENTS and self.model.assigned and flavour % 2 == 0:
            roles = {self.model.assigned}
        actor = choice.draw(st.sampled_from([a for a in ACTORS if a.role in roles]))
        self.attempt(event_type, actor, flavour)

    @rule(choice=st.data(), flavour=st.integers(0, 1))
    def another_command_the_step_allows(self, choice: st.DataObject, flavour: int) -> None:
        self.a_command_the_step_allows(choice, flavour)

    @rule(hours=st.sampled_from([1, 24, 72, 144]))
    def time_passes(self, hours: int) -> None:
        self.clock.advance(timedelta(hours=hours))
        note(f"time passes: {hours} h, now {self.clock.now().isoformat()}")

    @invariant()
    def the_case_agrees_with_the_model(self) -> None:
        if not hasattr(self, "case_id"):
            return
        case = self.app.get_case(self.case_id)
        assert case.step.value == self.model.step
        assert case.version == self.model.version
        assert case.resolution == self.model.resolution
        assert self.app.get_case(self.other_id).version == self.model.target_version
        replayed = self.app.replay(self.case_id)
        assert [event.version for event, _ in replayed] == list(range(1, case.version + 1))
        assert state_of(replayed[-1][1]) == state_of(case)
        assert self.app.verify(self.case_id).valid
        assert self.app.verify(self.other_id).valid

    def teardown(self) -> None:
        self.app.close()


CaseMachine.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
test_random_commands_keep_the_case_in_step_with_a_plain_model = CaseMachine.TestCase
