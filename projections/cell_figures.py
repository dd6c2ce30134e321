"""The figures computed from figure cells, vectorised (统计单元上的计算).

The same definitions as the per-case fold in projections/queries.py, over the columns of
projections/cells.py: counts by ``numpy.bincount``; the ranks a median and a 90th percentile
need by partitioning (a step's durations) or one sort of (group, value) packed in an
integer (many groups); then the very arithmetic of ``statistics.median`` and
``queries.percentile`` on Python numbers, so that both ways give the same floats to the
last bit (tested with Hypothesis in tests/projections/test_cells.py).
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
    STEPS,
    stay_columns,
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
    stays: tuple[tuple[int, bytes], ...]  # per cell: its first pool row, its stays' bytes
    cells: tuple[tuple[str, str, str], ...]  # per cell: compound, community, month
    sizes: np.ndarray  # per cell: how many cases

    def durations(self, mask: np.ndarray) -> list[np.ndarray]:
        """Per working step, the durations of the finished stays of the cases kept."""
        per_step: list[list[np.ndarray]] = [[] for _ in STEPS]
        everything = bool(mask.all())
        for first, raw in self.stays:
            counts, rows, durations = stay_columns(raw)
            start = 0
            for step, n in enumerate(counts):
                if n:
                    run = durations[start : start + n]
                    if not everything:
                        run = run[mask[rows[start : start + n].astype(np.int64) + first]]
                    per_step[step].append(run)
                start += n
        return [np.concatenate(runs) if runs else np.empty(0, np.int64) for runs in per_step]


def pool(rows: Sequence[tuple[Any, ...]]) -> Pool:
    """Concatenate cells given as (compound, community, month, cases bytes, stays bytes or
    None)."""
    compounds = tuple(sorted({str(r[0]) for r in rows}))
    communities = tuple(sorted({str(r[1]) for r in rows}))
    compound_at = {c: i for i, c in enumerate(compounds)}
    community_at = {c: i for i, c in enumerate(communities)}
    # One buffer for all cases: numpy's per-call cost for a structured type is far above
    # the cost of joining the bytes.
    cases = np.frombuffer(b"".join(r[3] for r in rows), CASE_DTYPE)
    sizes = np.array([len(r[3]) // CASE_DTYPE.itemsize for r in rows], dtype=np.int64)
    firsts = (np.cumsum(sizes) - sizes).tolist()
    return Pool(
        cases=cases,
        compound=np.repeat(np.array([compound_at[str(r[0])] for r in rows], dtype=np.int32),
                           sizes),
        community=np.repeat(np.array([community_at[str(r[1])] for r in rows], dtype=np.int32),
                            sizes),
        compounds=compounds,
        communities=communities,
        stays=tuple((first, r[4]) for first, r in zip(firsts, rows, strict=True)
                    if r[4] is not None),
        cells=tuple((str(r[0]), str(r[1]), str(r[2])) for r in rows),
        sizes=sizes,
    )


def _kept(values: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The entries the mask keeps; the array itself (no copy) when it keeps all."""
    if mask.all():
        return values
    kept: np.ndarray = values[mask]
    return kept


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
    if all(k in ("compound_id", "community_id") or (k == "period" and period in _CELL_PERIODS)
           for k in keys):
        return _cell_groups(p, mask, keys, period)
    cases = _kept(p.cases, mask)
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
            column = _kept(p.compound, mask).astype(np.int64)
        elif key == "community_id":
            column = _kept(p.community, mask).astype(np.int64)
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


#: Periods a cell's month decides (a week or a day needs each case's own date).
_CELL_PERIODS = ("month", "quarter", "year", None)


