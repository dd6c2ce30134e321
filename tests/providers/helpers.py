"""The providers' test district and short stories: cases dispatched, taken, done, rated."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.clock import ManualClock
from domain.directory.csvfile import parse
from domain.model import Actor, Role
from tests.conftest import People, report_data
from tests.district import OPERATOR

#: Beside tests/district.py's LC (serving JX): a second company on LH, a self-managing
#: owners' committee on HY, and a third company for replacements.
PROVIDERS_CSV = """\
level,code,name,parent,households,kind,provider,provider_from
provider,GD,金地物业,,,property_company,,
provider,WK,万科物业,,,property_company,,
provider,YW,和园业委会,,,owners_committee,,
compound,LH,莲花小区,C1,200,,GD,2025-01-01
compound,HY,和园,C2,300,,YW,2025-01-01
"""

STREET = Actor("street-1", Role.STREET, units=frozenset({("street", "S1")}))
#: Provider credentials as the token command makes them (no named units: served compounds).
LC = Actor("lc-1", Role.PROPERTY_COMPANY, provider="LC")
GD = Actor("gd-1", Role.PROPERTY_COMPANY, provider="GD")
WK = Actor("wk-1", Role.PROPERTY_COMPANY, provider="WK")
YW = Actor("yw-1", Role.OWNERS_COMMITTEE, provider="YW")
COMMUNITY_C2 = Actor("community-2", Role.COMMUNITY, communities=frozenset({"C2"}))
PARTY = {"JX": People.party, "LH": Actor("party-lh", Role.PARTY_BRANCH, frozenset({"LH"})),
         "HY": Actor("party-hy", Role.PARTY_BRANCH, frozenset({"HY"})),
         "JT": Actor("party-jt", Role.PARTY_BRANCH, frozenset({"JT"}))}
COMMUNITY = {"JX": People.community, "LH": People.community, "JT": People.community,
             "HY": COMMUNITY_C2}


def register_providers(app: Cases) -> Cases:
    app.directory.apply_rows(parse(PROVIDERS_CSV), OPERATOR)
    return app


def to_implement(app: Cases, clock: ManualClock, compound: str) -> UUID:
    """A case of ``compound`` taken to the implement step (by the community of it)."""
    staff = COMMUNITY[compound]
    case_id = app.report_problem(staff, report_data(compound_id=compound,
                                                    community_id=None)).case.id
    app.record(case_id, "ProblemCollected", {"category": "facilities",
                                             "description": "核实"}, staff)
    app.record(case_id, "TopicFormed", {"title": "修缮", "question": "怎么修?"}, staff)
    app.record(case_id, "TopicApproved", {}, staff)
    app.record(case_id, "StakeholderConsulted", {"party": "物业", "opinion": "同意"}, staff)
    app.record(case_id, "MeetingScheduled", {"scheduled_at": clock.now() + timedelta(days=1),
                                             "venue": "议事厅"}, staff)
    app.record(case_id, "MeetingHeld", {"attendees": 9, "votes": {"for": 8, "against": 1,
                                        "abstain": 0}, "outcome": "agreed"}, staff)
    app.record(case_id, "DecisionPublished", {"channels": ["公告栏"], "notice": "公示",
                                              "publicity_days": 0}, staff)
    app.record(case_id, "PublicityClosed", {}, staff)
    return case_id


def dispatch(app: Cases, case_id: UUID, compound: str, role: str = "property_company",
             due: datetime | None = None, **extra: Any) -> dict[str, Any]:
    """Dispatch the case's work (派单); the stored event's data."""
    due = due or app.clock.now() + timedelta(days=10)
    recorded = app.record(case_id, "ImplementationAssigned", {
        "assignee_role": role, "assignee": "负责方", "due_at": due, **extra,
    }, COMMUNITY[compound])
    return recorded.event.data


def finish(app: Cases, clock: ManualClock, case_id: UUID, compound: str, who: Actor,
           *, verdict: str = "passed", rating: str | None = "satisfied") -> None:
    """Take, complete, supervise (and close on a pass, with a rating)."""
    app.record(case_id, "ImplementationAccepted", {}, who)
    clock.advance(timedelta(hours=2))
    app.record(case_id, "ImplementationCompleted", {"summary": "完成"}, who)
    app.record(case_id, "SupervisionRecorded", {"verdict": verdict}, PARTY[compound])
    if verdict == "passed":
        if rating:
            app.record(case_id, "ResidentRated", {"satisfaction": rating, "source": "callback",
                                                  "resident_id": "r1"}, COMMUNITY[compound])
        app.record(case_id, "CaseClosed", {"resolution": "resolved"}, COMMUNITY[compound])
