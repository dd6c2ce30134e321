"""The earning rules of participation points (积分规则), and who may do what with points.

One table, ``RULES``: each rule's name, what earns it, whether the policy awards it from a
case event or community staff record it, and its default points (practices.md,
"Participation points"; defaults in docs/adr/0100-earning-rules.md). The points of each rule
are configuration: ``YISHI_POINTS_<RULE>`` (upper case) overrides a default, a whole number
from 1 to 100,000 (domain.md, "Ranges"). ``awards_for`` is the pure decision the policy
applies to one case event; nothing outside this module decides what earns points.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from domain.model import Role

#: Points per award or redemption (domain.md, "Ranges").
MIN_POINTS = 1
MAX_POINTS = 100_000
#: Volunteer hours in one record (a day at most).
MAX_HOURS = 24


class Rule(StrEnum):
    """An earning rule (积分规则)."""

    REPORT_TOPIC = "report_topic"  # 居民反映问题形成议题
    SNAPSHOT_TOPIC = "snapshot_topic"  # 随手拍形成议题
    MEETING_ATTENDED = "meeting_attended"  # 参加议事会
    RATING_GIVEN = "rating_given"  # 群众评单
    VOLUNTEER_HOURS = "volunteer_hours"  # 志愿服务时长 (points per hour)


@dataclass(frozen=True)
class EarningRule:
    """One row of the table: what earns the points, from which event, default points."""

    rule: Rule
    earned_by: str
    event_type: str | None  # the case event the policy awards at; None: recorded by staff
    default_points: int
    per_hour: bool = False


#: The earning rules (practices.md, "Participation points").
RULES: dict[Rule, EarningRule] = {r.rule: r for r in (
    EarningRule(Rule.REPORT_TOPIC, "a linked resident's report that becomes a topic",
                "TopicFormed", 5),
    EarningRule(Rule.SNAPSHOT_TOPIC, "a linked resident's snapshot report (随手拍) that"
                " becomes a topic", "TopicFormed", 8),
    EarningRule(Rule.MEETING_ATTENDED, "attending a deliberation meeting (attendee_ids of"
                " MeetingHeld)", "MeetingHeld", 3),
    EarningRule(Rule.RATING_GIVEN, "a rating given by a linked resident", "ResidentRated", 1),
    EarningRule(Rule.VOLUNTEER_HOURS, "volunteer hours recorded by the community (per hour)",
                None, 2, per_hour=True),
)}

#: Who records participants, volunteer hours, redemptions and reversals: community staff
#: (practices.md), within their scope.
WRITERS: frozenset[Role] = frozenset({Role.COMMUNITY})
#: Who reads participants and ledgers in their scope (names unmasked for WRITERS and ADMIN).
STAFF_READERS: frozenset[Role] = frozenset({
    Role.COMMUNITY, Role.ADMIN, Role.AUDITOR, Role.GRID_WORKER, Role.PARTY_BRANCH,
})


class PointsConfigError(ValueError):
    """A configured number of points is not a whole number from 1 to 100,000."""


def points_table(env: Mapping[str, str] | None = None) -> dict[Rule, int]:
    """Points per rule: each default, overridden by ``POINTS_<RULE>`` in ``env`` (the
    application's environment, where ``YISHI_POINTS_<RULE>`` is found). Raises
    ``PointsConfigError`` for a value that is not a whole number in range."""
    env = env or {}
    table: dict[Rule, int] = {}
    for rule, row in RULES.items():
        raw = env.get(f"POINTS_{rule.value.upper()}")
        if raw is None or str(raw).strip() == "":
            table[rule] = row.default_points
            continue
        try:
            value = int(str(raw).strip())
        except ValueError:
            raise PointsConfigError(f"POINTS_{rule.value.upper()}: not a whole number") from None
        if not MIN_POINTS <= value <= MAX_POINTS:
            raise PointsConfigError(
                f"POINTS_{rule.value.upper()}: {value} is outside {MIN_POINTS}..{MAX_POINTS}")
        table[rule] = value
    return table


@dataclass(frozen=True)
class Award:
    """One award the policy makes: to whom, by which rule, how many points, and the key
    of what earned it (``source``: the same key never earns twice in one ledger)."""

    participant_id: str
    rule: Rule
    points: int
    source: str
    case_id: str
    case_version: int
    event_type: str


@dataclass(frozen=True)
class CaseEvent:
    """What the policy knows of one case event: its case, version, type, data and actor;
    for ``TopicFormed`` also the case's reporting resident and channel (from the report)."""

    case_id: str
    version: int
    type: str
    data: Mapping[str, Any]
    actor_id: str
    actor_role: str
    reporter_actor_id: str | None = None
    channel: str | None = None


def awards_for(event: CaseEvent, linked: Mapping[str, str], known: set[str] | frozenset[str],
               points: Mapping[Rule, int]) -> list[Award]:
    """The awards one case event earns (pure). ``linked`` maps a resident credential id to
    its participant id; ``known`` holds the registered participant ids (an attendee id
    that names no participant earns nothing: appends refuse such ids since ADR 0104, so
    this covers events stored before).

    - ``TopicFormed``: the case's reporter, when a resident linked to a participant; the
      snapshot rule when the report came by ``snapshot`` (随手拍), else the report rule.
      Keyed by the case: a topic formed again after a return earns nothing more, and a
      report merged or withdrawn before a topic never reaches this event.
    - ``MeetingHeld``: each listed ``attendee_ids`` participant, once per meeting event.
    - ``ResidentRated``: the rating resident (``source`` resident) when linked; once per
      case and participant.
    """
    def award(participant: str, rule: Rule, source: str) -> Award:
        return Award(participant, rule, points[rule], source, event.case_id, event.version,
                     event.type)

    if event.type == "TopicFormed":
        participant = linked.get(event.reporter_actor_id or "")
        if participant is None:
            return []
        rule = Rule.SNAPSHOT_TOPIC if event.channel == "snapshot" else Rule.REPORT_TOPIC
        return [award(participant, rule, f"topic:{event.case_id}")]
    if event.type == "MeetingHeld":
        ids = dict.fromkeys(str(i) for i in event.data.get("attendee_ids") or ())
        return [award(p, Rule.MEETING_ATTENDED, f"meeting:{event.case_id}:{event.version}")
                for p in ids if p in known]
    if event.type == "ResidentRated":
        if event.data.get("source") != "resident" or event.actor_role != Role.RESIDENT.value:
            return []
        participant = linked.get(event.actor_id)
        if participant is None:
            return []
        return [award(participant, Rule.RATING_GIVEN, f"rating:{event.case_id}")]
    return []


#: The case event types the policy reads (besides the participants' own events).
POLICY_EVENT_TYPES: tuple[str, ...] = tuple(
    sorted({r.event_type for r in RULES.values() if r.event_type is not None})
)
