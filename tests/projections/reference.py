"""The reference: every figure of metrics.md folded plainly from the raw event lists.

No projection code is used here. Each case's history comes from ``app.replay`` (each event
with the aggregate's own state after it), and each figure is computed the obvious way:
"the state at T" is the state after the last event recorded at or before T.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.application import Cases
from domain.case import Case
from domain.case_reads import StoredCaseEvent
from domain.model import Step
from domain.summaries import summarise

STEPS = ["collect", "topic", "review", "pre-consult", "negotiate", "publish", "implement",
         "supervise"]
RESOLUTIONS = ["resolved", "rejected", "withdrawn", "merged", "no_consensus"]
LOOPS = {"TopicReturned": "returned_topics", "ObjectionRaised": "objections",
         "CaseReopened": "reopenings"}


@dataclass
class Timeline:
    events: list[StoredCaseEvent]
    states: list[Case]

    @property
    def reported_at(self) -> datetime:
        return self.events[0].recorded_at

    @property
    def final(self) -> Case:
        return self.states[-1]

    def at(self, moment: datetime) -> Case | None:
        state = None
        for event, after in zip(self.events, self.states, strict=True):
            if event.recorded_at <= moment:
                state = after
        return state


def timelines(app: Cases) -> list[Timeline]:
    result = []
    for case_id in app.case_ids():
        pairs = app.replay(case_id)
        result.append(Timeline([e for e, _ in pairs], [s for _, s in pairs]))
    return result


def _period(moment: datetime, period: str) -> str:
    local = (moment + timedelta(hours=8)).replace(tzinfo=None)
    if period == "day":
        return f"{local.year:04d}-{local.month:02d}-{local.day:02d}"
    if period == "week":
        iso = local.isocalendar()
        return f"{iso[0]}-W{iso[1]:02d}"
    if period == "month":
        return f"{local.year:04d}-{local.month:02d}"
    if period == "quarter":
        return f"{local.year}-Q{(local.month + 2) // 3}"
    return str(local.year)


def _key(t: Timeline, names: list[str], period: str | None) -> tuple[str | None, ...]:
    case = t.final
    values = {
        "compound_id": case.compound_id,
        "community_id": case.community_id,
        "category": t.states[0].category,  # replaced below by the latest category
        "channel": case.channel,
        "assignee_role": (case.assignment or {}).get("assignee_role") or "",
        "grid_id": grid_of(t),
    }
    values["category"] = case.category
    return tuple(_period(t.reported_at, period or "month") if n == "period" else values[n]
                 for n in names)


def grid_of(t: Timeline) -> str | None:
    """The case's grid: that of its first report or collection stamped with one."""
    for event in t.events:
        if event.type in ("ProblemReported", "ProblemCollected") and event.data.get("grid"):
            return str(event.data["grid"])
    return None


def _order(item: tuple[tuple[str | None, ...], Any]) -> tuple[tuple[bool, str], ...]:
    """Groups in key order, a null key (a case without a grid) first."""
    return tuple((v is not None, v or "") for v in item[0])


def cohort(app: Cases, tls: list[Timeline], moment: datetime, scope: tuple[set[str], set[str]],
           filters: dict[str, Any]) -> list[Timeline]:
    compounds, communities = scope
    chosen = []
    for t in tls:
        case = t.final
        if (compounds or communities) and (
            case.compound_id not in compounds and case.community_id not in communities
        ):
            continue
        if t.reported_at > moment:
            continue
        if filters.get("from_") and t.reported_at < filters["from_"]:
            continue
        if filters.get("to") and t.reported_at >= filters["to"]:
            continue
        if filters.get("compound") and case.compound_id != filters["compound"]:
            continue
        if filters.get("category") and case.category != filters["category"]:
            continue
        if filters.get("channel") and case.channel != filters["channel"]:
            continue
        chosen.append(t)
    return chosen


def _p90(values: list[float]) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    rank = 0.9 * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _rate(a: int, b: int) -> float | None:
    return None if b == 0 else a / b


def _grouped(tls: list[Timeline], names: list[str], period: str | None
             ) -> list[tuple[tuple[str | None, ...], list[Timeline]]]:
    if not names:
        return [((), tls)]
    groups: dict[tuple[str | None, ...], list[Timeline]] = {}
    for t in tls:
        groups.setdefault(_key(t, names, period), []).append(t)
    return sorted(groups.items(), key=_order)


def closure(app: Cases, tls: list[Timeline], moment: datetime, names: list[str],
            period: str | None, scope: tuple[set[str], set[str]], filters: dict[str, Any]
            ) -> list[dict[str, Any]]:
    out = []
    for key, members in _grouped(cohort(app, tls, moment, scope, filters), names, period):
        by = dict.fromkeys(RESOLUTIONS, 0)
        closed = on_time = ever = reopened = responded = 0
        durations = []
        for t in members:
            state = t.at(moment)
            assert state is not None
            seen = [e for e in t.events if e.recorded_at <= moment]
            if any(e.step_after == "closed" for e in seen):
                ever += 1
            if any(e.type == "CaseReopened" for e in seen):
                reopened += 1
            handling = [e for e in t.events[1:] if e.actor_role != "resident"]
            if handling and handling[0].recorded_at <= moment and (
                handling[0].recorded_at - t.reported_at <= app.limits.response
            ):
                responded += 1
            if state.step is Step.CLOSED:
                closed += 1
                by[state.resolution] += 1
                durations.append((state.closed_at - t.reported_at).total_seconds())
                if state.closed_at <= t.reported_at + app.limits.overall:
                    on_time += 1
        out.append({
            "group": dict(zip(names, key, strict=True)),
            "reported": len(members),
            "closed": closed,
            "closed_by_resolution": by,
            "closure_rate": _rate(closed, len(members)),
            "resolved_rate": _rate(by["resolved"], closed),
            "on_time_rate": _rate(on_time, closed),
            "reopen_rate": _rate(reopened, ever),
            "response_rate": _rate(responded, len(members)),
            "time_to_close": {
                "median_s": statistics.median(durations) if durations else None,
                "p90_s": _p90(durations),
            },
        })
    return out


