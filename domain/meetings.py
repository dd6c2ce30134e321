"""Joint meeting figures (联席会议统计): meetings per month and compound, parties present.

Pure. A meeting is one ``MeetingHeld`` on a case; its compound and community are the
case's (as filed), its month the China-time month it was recorded in, its parties the
optional ``parties`` list (practices.md "Joint meetings and patrols"). A *joint* meeting
is one that lists at least two parties ("1+N"). docs/adr/0113-meetings-and-patrols.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.catalogue import Party

#: What meeting figures may group by, and the group key each gives.
GROUP_KEYS: dict[str, str] = {"compound": "compound_id", "community": "community_id",
                              "month": "month"}
DEFAULT_GROUP_BY: tuple[str, ...] = ("month", "compound")
PARTIES: tuple[str, ...] = tuple(p.value for p in Party)


@dataclass(frozen=True)
class Meeting:
    """One meeting held: the case's compound and community, the month (YYYY-MM, China
    time), attendees and the parties listed (empty when the client sent none)."""

    case_id: str
    compound_id: str
    community_id: str
    month: str
    attendees: int
    parties: tuple[str, ...] = ()


def grouped(meetings: Iterable[Meeting], group_by: Sequence[str] = DEFAULT_GROUP_BY
            ) -> list[dict[str, Any]]:
    """``[{"group", "meetings", "joint_meetings", "with_parties", "attendees",
    "parties": {party: meetings it attended}}]`` sorted by group; ``with_parties`` counts
    the meetings that list their parties at all. ``ValueError`` for an unknown dimension."""
    for name in group_by:
        if name not in GROUP_KEYS:
            raise ValueError(name)
    keys = [GROUP_KEYS[name] for name in dict.fromkeys(group_by)]
    sums: dict[tuple[str, ...], dict[str, Any]] = {}
    for meeting in meetings:
        key = tuple(getattr(meeting, k) for k in keys)
        row = sums.setdefault(key, {"meetings": 0, "joint_meetings": 0, "with_parties": 0,
                                    "attendees": 0, "parties": dict.fromkeys(PARTIES, 0)})
        row["meetings"] += 1
        row["attendees"] += meeting.attendees
        row["with_parties"] += 1 if meeting.parties else 0
        row["joint_meetings"] += 1 if len(meeting.parties) >= 2 else 0
        for party in meeting.parties:
            row["parties"][party] += 1
    return [{"group": dict(zip(keys, key, strict=True)), **sums[key]} for key in sorted(sums)]
