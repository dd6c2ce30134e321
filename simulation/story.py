"""One simulated case's story (案例故事): the eight steps as a generator of acts.

Each case is a generator that yields its next action (an event to record, a report, or a
merge) and the time it happens; every event is decided by the domain (``Case.report``,
``Case.record``, ``merge_cases``) at a plausible historical time, so the rules hold and
every hash chain verifies.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Generator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from domain.catalogue import canonical_time
from domain.model import Actor, Role
from domain.privacy import seal
from simulation.district import LOCAL, SURNAMES, Compound, People, fake_contact, subject_key
from simulation.points import attendees_of
from simulation.problems import (
    CHANNELS,
    COMMENTS,
    NOTICE_CHANNELS,
    OBJECTIONS,
    RATING_COMMENTS,
    REFERRED_TO,
    REOPEN_REASONS,
    RETURN_REASONS,
    SUPERVISION_FAILURES,
    VENUES,
    Problem,
)
from simulation.providers import DEFAULT, Quality, ServiceBook

# One case's story ---------------------------------------------------------------------------


@dataclass
class Act:
    """The next thing that happens to a case: an event to record, a report, or a merge."""

    at: datetime
    kind: str  # "report", "record" or "merge"
    actor: Actor
    event_type: str = ""
    data: dict[str, Any] = field(default_factory=dict)
    sealed: dict[str, str] | None = None


Story = Generator[Act, Any, None]


@dataclass(frozen=True)
class Plan:
    """What the generator knows of a case before its story starts."""

    index: int
    case_id: UUID
    reported_at: datetime
    compound: Compound
    people: People
    #: The providers' year (simulation/providers.py); None: the story's own draws.
    service: ServiceBook | None = None


def working_time(t: datetime, rng: random.Random) -> datetime:
    """Move a time into local working hours (08:00-21:00 UTC+8) if it falls at night."""
    local = t + LOCAL
    if 8 <= local.hour < 21:
        return t
    day = local.date() if local.hour < 8 else local.date() + timedelta(days=1)
    morning = datetime(day.year, day.month, day.day, 8, tzinfo=UTC) - LOCAL
    return morning + timedelta(minutes=rng.randint(0, 150), seconds=rng.randint(0, 59))


class Clockwork:
    """The moving clock of one case's story: each step takes a plausible while."""

    def __init__(self, start: datetime, rng: random.Random) -> None:
        self.t = start
        self.rng = rng

    def after(self, low_hours: float, high_hours: float) -> datetime:
        hours = self.rng.uniform(low_hours, high_hours)
        self.t = working_time(self.t + timedelta(hours=hours), self.rng)
        return self.t

    def days(self, low: float, high: float) -> datetime:
        return self.after(low * 24, high * 24)

    def at_least(self, moment: datetime) -> datetime:
        self.t = max(self.t, moment)
        return self.t


