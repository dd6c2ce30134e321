"""The points figures (积分统计): per compound or community, optionally per month.

Folded from the participants' ledgers in the events table up to the head read at the
start (``position`` and ``head`` in the answer are that position), so a figure is always
the plain fold of the ledgers (metrics.md, "Participation points"): participants,
points awarded, redeemed and reversed, and the top participants by balance with masked
names (practices.md: 张*, 欧阳**; an erased name reads null). With ``month`` (YYYY-MM,
China time) the points are those of the month and balances are at the month's end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from domain.application import Cases
from domain.model import Actor
from domain.participant_topics import PARTICIPANT_TOPICS
from domain.points.ledger import Participant
from domain.points.masking import mask_name
from domain.privacy import unseal

LOCAL = timezone(timedelta(hours=8), "CST")
GROUP_BY = ("compound", "community")
TOP = 10
MAX_TOP = 100


@dataclass
class Ledger:
    """One participant's ledger as folded for the figures."""

    participant_id: str
    compound_id: str
    community_id: str
    registered_at: datetime
    name: dict[str, str]
    #: (time, event name, points) of each ledger event, in order.
    entries: list[tuple[datetime, str, int]] = field(default_factory=list)

    def balance(self, before: datetime | None = None) -> int:
        total = 0
        for at, name, points in self.entries:
            if before is not None and at >= before:
                break
            total += points if name == "PointsAwarded" else -points
        return total


def ledgers(cases: Cases, until: int) -> dict[str, Ledger]:
    """Every participant's ledger up to log position ``until``."""
    found: dict[str, Ledger] = {}
    start = 1
    topics = list(PARTICIPANT_TOPICS)
    while start <= until:
        page = cases.recorder.select_notifications(start=start, limit=1000, stop=until,
                                                   topics=topics)
        for notification in page:
            event = cases.mapper.to_domain_event(notification)
            if not isinstance(event, Participant.Event):
                continue
            key = str(event.originator_id)
            if isinstance(event, Participant.ParticipantRegistered):
                found[key] = Ledger(key, event.data["compound_id"], event.data["community_id"],
                                    event.timestamp, dict(event.data["name"]))
            elif key in found and "points" in event.data:
                found[key].entries.append(
                    (event.timestamp, type(event).__name__, int(event.data["points"])))
        if len(page) < 1000:
            break
        start = page[-1].id + 1
    return found


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The first instant of a month (YYYY-MM, China time) and of the next one; ValueError."""
    first = datetime.strptime(month, "%Y-%m").replace(tzinfo=LOCAL)
    following = (first + timedelta(days=32)).replace(day=1)
    return first, following


def points_stats(cases: Cases, reader: Actor, *, group_by: str = "compound",
                 month: str | None = None, top: int = TOP) -> dict[str, Any]:
    """``{"position", "head", "groups": [{"group", "participants", "awarded", "redeemed",
    "reversed", "top": [{"participant_id", "name", "balance"}]}]}`` within the reader's
    scope (api.md); groups in code order, ``top`` by balance (highest first, then id)."""
    if group_by not in GROUP_BY:
        raise ValueError(f"group_by must be one of {', '.join(GROUP_BY)}")
    head = cases.head_position()
    start, end = month_bounds(month) if month is not None else (None, None)
    scope = cases.directory.resolve(reader)
    keys = cases.keys
    groups: dict[str, dict[str, Any]] = {}
    for ledger in ledgers(cases, head).values():
        if not scope.covers(ledger.compound_id, ledger.community_id):
            continue
        if end is not None and ledger.registered_at >= end:
            continue
        code = ledger.compound_id if group_by == "compound" else ledger.community_id
        group = groups.setdefault(code, {
            "group": {f"{group_by}_id": code, **({"month": month} if month else {})},
            "participants": 0, "awarded": 0, "redeemed": 0, "reversed": 0, "_top": [],
        })
        group["participants"] += 1
        for at, name, points in ledger.entries:
            if start is not None and end is not None and not start <= at < end:
                continue
            column = {"PointsAwarded": "awarded", "PointsRedeemed": "redeemed",
                      "PointsReversed": "reversed"}[name]
            group[column] += points
        group["_top"].append((ledger.balance(end), ledger))
    out = []
    for code in sorted(groups):
        group = groups[code]
        ranked = sorted(group.pop("_top"), key=lambda b: (-b[0], b[1].participant_id))[:top]
        group["top"] = [{"participant_id": ledger.participant_id,
                         "name": mask_name(_name(keys, ledger.name)), "balance": balance}
                        for balance, ledger in ranked]
        out.append(group)
    return {"position": head, "head": head, "group_by": group_by, "month": month,
            "groups": out}


def _name(keys: Any, envelope: dict[str, str]) -> str | None:
    opened = unseal(envelope, keys.get(envelope["subject_id"]))
    return None if opened is None else str(opened["name"])
