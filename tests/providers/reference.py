"""An independent reference for the red/black list: metrics.md's counts computed straight
from the raw case events, order by order, by looking at the window of each order (the
events after its dispatch until the next dispatch), with none of the projection's code."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from domain.catalogue import parse_datetime

CHINA = timezone(timedelta(hours=8))


@dataclass(frozen=True)
class Raw:
    """A case event as stored: the case, its type, when, its data."""

    case_id: str
    type: str
    at: datetime
    data: dict[str, Any]


def _month_start(name: str, plus: int) -> datetime:
    year, month = map(int, name.split("-"))
    index = year * 12 + month - 1 + plus
    return datetime(index // 12, index % 12 + 1, 1, tzinfo=CHINA)


def reference(events: list[Raw], month: str, accept_hours: float = 24
              ) -> dict[str, dict[str, Any]]:
    """Per provider: the counts of metrics.md for orders dispatched in ``month``."""
    start, end, cutoff = (_month_start(month, n) for n in (0, 1, 2))
    by_case: dict[str, list[Raw]] = defaultdict(list)
    for event in events:
        by_case[event.case_id].append(event)
    out: dict[str, dict[str, Any]] = {}
    for stream in by_case.values():
        for i, order in enumerate(stream):
            if order.type != "ImplementationAssigned":
                continue
            provider = order.data.get("provider_code")
            if provider is None or not start <= order.at < end:
                continue
            window: list[Raw] = []
            for later in stream[i + 1:]:
                if later.type == "ImplementationAssigned":
                    break
                window.append(later)
            superseded = stream[i + 1 + len(window)].at if i + 1 + len(window) < len(
                stream) else None
            due = parse_datetime(order.data["due_at"])
            row = out.setdefault(provider, defaultdict(int))
            row["orders"] += 1
            accepted = [e.at for e in window if e.type == "ImplementationAccepted"]
            if accepted and accepted[0] - order.at <= timedelta(hours=accept_hours):
                row["taken"] += 1
            completed = [e.at for e in window if e.type == "ImplementationCompleted"]
            if completed and completed[0] <= cutoff:
                row["completed"] += 1
                row["completed_on_time"] += completed[0] <= due
            for e in window:
                if e.type == "SupervisionRecorded" and e.at <= cutoff:
                    row["supervisions"] += 1
                    row["passed"] += e.data["verdict"] == "passed"
            closings = [e.at for e in window if e.type == "CaseClosed" and e.at <= cutoff]
            if closings:
                row["closed"] += 1
                row["reopened"] += any(e.type == "CaseReopened" and closings[0] < e.at <= cutoff
                                       for e in window)
            done_by_end = bool(completed) and completed[0] < end
            gone_by_end = superseded is not None and superseded < end
            if due < end and not done_by_end and not gone_by_end:
                row["overdue_open"] += 1
            latest: dict[str, str] = {}
            for e in window:
                if e.type == "ResidentRated" and e.at <= cutoff:
                    latest[str(e.data.get("resident_id", ""))] = e.data["satisfaction"]
            row["rated"] += len(latest)
            row["satisfied"] += sum(s != "dissatisfied" for s in latest.values())
    return out


def as_counts(row: dict[str, Any]) -> dict[str, int]:
    """A ``GET /stats/providers`` row as the reference's counts."""
    return {
        "orders": row["orders"], "taken": row["taken_on_time"]["count"],
        "completed": row["completed_on_time"]["of"],
        "completed_on_time": row["completed_on_time"]["count"],
        "supervisions": row["supervisions_passed"]["of"],
        "passed": row["supervisions_passed"]["count"], "closed": row["reopened"]["of"],
        "reopened": row["reopened"]["count"], "overdue_open": row["overdue_open"],
        "rated": row["satisfied"]["of"], "satisfied": row["satisfied"]["count"],
    }


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC)