def _pick(rng: random.Random, weighted: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([k for k, _ in weighted], [w for _, w in weighted])[0]


def joint_parties(plan: Plan, seed: int, problem: Problem) -> list[str]:
    """The parties at a joint meeting (联席会议 "1+N", practices.md): the community always,
    the compound's own bodies mostly, police, housing office and co-building units now and
    then. Drawn from a generator of its own, so the rest of the story is unchanged."""
    rng = random.Random(f"parties:{seed}:{plan.index}")  # noqa: S311 - simulation
    chances = {
        "community": 1.0, "party_branch": 0.6, "owners_committee": 0.8,
        "property_company": 0.9 if plan.compound.has_property_company else 0.0,
        "police": 0.8 if problem.category == "security" else 0.08,
        "housing_office": 0.15, "co_building_unit": 0.1, "residents_representative": 0.7,
    }
    return [party for party, chance in chances.items() if rng.random() < chance]


def story(  # noqa: PLR0915 - one story, read top to bottom like the eight steps
    plan: Plan, problem: Problem, seed: int, rng: random.Random
) -> Story:
    """The life of one case, action by action; the driver sends back what happened."""
    c, p = plan.compound, plan.people
    service = plan.service  # issue 13: who is charged with an order, and how well it works
    clock = Clockwork(plan.reported_at, rng)
    channel = _pick(rng, CHANNELS)
    building = rng.randint(1, c.buildings)
    place = {
        "building": f"{building}号楼{rng.randint(1, 4)}单元",
        "garage": f"{building}号楼地下车库",
        "grounds": rng.choice((f"{building}号楼前", "中心花园", "北门内侧", "南区主干道")),
        "gate": rng.choice(("南门", "北门", "东门", f"{building}号楼单元门")),
        "office": "物业服务中心",
    }[problem.place]
    title = f"{c.name}{place}{problem.title}"
    reporter_actor = rng.choice(p.residents)
    sealed = None
    if channel == "property_patrol" and not c.has_property_company:
        channel = "grid_patrol"  # no company to patrol with (无物业小区)
    if channel in ("grid_patrol", "property_patrol"):  # 两巡: logged by the grid worker
        actor = p.grid
    elif channel in ("walk_in", "phone", "household_visit"):  # 入户走访 by community staff
        actor = p.community
        subject = f"report:{plan.case_id}"
        sealed = (subject, fake_contact(rng))
    else:
        actor = reporter_actor
        if rng.random() < 0.6:
            sealed = (f"resident:{actor.id}", fake_contact(rng))
    envelope = None
    if sealed is not None:
        subject, contact = sealed
        nonce = hashlib.sha256(f"nonce:{seed}:{plan.case_id}".encode()).digest()[:12]
        envelope = seal(subject, subject_key(seed, subject), contact, nonce)
    data = {
        "compound_id": c.id,
        "community_id": c.community.id,
        "title": title,
        "description": f"{problem.description} 地点: {place}.",
        "category": problem.category,
        "channel": channel,
        "location": place,
        "attachments": [f"photo-{plan.index}-{n}.jpg" for n in range(rng.choice((0, 0, 1, 2)))],
    }
    yield Act(clock.t, "report", actor, "ProblemReported", data, envelope)
    is_resident = actor.role is Role.RESIDENT
    helpers = (p.grid, p.community)

    def record(event_type: str, who: Actor, **fields: Any) -> Act:
        return Act(clock.t, "record", who, event_type, fields)

    def maybe_comment() -> Iterator[Act]:
        if rng.random() < 0.08:
            clock.after(1, 30)
            yield record("CommentAdded", rng.choice((p.grid, p.community, p.party)),
                         text=rng.choice(COMMENTS))

    # 1 collect: duplicates are merged, some residents report the same thing again
    if rng.random() < 0.05:
        clock.after(1, 20)
        merged = yield Act(clock.t, "merge", p.grid, data={"note": "同一问题, 合并办理"})
        if merged:
            return
    if rng.random() < 0.08:
        clock.after(1, 40)
        yield record("ReportMerged", p.grid, note="另有住户反映同一问题")
    if rng.random() < 0.02:
        clock.after(2, 48)
        yield record("CaseWithdrawn", reporter_actor if is_resident else p.community,
                     reason="问题已自行解决")
        return
    # Some cases get stuck somewhere for weeks, a few for months (the overdue backlog).
    stall = rng.random()
    stall_days = (10, 45) if stall < 0.05 else (60, 300) if stall < 0.075 else None
    stall_at = rng.choice(("collect", "review", "pre-consult", "implement", "supervise"))

    def maybe_stall(where: str) -> None:
        if stall_days and where == stall_at:
            clock.days(*stall_days)

    maybe_stall("collect")
    clock.after(2, 50)
    yield from maybe_comment()
    confirmed = problem.category
    if problem.collected_as and rng.random() < 0.5:
        confirmed = problem.collected_as
    yield record("ProblemCollected", rng.choice(helpers), category=confirmed,
                 description=f"核实: {problem.description} 涉及{place}, "
                             f"约{rng.randint(2, 60)}户.")

    # 2-3 topic and review, with returns and rejections
    for attempt in range(3):
        clock.after(4, 60)
        yield record("TopicFormed", rng.choice(helpers), title=f"{problem.title}怎么解决",
                     question=f"{c.name}{problem.title}: 由谁负责, 费用怎么分摊, 何时完成?",
                     parties=list(problem.parties))
        maybe_stall("review")
        clock.after(4, 72)
        reviewer = rng.choice((p.party, p.community))
        roll = rng.random()
        if roll < 0.05:
            reason = rng.choice(("out_of_scope", "referred", "referred", "insufficient_information",
                                 "duplicate"))
            fields: dict[str, Any] = {"reason": reason}
            if reason == "referred":
                fields["referred_to"] = rng.choice(REFERRED_TO)
                fields["note"] = f"属于{fields['referred_to']}职责, 已转交"
            yield record("TopicRejected", reviewer, **fields)
            return
        if roll < 0.15 and attempt < 2:
            yield record("TopicReturned", reviewer, rework=rng.choice(RETURN_REASONS))
            continue
        if roll < 0.17 and attempt == 0:
            yield record("CaseWithdrawn", reporter_actor if is_resident else p.community,
                         reason="住户撤回诉求")
            return
        yield record("TopicApproved", reviewer, opinion=rng.choice(("同意", "同意, 尽快协商",
                                                                    "同意立项")))
        break

    # 4-6 pre-consult, negotiate, publish; failed meetings and objections loop back
    failures = 0
    deliberators = (p.community, p.party, p.owners)
    published = False
    while not published:
        maybe_stall("pre-consult")
        for party in rng.sample(problem.parties, k=rng.randint(1, len(problem.parties))):
            clock.days(0.3, 3)
            yield record("StakeholderConsulted", rng.choice(deliberators), party=party,
                         representative=rng.choice(SURNAMES) + rng.choice(("先生", "女士", "主任")),
                         opinion=rng.choice(("同意方案", "原则同意, 费用需再商量", "有顾虑",
                                             "希望尽快解决", "不同意分摊方式")))
        clock.days(0.2, 2)
        meeting_at = working_time(clock.t + timedelta(days=rng.uniform(2, 7)), rng)
        yield record("MeetingScheduled", rng.choice(deliberators),
                     scheduled_at=canonical_time(meeting_at), venue=rng.choice(VENUES),
                     invited=list(problem.parties))
        while True:  # negotiate
            clock.at_least(meeting_at + timedelta(hours=rng.uniform(1, 3)))
            attendees = rng.randint(9, 60)
            if failures >= 2 or (failures == 1 and rng.random() < 0.4):
                yield record("CaseClosed", p.community, resolution="no_consensus",
                             note="多次协商未达成一致, 引导通过其他途径解决")
                return
            if rng.random() < 0.12:
                against = rng.randint(attendees // 3, attendees // 2)
                votes = {"for": rng.randint(0, against), "against": against}
                outcome = "not_agreed"
            else:
                votes = {"for": rng.randint(attendees // 2 + 1, attendees), "against": 0}
                votes["against"] = rng.randint(0, attendees - votes["for"])
                outcome = "agreed"
            votes["abstain"] = max(0, attendees - votes["for"] - votes["against"])
            yield record("MeetingHeld", rng.choice(deliberators), attendees=attendees,
                         votes=votes, outcome=outcome, parties=joint_parties(plan, seed,
                                                                             problem),
                         resolution_text="按协商方案实施, 费用按约定分摊" if outcome == "agreed"
                         else None,
                         # Participation points: who attended (simulation/points.py).
                         attendee_ids=attendees_of(seed, c.id, plan.index, failures))
            if outcome == "not_agreed":
                failures += 1
                break  # back to pre-consult
            clock.days(0.3, 2)
            days = rng.choice((3, 5, 5, 7, 7, 0))
            yield record("DecisionPublished", p.community,
                         channels=list(rng.choice(NOTICE_CHANNELS)),
                         notice=f"关于{problem.title}的协商结果公示", publicity_days=days)
            ends = clock.t + timedelta(days=days)
            if days and rng.random() < 0.06:
                clock.after(2, max(3.0, days * 24 - 4))
                if clock.t < ends:
                    objector = rng.choice((reporter_actor, p.owners, rng.choice(p.residents)))
                    yield record("ObjectionRaised", objector, objection=rng.choice(OBJECTIONS))
                    meeting_at = working_time(clock.t + timedelta(days=rng.uniform(2, 6)), rng)
                    continue  # back to negotiate
            clock.at_least(ends)
            clock.after(0.5, 30)
            yield record("PublicityClosed", p.community, note="公示期内无异议" if days else None)
            published = True
            break

    # 7-8 implement and supervise; failed supervisions and reopenings loop back
    roles: tuple[tuple[Role, int], ...]
    if c.has_property_company:
        roles = ((Role.PROPERTY_COMPANY, 75), (Role.OWNERS_COMMITTEE, 10), (Role.COMMUNITY, 15))
    else:
        roles = ((Role.OWNERS_COMMITTEE, 55), (Role.COMMUNITY, 45))
    doers = {Role.PROPERTY_COMPANY: p.property, Role.OWNERS_COMMITTEE: p.owners,
             Role.COMMUNITY: p.community}
    names = {Role.PROPERTY_COMPANY: c.property_company, Role.OWNERS_COMMITTEE: f"{c.name}业委会",
             Role.COMMUNITY: f"{c.community.name}居委会"}

    def assign(work_days: float) -> Generator[Act, Any, tuple[Actor, datetime, Quality]]:
        role = Role(rng.choices([r for r, _ in roles], [w for _, w in roles])[0])
        clock.days(0.2, 3)
        due = clock.t + timedelta(days=work_days)
        funding = rng.choice((["业委会"], ["物业公司"], ["维修基金"], ["政府奖补", "业委会"],
                              ["居民捐款"], ["社区公益金"], []))
        stamp = {} if service is None else {
            "provider_code": service.provider(c.id, role.value, clock.t)}
        yield record("ImplementationAssigned", p.community, assignee_role=role.value,
                     assignee=names[role], due_at=canonical_time(due), funding_sources=funding,
                     **stamp)
        quality = DEFAULT if service is None else service.quality_of(stamp["provider_code"])
        clock.after(2 * quality.accept, 48 * quality.accept)
        doer = doers[role]
        assert doer is not None
        yield record("ImplementationAccepted", doer, note="已领单")
        return doer, due, quality

    low, high = problem.work_days
    rounds = 0
    while True:
        rounds += 1
        maybe_stall("implement")
        if rng.random() < 0.04:  # reassigned before anyone starts
            yield from assign(rng.uniform(low, high))
            clock.days(1, 5)
            yield record("CommentAdded", p.community, text="原责任方无法承接, 重新派单")
        doer, due, quality = yield from assign(rng.uniform(low, high) if rounds == 1
                                               else rng.uniform(5, 15))
        span = (due - clock.t).total_seconds() / 86400
        overrun = rng.random() < quality.overrun
        finish = span * (rng.uniform(1.1, 1.8) if overrun else rng.uniform(0.4, 1.0))
        for percent in sorted(rng.sample((20, 30, 50, 60, 80), k=rng.randint(0, 3))):
            clock.at_least(clock.t + timedelta(days=finish * percent / 100 * 0.5))
            clock.after(1, 10)
            yield record("ProgressReported", doer, percent=percent,
                         note=f"已完成{percent}%", evidence=[f"progress-{percent}.jpg"])
        clock.at_least(due - timedelta(days=span) + timedelta(days=finish))
        clock.after(1, 8)
        yield from maybe_comment()
        cost = rng.randint(*problem.cost_yuan) * 100
        yield record("ImplementationCompleted", doer, summary=f"{problem.title}已处理完毕",
                     cost_fen=cost, evidence=["after-1.jpg", "after-2.jpg"])
        maybe_stall("supervise")
        clock.days(0.5, 5)
        if rng.random() < quality.fail and rounds < 3:
            yield record("SupervisionRecorded", p.party, verdict="failed",
                         note=rng.choice(SUPERVISION_FAILURES))
            continue
        yield record("SupervisionRecorded", p.party, verdict="passed", note="现场查看, 已整改到位")
        satisfaction = rng.choices(("satisfied", "basically_satisfied", "dissatisfied"),
                                   quality.satisfaction)[0]
        if rng.random() < 0.55:
            clock.after(2, 72)
            rater = reporter_actor if is_resident else rng.choice(p.residents)
            yield record("ResidentRated", rater, satisfaction=satisfaction, source="resident",
                         comment=rng.choice(RATING_COMMENTS[satisfaction]))
        clock.days(0.3, 3)
        yield record("CaseClosed", p.community, resolution="resolved", note="办结")
        if rng.random() < 0.6:  # 回访
            clock.days(1, 10)
            called = reporter_actor.id if is_resident else rng.choice(p.residents).id
            yield record("ResidentRated", rng.choice((p.grid, p.community)),
                         satisfaction=satisfaction, source="callback", resident_id=called,
                         comment="电话回访")
        if rng.random() < quality.reopen and rounds < 3:
            clock.days(5, 40)
            yield record("CaseReopened", p.community, reason=rng.choice(REOPEN_REASONS))
            continue
        return
