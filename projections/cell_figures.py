"""The figures computed from figure cells, vectorised (统计单元上的计算).

The same definitions as the per-case fold in projections/queries.py, over the columns of
projections/cells.py: counts by ``numpy.bincount``, percentiles by one sort of the values
grouped, then the very arithmetic of ``statistics.median`` and ``queries.percentile`` on
Python integers, so that both ways give the same floats to the last bit (tested with
Hypothesis in tests/projections/test_cells.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from projections.cells import (
    CASE_DTYPE,
    CATEGORIES,
    CHANNELS,
    RESOLUTIONS,
    ROLES,
    SATISFACTIONS,
    STAY_DTYPE,
    STEPS,
)
from projections.fold import LOOP_KINDS
from projections.periods import period_key

_DAY_US = 86_400_000_000
_LOCAL_OFFSET_US = 8 * 3_600_000_000


@dataclass(frozen=True)
class Pool:
    """The cases of the selected cells, as columns, and their finished stays."""

    cases: np.ndarray  # CASE_DTYPE
    compound: np.ndarray  # index into ``compounds``, per case
    community: np.ndarray  # index into ``communities``, per case
    compounds: tuple[str, ...]
    communities: tuple[str, ...]
    stays: np.ndarray  # STAY_DTYPE, ``case`` indexes ``cases``


def pool(rows: Sequence[tuple[Any, ...]]) -> Pool:
    """Concatenate cells given as (compound, community, cases bytes, stays bytes or None)."""
    compounds = tuple(sorted({str(r[0]) for r in rows}))
    communities = tuple(sorted({str(r[1]) for r in rows}))
    compound_at = {c: i for i, c in enumerate(compounds)}
    community_at = {c: i for i, c in enumerate(communities)}
    # One buffer per column family: numpy's per-call cost for a structured type is far
    # above the cost of joining the bytes.
    cases = np.frombuffer(b"".join(bytes(r[2]) for r in rows), CASE_DTYPE)
    sizes = np.array([len(r[2]) // CASE_DTYPE.itemsize for r in rows], dtype=np.int64)
    stays_bytes = [bytes(r[3]) for r in rows if r[3] is not None]
    stays = np.frombuffer(b"".join(stays_bytes), STAY_DTYPE).copy()
    if len(stays):
        # Each cell's stays name their case by its row in the cell: shift to the pool's rows.
        per_cell = np.array([len(b) // STAY_DTYPE.itemsize for b in stays_bytes],
                            dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        stays["case"] += np.repeat(offsets, per_cell).astype(np.int32)
    return Pool(
        cases=cases,
        compound=np.repeat(np.array([compound_at[str(r[0])] for r in rows], dtype=np.int32),
                           sizes),
        community=np.repeat(np.array([community_at[str(r[1])] for r in rows], dtype=np.int32),
                            sizes),
        compounds=compounds,
        communities=communities,
        stays=stays,
    )


def cohort_mask(
    p: Pool,
    *,
    compound: Sequence[str],
    community: Sequence[str],
    category: Sequence[str],
    channel: Sequence[str],
    from_us: int | None,
    to_us: int | None,
    as_of_us: int,
) -> np.ndarray:
    """Which cases of the pool are in the cohort the filters describe."""
    cases = p.cases
    mask = cases["reported_at"] <= as_of_us
    if from_us is not None:
        mask &= cases["reported_at"] >= from_us
    if to_us is not None:
        mask &= cases["reported_at"] < to_us
    for column, labels, wanted in (
        (p.compound, p.compounds, compound),
        (p.community, p.communities, community),
        (cases["category"], CATEGORIES, category),
        (cases["channel"], CHANNELS, channel),
    ):
        if wanted:
            codes = [labels.index(w) for w in set(wanted) if w in labels]
            mask &= np.isin(column, np.array(codes, dtype=column.dtype))
    return mask


def _labels(p: Pool, key: str) -> list[str]:
    """The label of each code of ``key`` (the group key of a column other than period)."""
    if key == "compound_id":
        return list(p.compounds)
    if key == "community_id":
        return list(p.communities)
    if key == "category":
        return list(CATEGORIES)
    if key == "channel":
        return list(CHANNELS)
    if key == "assignee_role":
        return ["", *ROLES]  # code -1 (no assignee) is shifted to 0
    raise AssertionError(key)


def groups(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """The groups of the cohort, sorted by their labels, and each cohort case's group."""
    n = int(mask.sum())
    if not keys:
        return [()], np.zeros(n, dtype=np.int64)
    if n == 0:
        return [], np.zeros(0, dtype=np.int64)
    cases = p.cases[mask]
    columns: list[np.ndarray] = []
    labels: list[list[str]] = []
    for key in keys:
        if key == "period":
            days = (cases["reported_at"] + _LOCAL_OFFSET_US) // _DAY_US
            unique_days, day_index = np.unique(days, return_inverse=True)
            periods = [_period_of_day(d, period or "month") for d in unique_days.tolist()]
            distinct = sorted(set(periods))
            rank = {name: i for i, name in enumerate(distinct)}
            columns.append(
                np.array([rank[name] for name in periods], dtype=np.int64)[day_index])
            labels.append(distinct)
            continue
        if key == "compound_id":
            column = p.compound[mask].astype(np.int64)
        elif key == "community_id":
            column = p.community[mask].astype(np.int64)
        elif key == "assignee_role":
            column = cases["assignee_role"].astype(np.int64) + 1
        else:
            column = cases[key].astype(np.int64)
        columns.append(column)
        labels.append(_labels(p, key))
    # One integer per case: the codes of its keys in mixed radix.
    combined = np.zeros(n, dtype=np.int64)
    for column, names in zip(columns, labels, strict=True):
        combined = combined * len(names) + column
    combos, inverse = np.unique(combined, return_inverse=True)
    found: list[tuple[str, ...]] = []
    for combo in combos.tolist():
        codes = []
        rest = combo
        for names in reversed(labels):
            rest, code = divmod(rest, len(names))
            codes.append(names[code])
        found.append(tuple(reversed(codes)))
    order = sorted(range(len(found)), key=found.__getitem__)
    rank_of = np.empty(len(order), dtype=np.int64)
    rank_of[np.array(order, dtype=np.int64)] = np.arange(len(order))
    return [found[i] for i in order], rank_of[inverse.reshape(-1)]