def _cell_groups(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None
) -> tuple[list[tuple[str, ...]], np.ndarray]:
    """Groups decided by the cell alone (compound, community, month/quarter/year): labelled
    once per cell, not once per case."""
    firsts = (np.cumsum(p.sizes) - p.sizes).tolist()

    def label(cell: tuple[str, str, str], first: int, key: str) -> str:
        if key == "compound_id":
            return cell[0]
        if key == "community_id":
            return cell[1]
        # Every case of a cell was reported in its month: any one of them names the period.
        return period_key(int(p.cases["reported_at"][first]), period or "month")

    names = [tuple(label(cell, first, k) for k in keys)
             for cell, first in zip(p.cells, firsts, strict=True)]
    distinct = sorted(set(names))
    rank = {name: i for i, name in enumerate(distinct)}
    per_case = np.repeat(np.array([rank[name] for name in names], dtype=np.int64), p.sizes)
    group = _kept(per_case, mask)
    # Only groups with a case in the cohort exist (as in the per-case fold).
    present = np.unique(group)
    if len(present) == len(distinct):
        return distinct, group
    renumber = np.full(len(distinct), -1, dtype=np.int64)
    renumber[present] = np.arange(len(present))
    return [distinct[i] for i in present.tolist()], renumber[group]


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
    values = values.astype(np.int64, copy=False)
    if not len(values):
        return values
    low = int(values.min())
    bits = max((int(values.max()) - low).bit_length(), 1)
    if bits + max(n_groups - 1, 1).bit_length() <= 62:
        packed = (group.astype(np.int64, copy=False) << bits) | (values - low)
        packed.sort()
        result: np.ndarray = (packed & ((1 << bits) - 1)) + low
        return result
    ordered: np.ndarray = values[np.lexsort((values, group))]
    return ordered


def _ranks(n: int) -> tuple[int, int, int, int, float]:
    """The four ranks the median and the 90th percentile of n sorted values read, and the
    fractional rank of the latter (queries.percentile's arithmetic)."""
    half = n // 2
    rank = 0.9 * (n - 1)
    low = int(rank)
    return max(half - 1, 0), half, low, min(low + 1, n - 1), rank


def _spread(n: int, total: int, picked: Sequence[int], rank: float, low: int) -> Spread:
    before_middle, middle, a, b = picked
    median = middle if n % 2 == 1 else (before_middle + middle) / 2
    return Spread(n, total, median, a + (b - a) * (rank - low))


def _sum_fits(values: np.ndarray) -> bool:
    """Whether int64 running sums of the values cannot overflow."""
    if not len(values):
        return True
    peak = max(abs(int(values.min())), abs(int(values.max())))
    return peak * len(values) < 2**63


def spread_of(values: np.ndarray) -> Spread:
    """The figures of one group's values (in any order): partitioned at the four ranks."""
    n = len(values)
    if n == 0:
        return Spread(0, 0, None, None)
    i, j, low, high, rank = _ranks(n)
    part = np.partition(values, sorted({i, j, low, high}))
    total = int(values.sum()) if _sum_fits(values) else sum(values.tolist())
    return _spread(n, total, part[[i, j, low, high]].tolist(), rank, low)


def spreads(group: np.ndarray, values: np.ndarray, n_groups: int) -> list[Spread]:
    """Per group: the figures of its values, exactly as the per-case fold computes them.

    The median and the 90th percentile come from the two ranks each needs, with the
    arithmetic of ``statistics.median`` and ``queries.percentile`` done on Python numbers;
    totals are exact integers (int64 where it cannot overflow, else Python's).
    """
    values = values.astype(np.int64, copy=False)
    counts = (np.bincount(group, minlength=n_groups)[:n_groups] if len(group)
              else np.zeros(n_groups, dtype=np.int64))
    ends = np.cumsum(counts)
    starts = ends - counts
    out: list[Spread] = []
    ordered = _sorted_by_group(group, values, n_groups)
    if _sum_fits(ordered):
        cumulative = np.concatenate([[0], np.cumsum(ordered)])
        totals = (cumulative[ends] - cumulative[starts]).tolist()
    else:
        running = [0]
        for v in ordered.tolist():
            running.append(running[-1] + v)
        totals = [running[e] - running[b] for b, e in zip(starts.tolist(), ends.tolist(),
                                                          strict=True)]
    picks: list[int] = []
    plans: list[tuple[int, int, float]] = []
    for n, start in zip(counts.tolist(), starts.tolist(), strict=True):
        if n:
            i, j, low, high, rank = _ranks(n)
            picks += [start + i, start + j, start + low, start + high]
            plans.append((n, low, rank))
        else:
            plans.append((0, 0, 0.0))
    chosen = ordered[np.array(picks, dtype=np.int64)].tolist() if picks else []
    at = 0
    for (n, low, rank), total in zip(plans, totals, strict=True):
        if n == 0:
            out.append(Spread(0, 0, None, None))
            continue
        out.append(_spread(n, total, chosen[at : at + 4], rank, low))
        at += 4
    return out


