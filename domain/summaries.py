"""One-line summaries of events, as auditors read them in a history or the audit trail."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

Data = Mapping[str, Any]

_SUMMARIES: dict[str, Callable[[Data], str]] = {
    "ProblemReported": lambda d: (
        f"reported [{d['category']}, {d['channel']}] in {d['compound_id']}: {d['title']}"
    ),
    "ReportMerged": lambda d: (
        ("another report of the same problem joined" if d.get("reports", 1) == 1
         else f"{d['reports']} reports of the same problem joined")
        + (f" (from case {d['source_case_id']})" if d.get("source_case_id") else "")
    ),
    "ProblemCollected": lambda d: f"problem collected as {d['category']}",
    "CaseMerged": lambda d: f"merged into case {d['into_case_id']}",
    "TopicFormed": lambda d: f"topic formed: {d['title']}",
    "TopicApproved": lambda d: "topic approved" + (f": {d['opinion']}" if d.get("opinion") else ""),
    "TopicReturned": lambda d: f"topic returned for rework: {d['rework']}",
    "TopicRejected": lambda d: (
        f"topic rejected ({d['reason']})"
        + (f", referred to {d['referred_to']}" if d.get("referred_to") else "")
    ),
    "StakeholderConsulted": lambda d: f"consulted {d['party']}",
    "MeetingScheduled": lambda d: f"meeting scheduled for {d['scheduled_at']} at {d['venue']}",
    "MeetingHeld": lambda d: (
        f"meeting held: {d['outcome']} ({d['votes']['for']} for, "
        f"{d['votes']['against']} against, {d['votes']['abstain']} abstaining)"
    ),
    "DecisionPublished": lambda d: (
        f"decision published for {d['publicity_days']} days on " + ", ".join(d["channels"])
    ),
    "ObjectionRaised": lambda d: "objection raised during publicity",
    "PublicityClosed": lambda d: "publicity period closed",
    "ImplementationAssigned": lambda d: (
        f"assigned to {d['assignee']} ({d['assignee_role']}), due {d['due_at']}"
    ),
    "ImplementationAccepted": lambda d: "order accepted by the assignee",
    "ProgressReported": lambda d: f"progress {d['percent']}%",
    "ImplementationCompleted": lambda d: "implementation completed",
    "SupervisionRecorded": lambda d: f"supervision {d['verdict']}",
    "ResidentRated": lambda d: f"rated {d['satisfaction']} ({d['source']})",
    "CaseClosed": lambda d: f"case closed: {d['resolution']}",
    "CaseReopened": lambda d: f"case reopened: {d['reason']}",
    "CaseWithdrawn": lambda d: "case withdrawn" + (f": {d['reason']}" if d.get("reason") else ""),
    "CommentAdded": lambda d: "comment added",
}


def one_line(text: str) -> str:
    """``text`` on one line: each line boundary (those of ``str.splitlines``: LF, CR, CR LF,
    VT, FF, FS, GS, RS, NEL, LINE and PARAGRAPH SEPARATOR) becomes one space."""
    return " ".join(text.splitlines())


def summarise(event_type: str, data: Data) -> str:
    """A one-line summary (no personal data: the reporter's contact is never shown), whatever
    line breaks its texts hold (titles stored before they were refused, descriptions)."""
    line = one_line(_SUMMARIES[event_type](data))
    return line if len(line) <= 160 else line[:157] + "..."