@lru_cache(maxsize=65_536)
def _period_of_day(day: int, period: str) -> str:
    """The period of a local calendar day (days since the epoch in UTC+8)."""
    return period_key(day * _DAY_US - _LOCAL_OFFSET_US, period)


@dataclass(frozen=True)
class Spread:
    """Count, total, median and 90th percentile of one group's durations (microseconds)."""

    count: int
    total: int
    median: float | int | None
    p90: float | int | None


def _sorted_by_group(group: np.ndarray, values: np.ndarray, n_groups: int) -> np.ndarray:
    """The values sorted by (group, value): one integer sort of group and value packed in
    one int64 when they fit (they do for durations up to 2**55 us, about 1,100 years)."""
    values = values.astype(np.int64)
    if not len(values):
        return values
    low = int(values.min())
    bits = max((int(values.max()) - low).bit_length(), 1)
    if bits + max(n_groups - 1, 1).bit_length() <= 62:
        packed = (group.astype(np.int64) << bits) | (values - low)
        packed.sort()
        result: np.ndarray = (packed & ((1 << bits) - 1)) + low
        return result
    ordered: np.ndarray = values[np.lexsort((values, group))]
    return ordered


def spreads(group: np.ndarray, values: np.ndarray, n_groups: int) -> list[Spread]:
    """Per group: the figures of its values, exactly as the per-case fold computes them.

    One sort of all values by (group, value); totals from a running sum (int64, exact while
    it cannot overflow, else Python integers); the median and the 90th percentile from the
    two ranks each needs, with the arithmetic of ``statistics.median`` and
    ``queries.percentile`` done on Python numbers.
    """
    ordered = _sorted_by_group(group, values, n_groups)
    counts = np.bincount(group, minlength=n_groups)[:n_groups] if len(group) else np.zeros(
        n_groups, dtype=np.int64)
    ends = np.cumsum(counts)
    starts = ends - counts
    if len(ordered) and int(np.abs(ordered).max()) * len(ordered) >= 2**62:
        running = [0]
        for v in ordered.tolist():
            running.append(running[-1] + v)
    else:
        running = np.concatenate([[0], np.cumsum(ordered)]).tolist()
    picks: list[int] = []
    plan: list[tuple[int, int, float]] = []
    for n, start in zip(counts.tolist(), starts.tolist(), strict=True):
        rank = 0.9 * (n - 1)
        low = int(rank)
        plan.append((n, low, rank))
        if n:
            half = n // 2
            picks += [start + max(half - 1, 0), start + half, start + low,
                      start + min(low + 1, n - 1)]
    chosen = ordered[np.array(picks, dtype=np.int64)].tolist() if picks else []
    out = []
    at = 0
    for (n, low, rank), start, end in zip(plan, starts.tolist(), ends.tolist(), strict=True):
        if n == 0:
            out.append(Spread(0, 0, None, None))
            continue
        before_middle, middle, a, b = chosen[at : at + 4]
        at += 4
        median = middle if n % 2 == 1 else (before_middle + middle) / 2
        out.append(Spread(n, running[end] - running[start], median, a + (b - a) * (rank - low)))
    return out


