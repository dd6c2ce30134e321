"""Reads of the projections, in the wire format of docs metrics.md and api.md (查询).

Every function takes the reader's ``Scope`` (empty: the whole store) and applies it in SQL,
reads the generation the pointer names, and answers a plain dict that says how fresh it
is: ``position`` (what the projections have processed) and ``head`` (the log's last
position). Rates are fractions, ``None`` when their denominator is 0; durations are
seconds. Choices where metrics.md is silent are in docs/adr/0021-metric-definitions.md.

The figures (closure, steps, satisfaction) have two ways to the same answer:

- **cells** (the usual one): the figure cells the scope and filters select
  (projections/cells.py, one row per compound and month), computed vectorised
  (projections/cell_figures.py). It answers whenever ``as_of`` is at or after every time in
  the facts of the cells selected, which the default, now, always is. Its cost grows with
  the cells read, not with the events (docs/adr/0022-figure-cells.md).
- **per case**: every case row of the cohort selected by SQL and its facts folded in Python,
  for an ``as_of`` in the past of some selected case, and for a generation without cells.

``cells=False`` forces the per-case way (the tests compare the two).
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from domain.application import Cases
from domain.model import WORKING_STEPS, Resolution
from projections import cell_figures, store
from projections.audit_trail import AUDIT_FIELDS, audit, audit_csv
from projections.audit_trail import csv_row as _csv_line
from projections.case_list import list_cases
from projections.cell_reads import CellCache, cell_cache, figure, from_cells
from projections.fold import LOOP_KINDS, us
from projections.paging import CASE_SORTS
from projections.periods import PERIODS, period_key
from projections.scope import (
    EVERYTHING,
    Filters,
    QueryError,
    Scope,
    freshness,
    generation_position,
)
from projections.scope import Where as _Where
from projections.scope import as_list as _as_list
from projections.scope import as_of_us as _as_of
from projections.scope import iso_time as _time
from projections.scope import read_freshness as _freshness

#: The names tests and tools knew here before the split.
_CellCache = CellCache
_cell_cache = cell_cache
_from_cells = from_cells

GROUP_KEYS = {
    "compound": "compound_id",
    "compound_id": "compound_id",
    "community": "community_id",
    "community_id": "community_id",
    "category": "category",
    "channel": "channel",
    "assignee": "assignee_role",
    "assignee_role": "assignee_role",
    "period": "period",
}
SATISFACTIONS = ("satisfied", "basically_satisfied", "dissatisfied")


__all__ = ["AUDIT_FIELDS", "CASE_SORTS", "EVERYTHING", "Filters", "QueryError", "Scope", "audit",
           "audit_csv", "closure", "figures_csv", "freshness", "generation_position",
           "list_cases", "overdue", "percentile", "satisfaction", "steps"]


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def percentile(values: Sequence[float], fraction: float) -> float | None:
    """Linear interpolation between closest ranks (PostgreSQL's percentile_cont)."""
    if not values:
        return None
    ordered = sorted(values)
    rank = fraction * (len(ordered) - 1)
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def _group_spec(group_by: str | Sequence[str] | None, period: str | None) -> list[str]:
    names = []
    for name in _as_list(group_by):
        for raw in name.split(","):
            part = raw.strip()
            if not part:
                continue
            if part not in GROUP_KEYS:
                raise QueryError(
                    f"group_by {part!r} is not one of {', '.join(GROUP_KEYS)}", "group_by",
                    tuple(GROUP_KEYS))
            if GROUP_KEYS[part] not in names:
                names.append(GROUP_KEYS[part])
    if period is not None:
        if period not in PERIODS:
            raise QueryError(f"period must be one of {', '.join(PERIODS)}", "period", PERIODS)
        if "period" not in names:
            names.append("period")
    return names


@dataclass
class _Row:
    case_id: str
    compound_id: str
    community_id: str
    category: str
    channel: str
    assignee_role: str | None
    reported_at: int
    first_response_at: int | None
    facts: tuple[Any, ...]


def _cohort(
    cases: Cases, scope: Scope, filters: Filters, as_of_us: int, *facts: str
) -> tuple[int, list[_Row]]:
    """The cases reported in the window (and by ``as_of``) that the reader may see.

    ``facts`` names the JSON columns of per-case facts the figure needs (closures, visits,
    loops, ratings): only those are read and parsed.
    """
    store.ensure_base(cases.db)
    where = _Where()
    where.scope(scope)
    where.any_of("compound_id", filters.compound)
    where.any_of("community_id", filters.community)
    where.any_of("category", filters.category)
    where.any_of("channel", filters.channel)
    if filters.from_ is not None:
        where.add("reported_at >= %s", us(filters.from_))
    if filters.to is not None:
        where.add("reported_at < %s", us(filters.to))
    where.add("reported_at <= %s", as_of_us)
    with cases.db.transaction() as cur:
        generation, position = _freshness(cases, cur)
        rows = cur.execute(
            "SELECT case_id, compound_id, community_id, category, channel, assignee_role,"
            f" reported_at, first_response_at, {', '.join(facts)}"
            f" FROM {store.cases_table(cases.db, generation)}"
            + where.sql,
            where.params,
        ).fetchall()
    return position, [
        _Row(*row[:8], tuple(json.loads(v) for v in row[8:]))  # type: ignore[call-arg]
        for row in rows
    ]


def _groups(
    rows: list[_Row], keys: list[str], period: str | None
) -> dict[tuple[str, ...], list[_Row]]:
    grouped: dict[tuple[str, ...], list[_Row]] = {}
    if not keys:
        grouped[()] = list(rows)
        return grouped
    for row in rows:
        key = tuple(
            period_key(row.reported_at, period or "month") if k == "period"
            else (getattr(row, k) or "") for k in keys
        )
        grouped.setdefault(key, []).append(row)
    return dict(sorted(grouped.items()))


def _seconds(value: float | None) -> float | None:
    return None if value is None else value / 1e6


def closure(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    group_by: str | Sequence[str] | None = None,
    period: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    as_of: datetime | None = None,
    compound: str | Sequence[str] | None = None,
    community: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    channel: str | Sequence[str] | None = None,
    cells: bool = True,
) -> dict[str, Any]:
    """Closure figures (办结率 and friends) of the cohort reported in [from_, to), at as_of.

    The cohort is the cases reported in the window and no later than ``as_of`` (default:
    the application's clock now). A case counts as closed when a closing happened at or
    before ``as_of`` and no reopening followed by then; its resolution is that closing's.
    ``on_time_rate``: closings at or before reported_at + the overall limit. ``reopen_rate``:
    cases reopened by as_of / cases closed at least once by as_of. ``response_rate``: the
    first event by a non-resident came within the response limit and by as_of.
    ``closed_excluding_merged_withdrawn`` and ``closure_rate_excluding_merged_withdrawn``
    show the rate with merged and withdrawn cases left out of both sides. Groups are keyed by
    ``group_by`` (compound, community, category, channel, assignee: the current assignee
    party, period: of the reported date in UTC+8).
    """
    keys = _group_spec(group_by, period)
    at = _as_of(cases, as_of)
    filters = Filters.of(compound, community, category, channel, from_, to)
    overall = cases.limits.overall // timedelta(microseconds=1)
    response = cases.limits.response // timedelta(microseconds=1)
    found = figure(
        cases, scope, filters, as_of, stays=False,
        name=("closure", tuple(keys), period, overall, response),
        compute=lambda pool, mask: cell_figures.closure(pool, mask, keys, period, overall,
                                                        response),
    ) if cells else None
    if found is not None:
        position, tallies, at = found
        groups = [
            _closure_group(keys, g["key"], g["reported"], g["closed"],
                           dict(g["closed_by_resolution"]), g["on_time"], g["ever_closed"],
                           g["reopened"], g["responded"], g["time_to_close"].median,
                           g["time_to_close"].p90)
            for g in tallies
        ]
        return {"position": position, "head": cases.head_position(), "as_of": _time(at),
                "groups": groups}
    position, rows = _cohort(cases, scope, filters, at, "closures")
    groups = []
    for key, members in _groups(rows, keys, period).items():
        by_resolution = {r.value: 0 for r in Resolution}
        closed = on_time = ever_closed = reopened = responded = 0
        durations: list[int] = []
        for row in members:
            closures = row.facts[0]
            active = None
            for closed_at, reopened_at, resolution in closures:
                if closed_at <= at and (reopened_at is None or reopened_at > at):
                    active = (closed_at, resolution)
            if any(c[0] <= at for c in closures):
                ever_closed += 1
            if any(c[1] is not None and c[1] <= at for c in closures):
                reopened += 1
            first = row.first_response_at
            if first is not None and first <= at and first - row.reported_at <= response:
                responded += 1
            if active is not None:
                closed += 1
                by_resolution[active[1]] = by_resolution.get(active[1], 0) + 1
                durations.append(active[0] - row.reported_at)
                if active[0] <= row.reported_at + overall:
                    on_time += 1
        groups.append(_closure_group(
            keys, key, len(members), closed, by_resolution, on_time, ever_closed, reopened,
            responded, statistics.median(durations) if durations else None,
            percentile(durations, 0.9),
        ))
    return {"position": position, "head": cases.head_position(), "as_of": _time(at),
            "groups": groups}


def _closure_group(
    keys: list[str],
    key: tuple[str, ...],
    reported: int,
    closed: int,
    by_resolution: dict[str, int],
    on_time: int,
    ever_closed: int,
    reopened: int,
    responded: int,
    median: float | None,
    p90: float | None,
) -> dict[str, Any]:
    set_apart = by_resolution["merged"] + by_resolution["withdrawn"]
    return {
        "group": dict(zip(keys, key, strict=True)),
        "reported": reported,
        "closed": closed,
        "closed_by_resolution": by_resolution,
        "closure_rate": _rate(closed, reported),
        "resolved_rate": _rate(by_resolution["resolved"], closed),
        "on_time_rate": _rate(on_time, closed),
        "reopen_rate": _rate(reopened, ever_closed),
        "response_rate": _rate(responded, reported),
        "time_to_close": {"median_s": _seconds(median), "p90_s": _seconds(p90)},
        "closed_excluding_merged_withdrawn": closed - set_apart,
        "closure_rate_excluding_merged_withdrawn": _rate(closed - set_apart,
                                                         reported - set_apart),
        "responded": responded,
        "reopened": reopened,
    }


def steps(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    from_: datetime | None = None,
    to: datetime | None = None,
    as_of: datetime | None = None,
    compound: str | Sequence[str] | None = None,
    community: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    channel: str | Sequence[str] | None = None,
    cells: bool = True,
) -> dict[str, Any]:
    """Flow through the steps at as_of: backlog, overdue, time in step, loops.

    Over the cohort of cases reported in [from_, to) (all cases without a window).
    ``backlog``: cases whose stay in the step began at or before as_of and had not ended.
    ``overdue``: of those, the ones whose step deadline (as it stood at as_of) is before
    as_of. ``time_in_step``: finished stays only (ended by as_of); a step visited twice
    counts twice; a stay ends with the event that leaves the step. ``loops`` counts loop
    events recorded by as_of: returned topics, failed meetings (not agreed), objections,
    failed supervisions, reopenings.
    """
    at = _as_of(cases, as_of)
    filters = Filters.of(compound, community, category, channel, from_, to)
    found = figure(cases, scope, filters, as_of, stays=True, name=("steps",),
                   compute=cell_figures.flow) if cells else None
    if found is not None:
        position, flow, at = found
        overdue_at = flow.overdue(at)
        result = [
            _step_item(name, flow.backlog[name], overdue_at[name], spread.count,
                       spread.total, spread.median, spread.p90)
            for name, spread in flow.spent.items()
        ]
        return {"position": position, "head": cases.head_position(), "as_of": _time(at),
                "steps": result, "loops": dict(flow.loops)}
    position, rows = _cohort(cases, scope, filters, at, "visits", "loops")
    backlog = {s.value: 0 for s in WORKING_STEPS}
    overdue = {s.value: 0 for s in WORKING_STEPS}
    durations: dict[str, list[int]] = {s.value: [] for s in WORKING_STEPS}
    loops = dict.fromkeys(LOOP_KINDS, 0)
    for row in rows:
        visits, case_loops = row.facts
        for step, entered, left, deadlines in visits:
            if entered > at:
                continue
            if left is not None and left <= at:
                durations[step].append(left - entered)
                continue
            backlog[step] += 1
            deadline = None
            for changed_at, value in deadlines:
                if changed_at <= at:
                    deadline = value
            if deadline is not None and at > deadline:
                overdue[step] += 1
        for kind, when in case_loops:
            if when <= at:
                loops[kind] += 1
    result = []
    for step_name, waiting in backlog.items():
        spent = durations[step_name]
        result.append(_step_item(
            step_name, waiting, overdue[step_name], len(spent), sum(spent),
            statistics.median(spent) if spent else None, percentile(spent, 0.9),
        ))
    return {"position": position, "head": cases.head_position(), "as_of": _time(at),
            "steps": result, "loops": loops}


def overdue(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    as_of: datetime | None = None,
    cells: bool = True,
) -> dict[str, Any]:
    """Overdue per step at as_of (超期): the ``overdue`` of ``steps`` alone, for a reader
    that shows nothing else of the flow (the overview): from the cells without decoding a
    stay, or ``steps``' own per-case fold. ``{"position", "head", "as_of", "overdue"}``."""
    found = figure(cases, scope, Filters(), as_of, stays=False, name=("open deadlines",),
                   compute=cell_figures.open_deadlines) if cells else None
    if found is not None:
        position, deadlines, at = found
        return {"position": position, "head": cases.head_position(), "as_of": _time(at),
                "overdue": deadlines.overdue(at)}
    flow = steps(cases, scope, as_of=as_of, cells=False)
    return {"position": flow["position"], "head": flow["head"], "as_of": flow["as_of"],
            "overdue": {item["step"]: item["overdue"] for item in flow["steps"]}}


def _step_item(
    step: str, backlog: int, overdue: int, count: int, total: int,
    median: float | None, p90: float | None,
) -> dict[str, Any]:
    return {
        "step": step,
        "backlog": backlog,
        "overdue": overdue,
        "time_in_step": {
            "count": count,
            "mean_s": (total / count / 1e6) if count else None,
            "median_s": _seconds(median),
            "p90_s": _seconds(p90),
        },
    }


def satisfaction(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    group_by: str | Sequence[str] | None = None,
    period: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    as_of: datetime | None = None,
    compound: str | Sequence[str] | None = None,
    community: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    channel: str | Sequence[str] | None = None,
    cells: bool = True,
) -> dict[str, Any]:
    """Satisfaction (满意率) of the cohort reported in [from_, to), at as_of.

    Each resident's latest rating of a case recorded by as_of is live (a newer rating
    replaces the older; a reopening does not withdraw ratings); call-backs count like the
    resident's own rating. Rate: (satisfied + basically_satisfied) / live ratings.
    """
    keys = _group_spec(group_by, period)
    at = _as_of(cases, as_of)
    filters = Filters.of(compound, community, category, channel, from_, to)
    found = figure(
        cases, scope, filters, as_of, stays=False, name=("satisfaction", tuple(keys), period),
        compute=lambda pool, mask: cell_figures.satisfaction(pool, mask, keys, period),
    ) if cells else None
    if found is not None:
        position, tallies, at = found
    else:
        position, rows = _cohort(cases, scope, filters, at, "ratings")
        tallies = []
        for key, members in _groups(rows, keys, period).items():
            counts = dict.fromkeys(SATISFACTIONS, 0)
            for row in members:
                live: dict[str, str] = {}
                for resident, value, when in row.facts[0]:
                    if when <= at:
                        live[resident] = value
                for value in live.values():
                    counts[value] += 1
            tallies.append((key, counts))
    groups = []
    for key, counts in tallies:
        total = sum(counts.values())
        groups.append({
            "group": dict(zip(keys, key, strict=True)),
            "ratings": total,
            **counts,
            "satisfaction_rate": _rate(counts["satisfied"] + counts["basically_satisfied"], total),
        })
    return {"position": position, "head": cases.head_position(), "as_of": _time(at),
            "groups": groups}


def _flatten(prefix: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, Mapping):
        for key, inner in value.items():
            _flatten(f"{prefix}.{key}" if prefix else str(key), inner, out)
    else:
        out[prefix] = value


def figures_csv(payload: Mapping[str, Any]) -> str:
    """A stats answer as CSV: one row per group (or step), nested fields as dotted columns."""
    items = payload.get("groups")
    if items is None:
        items = payload.get("steps", [])
    rows = []
    for item in items:
        flat: dict[str, Any] = {}
        _flatten("", item, flat)
        rows.append(flat)
    columns: list[str] = []
    for flat in rows:
        for column in flat:
            if column not in columns:
                columns.append(column)
    lines = [_csv_line(columns)]
    lines.extend(_csv_line(flat.get(c) for c in columns) for flat in rows)
    return "".join(lines)