def closure(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None,
    overall_us: int, response_us: int,
) -> list[dict[str, Any]]:
    """The closure figures per group (the keys of queries.closure's groups)."""
    names, group = groups(p, mask, keys, period)
    n_groups = len(names)
    cases = _kept(p.cases, mask)

    def count(selected: np.ndarray) -> list[int]:
        # Weights instead of a gather: one pass; the float sums are whole and exact.
        counted: list[int] = np.bincount(group, weights=selected, minlength=n_groups).astype(
            np.int64).tolist()
        return counted

    closed = cases["closed"] == 1
    reported = np.bincount(group, minlength=n_groups).tolist()
    closed_n = count(closed)
    n_res = len(RESOLUTIONS)
    per_resolution = np.bincount(
        (group * n_res + cases["resolution"].astype(np.int64))[closed],
        minlength=n_groups * n_res).reshape(n_groups, n_res).T.tolist()
    by_resolution = dict(zip(RESOLUTIONS, per_resolution, strict=True))
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


@dataclass(frozen=True)
class OpenDeadlines:
    """Per working step, the sorted deadlines of the cohort's open stays that have one:
    overdue is the one figure that moves with the clock alone, counted from these at any
    moment (a binary search)."""

    per_step: tuple[np.ndarray, ...]

    def overdue(self, as_of_us: int) -> dict[str, int]:
        """Per step, the open stays whose deadline is before ``as_of_us``."""
        return {s: int(np.searchsorted(self.per_step[i], as_of_us, side="left"))
                for i, s in enumerate(STEPS)}


def open_deadlines(p: Pool, mask: np.ndarray) -> OpenDeadlines:
    """The open stays' deadlines of the cohort, per step (no stay is decoded)."""
    cases = _kept(p.cases, mask)
    timed = (cases["open_step"] >= 0) & (cases["has_deadline"] == 1)
    step_of = cases["open_step"][timed].astype(np.int64)
    deadline_of = cases["deadline"][timed].astype(np.int64)
    return OpenDeadlines(tuple(np.sort(deadline_of[step_of == i]) for i in range(len(STEPS))))


@dataclass(frozen=True)
class Flow:
    """The flow of a cohort: backlog, finished stays and loops, which the cells fix, and the
    open deadlines overdue is counted from."""

    backlog: dict[str, int]
    spent: dict[str, Spread]
    loops: dict[str, int]
    deadlines: OpenDeadlines

    def overdue(self, as_of_us: int) -> dict[str, int]:
        return self.deadlines.overdue(as_of_us)


def flow(p: Pool, mask: np.ndarray) -> Flow:
    """Backlog, finished stays, loops and open deadlines per step, of the cohort."""
    cases = _kept(p.cases, mask)
    n_steps = len(STEPS)
    open_ = cases["open_step"] >= 0
    backlog = np.bincount(cases["open_step"][open_].astype(np.int64), minlength=n_steps)
    spent = [spread_of(durations) for durations in p.durations(mask)]
    loops = cases["loops"].astype(np.int64).sum(axis=0) if len(cases) else np.zeros(
        len(LOOP_KINDS), dtype=np.int64)
    return Flow(
        backlog={s: int(backlog[i]) for i, s in enumerate(STEPS)},
        spent={s: spent[i] for i, s in enumerate(STEPS)},
        loops={k: int(loops[i]) for i, k in enumerate(LOOP_KINDS)},
        deadlines=open_deadlines(p, mask),
    )


def steps(p: Pool, mask: np.ndarray, as_of_us: int) -> dict[str, Any]:
    """Backlog, overdue and finished stays per step, and loops, of the cohort."""
    found = flow(p, mask)
    return {"backlog": found.backlog, "overdue": found.overdue(as_of_us),
            "spent": found.spent, "loops": found.loops}


def satisfaction(
    p: Pool, mask: np.ndarray, keys: Sequence[str], period: str | None
) -> list[tuple[tuple[str, ...], dict[str, int]]]:
    """The live ratings per satisfaction value, per group."""
    names, group = groups(p, mask, keys, period)
    totals = np.zeros((len(names), len(SATISFACTIONS)), dtype=np.int64)
    np.add.at(totals, group, _kept(p.cases["ratings"], mask).astype(np.int64))
    return [(name, {v: int(totals[g, i]) for i, v in enumerate(SATISFACTIONS)})
            for g, name in enumerate(names)]
