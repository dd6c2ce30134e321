"""The joint meetings' read model (联席会议投影): every ``MeetingHeld``, folded from the log.

Meetings are few (at most one or two per case), so the read model keeps one small row per
meeting in memory and brings itself up to date on each read: ``catch_up`` reads the
``MeetingHeld`` events after its position (the log filtered by that topic) and looks up
each one's case's first event for its compound and community (one read per meeting);
``rebuild`` starts again from position 0. Counting is domain/meetings.py's.
docs/adr/0113-meetings-and-patrols.md.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta, timezone
from typing import Any

from domain.application import Cases
from domain.case import Case
from domain.meetings import DEFAULT_GROUP_BY, GROUP_KEYS, Meeting, grouped
from projections.queries import QueryError, Scope

PAGE = 1000
CHINA = timezone(timedelta(hours=8), "CST")
TOPIC: str = Case.EVENT_CLASSES["MeetingHeld"].TOPIC  # type: ignore[attr-defined]


class MeetingProjection:
    """The meetings of one store as of ``position`` (thread-safe)."""

    def __init__(self, cases: Cases) -> None:
        self.cases = cases
        self._lock = threading.Lock()
        self._meetings: list[Meeting] = []
        self.position = 0

    def catch_up(self) -> int:
        with self._lock:
            recorder = self.cases.recorder
            head = recorder.max_notification_id() or 0
            start = self.position + 1
            found = list(self._meetings)
            while start <= head:
                page = recorder.select_notifications(start=start, limit=PAGE, stop=head,
                                                     topics=[TOPIC])
                for notification in page:
                    event = self.cases.mapper.to_domain_event(notification)
                    if isinstance(event, Case.Event):
                        found.append(self._meeting(event))
                if len(page) < PAGE:
                    break
                start = page[-1].id + 1
            self._meetings = found
            self.position = max(self.position, head)
            return self.position

    def rebuild(self) -> int:
        with self._lock:
            self._meetings = []
            self.position = 0
        return self.catch_up()

    def meetings(self) -> list[Meeting]:
        return list(self._meetings)

    def _meeting(self, event: Case.Event) -> Meeting:
        first = next(iter(self.cases.events.get(event.originator_id, lte=1)))
        assert isinstance(first, Case.Event)
        return Meeting(
            case_id=str(event.originator_id), compound_id=first.data["compound_id"],
            community_id=first.data["community_id"],
            month=event.timestamp.astimezone(CHINA).strftime("%Y-%m"),
            attendees=int(event.data.get("attendees", 0)),
            parties=tuple(event.data.get("parties") or ()),
        )


@dataclass(frozen=True)
class MeetingQuery:
    """``GET /stats/meetings``'s filters: codes (outside the scope select nothing), months
    (``YYYY`` or ``YYYY-MM``) and ``group_by`` (422 outside GROUP_KEYS)."""

    compound: tuple[str, ...] = ()
    community: tuple[str, ...] = ()
    month: tuple[str, ...] = ()
    group_by: tuple[str, ...] = DEFAULT_GROUP_BY

    def check(self) -> None:
        for name in self.group_by:
            if name not in GROUP_KEYS:
                raise QueryError(f"unknown group_by {name!r}", "group_by", tuple(GROUP_KEYS))
        for month in self.month:
            if len(month) not in (4, 7) or not month[:4].isdigit() or (
                    len(month) == 7 and (month[4] != "-" or not month[5:].isdigit())):
                raise QueryError(f"month {month!r} is not YYYY or YYYY-MM"
                                 " (2026 or 2026-03)", "month")

    def selects(self, meeting: Meeting, scope: Scope) -> bool:
        if not scope.is_all and not (meeting.compound_id in scope.compounds
                                     or meeting.community_id in scope.communities):
            return False
        return ((not self.compound or meeting.compound_id in self.compound)
                and (not self.community or meeting.community_id in self.community)
                and (not self.month or any(meeting.month.startswith(m) for m in self.month)))


def meeting_figures(projection: MeetingProjection, scope: Scope, query: MeetingQuery
                    ) -> dict[str, Any]:
    """``{"position", "head", "group_by", "groups": [...]}`` (domain/meetings.py's groups)."""
    query.check()
    position = projection.catch_up()
    meetings = [m for m in projection.meetings() if query.selects(m, scope)]
    return {"position": position, "head": position, "group_by": list(query.group_by),
            "groups": grouped(meetings, query.group_by)}