def steps(app: Cases, tls: list[Timeline], moment: datetime,
          scope: tuple[set[str], set[str]], filters: dict[str, Any]) -> dict[str, Any]:
    backlog = dict.fromkeys(STEPS, 0)
    overdue = dict.fromkeys(STEPS, 0)
    spent: dict[str, list[float]] = {s: [] for s in STEPS}
    loops = dict.fromkeys(["returned_topics", "failed_meetings", "objections",
                           "failed_supervisions", "reopenings"], 0)
    for t in cohort(app, tls, moment, scope, filters):
        state = t.at(moment)
        assert state is not None
        if state.step is not Step.CLOSED:
            backlog[state.step.value] += 1
            if app.limits.is_overdue(state, moment):
                overdue[state.step.value] += 1
        entered: tuple[str, datetime] | None = None
        for e in t.events:
            if e.recorded_at > moment:
                break
            if e.step_before is None or e.step_after != e.step_before:
                if entered is not None:
                    spent[entered[0]].append((e.recorded_at - entered[1]).total_seconds())
                entered = (e.step_after, e.recorded_at) if e.step_after != "closed" else None
            if e.type in LOOPS:
                loops[LOOPS[e.type]] += 1
            if e.type == "MeetingHeld" and e.data["outcome"] == "not_agreed":
                loops["failed_meetings"] += 1
            if e.type == "SupervisionRecorded" and e.data["verdict"] == "failed":
                loops["failed_supervisions"] += 1
    return {
        "steps": [
            {"step": s, "backlog": backlog[s], "overdue": overdue[s], "time_in_step": {
                "count": len(spent[s]),
                "mean_s": statistics.mean(spent[s]) if spent[s] else None,
                "median_s": statistics.median(spent[s]) if spent[s] else None,
                "p90_s": _p90(spent[s]),
            }}
            for s in STEPS
        ],
        "loops": loops,
    }


def satisfaction(app: Cases, tls: list[Timeline], moment: datetime, names: list[str],
                 period: str | None, scope: tuple[set[str], set[str]], filters: dict[str, Any]
                 ) -> list[dict[str, Any]]:
    out = []
    for key, members in _grouped(cohort(app, tls, moment, scope, filters), names, period):
        counts = dict.fromkeys(["satisfied", "basically_satisfied", "dissatisfied"], 0)
        for t in members:
            state = t.at(moment)
            assert state is not None
            for value in state.ratings.values():
                counts[value] += 1
        total = sum(counts.values())
        out.append({
            "group": dict(zip(names, key, strict=True)), "ratings": total, **counts,
            "satisfaction_rate": _rate(counts["satisfied"] + counts["basically_satisfied"], total),
        })
    return out


def case_list(app: Cases, tls: list[Timeline], now: datetime) -> list[dict[str, Any]]:
    rows = []
    for t in tls:
        case = t.final
        deadline = app.limits.step_deadline(case)
        rows.append({
            "id": str(case.id), "version": case.version, "step": case.step.value,
            "status": "open" if case.is_open else "closed", "resolution": case.resolution,
            "compound_id": case.compound_id, "community_id": case.community_id,
            "title": case.title, "category": case.category, "channel": case.channel,
            "assignee": (case.assignment or {}).get("assignee"),
            "assignee_role": (case.assignment or {}).get("assignee_role"),
            "reported_at": case.reported_at.isoformat(),
            "updated_at": t.events[-1].recorded_at.isoformat(),
            "closed_at": case.closed_at.isoformat() if case.closed_at else None,
            "deadline": deadline.isoformat() if deadline else None,
            "overdue": app.limits.is_overdue(case, now),
            "support_count": case.support_count, "reopen_count": case.reopen_count,
            "position": t.events[-1].position, "grid_id": grid_of(t),
        })
    return sorted(rows, key=lambda r: r["id"])


def audit(tls: list[Timeline]) -> list[dict[str, Any]]:
    rows = [
        {
            "position": e.position, "case_id": str(e.case_id), "version": e.version,
            "type": e.type, "step_before": e.step_before, "step_after": e.step_after,
            "actor": {"id": e.actor_id, "role": e.actor_role},
            "recorded_at": e.recorded_at.isoformat(), "summary": summarise(e.type, e.data),
            "prev_hash": e.prev_hash, "hash": e.hash,
        }
        for t in tls for e in t.events
    ]
    return sorted(rows, key=lambda r: r["position"])