def closure(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None,
    overall_us: int, response_us: int,
) -> list[dict[str, Any]]:
    """The closure figures per group (the keys of queries.closure's groups)."""
    names, group = groups(p, mask, keys, period)
    n_groups = len(names)
    cases = p.cases[mask]

    def count(selected: np.ndarray) -> list[int]:
        counted: list[int] = np.bincount(group[selected], minlength=n_groups).tolist()
        return counted

    closed = cases["closed"] == 1
    reported = count(np.ones(len(cases), dtype=bool))
    closed_n = count(closed)
    by_resolution = {r: count(closed & (cases["resolution"] == i))
                     for i, r in enumerate(RESOLUTIONS)}
    on_time = count(closed & (cases["time_to_close"] <= overall_us))
    ever_closed = count(cases["ever_closed"] == 1)
    reopened = count(cases["reopened"] == 1)
    responded = count((cases["responded"] == 1) & (cases["response"] <= response_us))
    times = spreads(group[closed], cases["time_to_close"][closed], n_groups)
    resolutions = [dict(zip(RESOLUTIONS, counts, strict=True))
                   for counts in zip(*by_resolution.values(), strict=True)]
    return [
        {"key": name, "reported": n, "closed": c, "closed_by_resolution": r, "on_time": o,
         "ever_closed": e, "reopened": ro, "responded": rs, "time_to_close": t}
        for name, n, c, r, o, e, ro, rs, t in zip(
            names, reported, closed_n, resolutions, on_time, ever_closed, reopened, responded,
            times, strict=True)
    ]


def steps(p: Pool, mask: np.ndarray, as_of_us: int) -> dict[str, Any]:
    """Backlog, overdue and finished stays per step, and loops, of the cohort."""
    cases = p.cases[mask]
    n_steps = len(STEPS)
    open_ = cases["open_step"] >= 0
    backlog = np.bincount(cases["open_step"][open_].astype(np.int64), minlength=n_steps)
    late = open_ & (cases["has_deadline"] == 1) & (cases["deadline"] < as_of_us)
    overdue = np.bincount(cases["open_step"][late].astype(np.int64), minlength=n_steps)
    stays = p.stays if mask.all() else p.stays[mask[p.stays["case"]]]
    spent = spreads(stays["step"].astype(np.int64), stays["duration"], n_steps)
    loops = cases["loops"].astype(np.int64).sum(axis=0) if len(cases) else np.zeros(
        len(LOOP_KINDS), dtype=np.int64)
    return {
        "backlog": {s: int(backlog[i]) for i, s in enumerate(STEPS)},
        "overdue": {s: int(overdue[i]) for i, s in enumerate(STEPS)},
        "spent": {s: spent[i] for i, s in enumerate(STEPS)},
        "loops": {k: int(loops[i]) for i, k in enumerate(LOOP_KINDS)},
    }


def satisfaction(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None
) -> list[tuple[tuple[str, ...], dict[str, int]]]:
    """The live ratings per satisfaction value, per group."""
    names, group = groups(p, mask, keys, period)
    totals = np.zeros((len(names), len(SATISFACTIONS)), dtype=np.int64)
    np.add.at(totals, group, p.cases["ratings"][mask].astype(np.int64))
    return [(name, {v: int(totals[g, i]) for i, v in enumerate(SATISFACTIONS)})
            for g, name in enumerate(names)]
