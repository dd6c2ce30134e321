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
import os
import statistics
import threading
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from domain.application import Cases
from domain.catalogue import EVENT_TYPES, Category, Channel
from domain.csvcells import csv_line
from domain.model import WORKING_STEPS, Actor, Resolution, Role, Step
from domain.storage import Cursor
from domain.summaries import one_line
from projections import cell_figures, store, textfold
from projections.fold import LOOP_KINDS, from_us, us
from projections.paging import CASE_SORTS, CursorError, Order
from projections.periods import PERIODS, period_key

#: group_by names and the key each has in ``group``.
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
           "audit_csv", "closure", "figures_csv", "freshness", "list_cases", "percentile",
           "satisfaction", "steps"]


class QueryError(ValueError):
    """A filter or parameter that cannot be used; the message names it, and for a value
    outside an enumeration ``field`` and ``allowed`` say which values it takes."""

    def __init__(self, message: str, field: str | None = None,
                 allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.allowed = tuple(allowed)


#: The values each enumerated filter takes (from the domain's own enumerations).
ENUMERATED: dict[str, tuple[str, ...]] = {
    "step": tuple(s.value for s in Step),
    "resolution": tuple(r.value for r in Resolution),
    "category": tuple(c.value for c in Category),
    "channel": tuple(c.value for c in Channel),
    "role": tuple(r.value for r in Role),
    "type": EVENT_TYPES,
}


def _known(field: str, value: str | Sequence[str] | None) -> list[str]:
    """The values of an enumerated filter, each checked (QueryError listing the allowed)."""
    values = _as_list(value)
    allowed = ENUMERATED[field]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise QueryError(f"{field} {unknown[0]!r} is not one of {', '.join(allowed)}",
                         field, allowed)
    return values


@dataclass(frozen=True)
class Scope:
    """The compounds and communities a reader may see; both empty: everything."""

    compounds: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        return cls(frozenset(actor.compounds), frozenset(actor.communities))

    @property
    def is_all(self) -> bool:
        return not self.compounds and not self.communities


EVERYTHING = Scope()


@dataclass(frozen=True)
class Filters:
    """Filters shared by the figures: the cohort of cases reported in [from_, to)."""

    compound: Sequence[str] = ()
    community: Sequence[str] = ()
    category: Sequence[str] = ()
    channel: Sequence[str] = ()
    from_: datetime | None = None
    to: datetime | None = None

    @classmethod
    def of(
        cls,
        compound: str | Sequence[str] | None,
        community: str | Sequence[str] | None,
        category: str | Sequence[str] | None,
        channel: str | Sequence[str] | None,
        from_: datetime | None,
        to: datetime | None,
    ) -> Filters:
        """From the figures' keyword arguments (each a value, several, or None). Categories
        and channels must be the catalogue's; compound and community codes select what they
        match within the reader's scope, nothing when unknown (no hint of what exists)."""
        return cls(_as_list(compound), _as_list(community), _known("category", category),
                   _known("channel", channel), from_, to)


class _Where:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def any_of(self, column: str, values: Iterable[str]) -> None:
        vals = list(values)
        if vals:
            self.add(f"{column} IN ({', '.join(['%s'] * len(vals))})", *vals)

    def scope(self, scope: Scope) -> None:
        if scope.is_all:
            return
        ors: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("compound_id", scope.compounds),
            ("community_id", scope.communities),
        ):
            if values:
                ors.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
                params.extend(sorted(values))
        self.add("(" + " OR ".join(ors) + ")", *params)

    @property
    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""


def _as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _freshness(cases: Cases, cur: Cursor) -> tuple[int, int]:
    """The generation queries read and how far it is (one round trip)."""
    db = cases.db
    row = cur.execute(
        f"SELECT g.generation, (SELECT MIN(t.position) FROM {db.table('proj_tracking')} t"
        f" WHERE t.generation = g.generation) FROM {db.table('proj_generation')} g"
        " WHERE g.id = 1"
    ).fetchone()
    assert row is not None, "ensure_base creates the pointer"
    return int(row[0]), int(row[1] or 0)


def freshness(cases: Cases) -> dict[str, int]:
    """``{"position", "head"}``: how far the projections are, and the log's head."""
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        _g, position = _freshness(cases, cur)
    return {"position": position, "head": cases.head_position()}


def _time(value: int | None) -> str | None:
    return None if value is None else from_us(value).isoformat()


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


def _as_of(cases: Cases, as_of: datetime | None) -> int:
    return us(as_of if as_of is not None else cases.clock.now())


#: Bytes of figure cells each process keeps per database (YISHI_CELL_CACHE_MB, default 64).
CELL_CACHE_BYTES = int(float(os.environ.get("YISHI_CELL_CACHE_MB", "64")) * 1024 * 1024)


class _CellCache:
    """The cells' bytes last read, by generation and cell, with the version they had.

    A query reads every selected cell's version (a few bytes each) and fetches the bytes of
    only those cells that changed since: in a running district, the cells of the current
    month. Bounded in bytes (the cells to ``limit``, the pools assembled from them to half of
    it), least recently used first out, so the memory it takes does not grow with the store;
    past the bound, queries read more from the database and still answer the same.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.size = 0
        self._entries: OrderedDict[tuple[int, str, str, str], tuple[int, bytes, bytes]] = (
            OrderedDict())
        self._lock = threading.Lock()
        #: The last few pools assembled, by the exact cells and versions they hold (within
        #: half the bound, counted apart: a pool copies the cases it joins).
        self._pools: OrderedDict[tuple[Any, ...], tuple[cell_figures.Pool, int]] = (
            OrderedDict())
        self.pool_size = 0

    def pool(self, signature: tuple[Any, ...]) -> cell_figures.Pool | None:
        with self._lock:
            found = self._pools.get(signature)
            if found is None:
                return None
            self._pools.move_to_end(signature)
            return found[0]

    def keep_pool(self, signature: tuple[Any, ...], pool: cell_figures.Pool) -> None:
        size = pool.cases.nbytes + sum(len(raw) for _first, raw in pool.stays)
        with self._lock:
            if signature in self._pools or size > self.limit // 2:
                return
            self._pools[signature] = (pool, size)
            self.pool_size += size
            while self.pool_size > self.limit // 2 or len(self._pools) > 4:
                _signature, (_pool, dropped) = self._pools.popitem(last=False)
                self.pool_size -= dropped

    def get(self, key: tuple[int, str, str, str], version: int) -> tuple[bytes, bytes] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] != version:
                return None
            self._entries.move_to_end(key)
            return entry[1], entry[2]

    def put(self, key: tuple[int, str, str, str], version: int, cases: bytes,
            stays: bytes) -> None:
        with self._lock:
            old = self._entries.pop(key, None)
            if old is not None:
                self.size -= len(old[1]) + len(old[2])
            if len(cases) + len(stays) > self.limit:
                return
            self._entries[key] = (version, cases, stays)
            self.size += len(cases) + len(stays)
            while self.size > self.limit:
                _key, (_v, c, st) = self._entries.popitem(last=False)
                self.size -= len(c) + len(st)


_CELL_CACHES: weakref.WeakKeyDictionary[Any, _CellCache] = weakref.WeakKeyDictionary()
_CELL_CACHES_LOCK = threading.Lock()


def _cell_cache(cases: Cases) -> _CellCache:
    with _CELL_CACHES_LOCK:
        cache = _CELL_CACHES.get(cases.db)
        if cache is None:
            cache = _CELL_CACHES[cases.db] = _CellCache(CELL_CACHE_BYTES)
        return cache


def _from_cells(
    cases: Cases, scope: Scope, filters: Filters, as_of: datetime | None, *, stays: bool
) -> tuple[int, cell_figures.Pool, Any, int] | None:
    """The cohort from the figure cells and the moment they answer for, or None when they
    cannot answer for ``as_of``.

    Without ``as_of`` the moment is the clock's now, moved on to the latest time recorded in
    the selected cells if that is later (a reader whose clock lags the writer's by some
    milliseconds still sees every recorded event, and the cells answer).

    SQL selects the cells by scope, compound, community and the months the window touches;
    the rest of the cohort's filters are applied to the cases' columns. The cells' bytes come
    from the process's cache when their version has not changed.
    """
    store.ensure_base(cases.db)
    where = _Where()
    where.scope(scope)
    where.any_of("compound_id", filters.compound)
    where.any_of("community_id", filters.community)
    if filters.from_ is not None:
        where.add("month >= %s", period_key(us(filters.from_), "month"))
    if filters.to is not None:
        where.add("month <= %s", period_key(us(filters.to) - 1, "month"))
    cache = _cell_cache(cases)
    with cases.db.transaction() as cur:
        generation, position = _freshness(cases, cur)
        if not store.has_cells(cases.db, cur, generation):
            return None
        table = store.cells_table(cases.db, generation)
        listed = cur.execute(
            f"SELECT compound_id, community_id, month, version, settled, exact FROM {table}"
            + where.sql,
            where.params,
        ).fetchall()
        at = _as_of(cases, as_of)
        if as_of is None and listed:
            at = max(at, *(int(r[4]) for r in listed))
        if any(int(r[4]) > at or not r[5] for r in listed):
            return None
        signature = (generation, stays, tuple(
            (str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in listed))
        pool = cache.pool(signature)
        if pool is not None:
            return position, pool, _mask(pool, filters, at), at
        found: dict[tuple[str, str, str], tuple[bytes, bytes]] = {}
        missing: list[tuple[str, str, str]] = []
        for compound, community, month, version, _settled, _exact in listed:
            key = (str(compound), str(community), str(month))
            hit = cache.get((generation, *key), int(version))
            if hit is None:
                missing.append(key)
            else:
                found[key] = hit
        for i in range(0, len(missing), 300):
            chunk = missing[i : i + 300]
            ors = " OR ".join(
                ["(compound_id = %s AND community_id = %s AND month = %s)"] * len(chunk))
            rows = store.binary_rows(
                cases.db, cur,
                "SELECT compound_id, community_id, month, version, settled, exact, cases, stays"
                f" FROM {table} WHERE {ors}",
                [v for key in chunk for v in key],
            )
            for compound, community, month, version, settled, exact, blob, stay_blob in rows:
                if int(settled) > at or not exact:
                    return None  # written since the listing, and now in as_of's future
                key = (str(compound), str(community), str(month))
                found[key] = (bytes(blob), bytes(stay_blob))
                cache.put((generation, *key), int(version), *found[key])
    pool = cell_figures.pool([
        (*key, blobs[0], blobs[1] if stays else None) for key, blobs in sorted(found.items())
    ])
    if len(found) == len(listed):
        cache.keep_pool(signature, pool)
    return position, pool, _mask(pool, filters, at), at


def _mask(pool: cell_figures.Pool, filters: Filters, at: int) -> Any:
    return cell_figures.cohort_mask(
        pool, compound=filters.compound, community=filters.community,
        category=filters.category, channel=filters.channel,
        from_us=None if filters.from_ is None else us(filters.from_),
        to_us=None if filters.to is None else us(filters.to), as_of_us=at,
    )


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
    found = _from_cells(cases, scope, filters, as_of, stays=False) if cells else None
    if found is not None:
        position, pool, mask, at = found
        groups = [
            _closure_group(keys, g["key"], g["reported"], g["closed"],
                           g["closed_by_resolution"], g["on_time"], g["ever_closed"],
                           g["reopened"], g["responded"], g["time_to_close"].median,
                           g["time_to_close"].p90)
            for g in cell_figures.closure(pool, mask, keys, period, overall, response)
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
    found = _from_cells(cases, scope, filters, as_of, stays=True) if cells else None
    if found is not None:
        position, pool, mask, at = found
        flow = cell_figures.steps(pool, mask, at)
        result = [
            _step_item(name, flow["backlog"][name], flow["overdue"][name], spread.count,
                       spread.total, spread.median, spread.p90)
            for name, spread in flow["spent"].items()
        ]
        return {"position": position, "head": cases.head_position(), "as_of": _time(at),
                "steps": result, "loops": flow["loops"]}
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
    found = _from_cells(cases, scope, filters, as_of, stays=False) if cells else None
    if found is not None:
        position, pool, mask, at = found
        tallies = cell_figures.satisfaction(pool, mask, keys, period)
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


# The case list and the audit trail ------------------------------------------------------


def list_cases(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    step: str | Sequence[str] | None = None,
    status: str | None = None,
    resolution: str | Sequence[str] | None = None,
    compound: str | Sequence[str] | None = None,
    community: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    channel: str | Sequence[str] | None = None,
    overdue: bool | None = None,
    text: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    sort: str = "-reported_at",
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
    now: datetime | None = None,
) -> dict[str, Any]:
    """The case list (案件列表): filtered, sorted, paginated; ``overdue`` is computed at now.

    ``sort`` is a column (reported_at, updated_at, deadline, support_count, position),
    ``-`` in front for descending; ties are broken by case id. ``text`` is found in the
    title when both are folded alike (``projections.textfold.fold``: NFKC, case folding,
    default-ignorable characters removed). ``from_``/``to`` bound the reported time.

    Rows without a value of the sort key come last in both directions, on both stores
    (projections/paging.py). Pages: ``after`` (the ``next_after`` of the page before, an
    opaque cursor of the sort value and id of its last row) gives the rows after it, stable
    while writers append; ``offset`` jumps to a row number, which shifts when rows are
    added before it. ``count`` is every row the filters select; ``next_after`` is None on
    the last page.
    """
    if not 1 <= limit <= 1000:
        raise QueryError("limit must be from 1 to 1000")
    if offset < 0:
        raise QueryError("offset must be 0 or more")
    if after is not None and offset:
        raise QueryError("give after or offset, not both")
    try:
        order = Order.of(sort)
        cursor = None if after is None else order.read(after)
    except CursorError as error:
        raise QueryError(str(error)) from None
    now_us = us(now if now is not None else cases.clock.now())
    where = _list_where(cases, scope, now_us, step=step, status=status, resolution=resolution,
                        compound=compound, community=community, category=category,
                        channel=channel, overdue=overdue, text=text, from_=from_, to=to)
    dialect = cases.db.dialect
    page = _Where()
    page.parts, page.params = list(where.parts), list(where.params)
    if cursor is not None:
        page.add(*_after(order, dialect, *cursor))
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        generation, position = _freshness(cases, cur)
        table = store.cases_table(cases.db, generation)
        count = cur.execute(f"SELECT COUNT(*) FROM {table}{where.sql}", where.params).fetchall()
        rows = cur.execute(
            "SELECT case_id, version, step, status, resolution, compound_id, community_id, title,"
            " category, channel, assignee, assignee_role, reported_at, updated_at, closed_at,"
            " deadline, support_count, reopen_count, last_position,"
            f" {order.column} AS sort_value FROM {table}{page.sql}{order.order_by(dialect)}"
            " LIMIT %s OFFSET %s",
            [*page.params, limit + 1, offset],
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    data = []
    for r in rows:
        deadline = r[15]
        data.append({
            "id": r[0], "version": r[1], "step": r[2], "status": r[3], "resolution": r[4],
            "compound_id": r[5], "community_id": r[6], "title": r[7], "category": r[8],
            "channel": r[9], "assignee": r[10], "assignee_role": r[11],
            "reported_at": _time(r[12]), "updated_at": _time(r[13]), "closed_at": _time(r[14]),
            "deadline": _time(deadline), "overdue": deadline is not None and now_us > deadline,
            "support_count": r[16], "reopen_count": r[17], "position": r[18],
        })
    last = rows[-1] if more and rows else None
    return {"position": position, "head": cases.head_position(), "data": data,
            "count": int(count[0][0]), "limit": limit, "offset": offset, "after": after,
            "next_after": None if last is None else order.cursor(last[19], last[0])}


def _list_where(
    cases: Cases,
    scope: Scope,
    now_us: int,
    *,
    step: str | Sequence[str] | None,
    status: str | None,
    resolution: str | Sequence[str] | None,
    compound: str | Sequence[str] | None,
    community: str | Sequence[str] | None,
    category: str | Sequence[str] | None,
    channel: str | Sequence[str] | None,
    overdue: bool | None,
    text: str | None,
    from_: datetime | None,
    to: datetime | None,
) -> _Where:
    """The case list's filters as SQL (``list_cases`` says what each means)."""
    if status is not None and status not in ("open", "closed"):
        raise QueryError("status must be open or closed", "status", ("open", "closed"))
    where = _Where()
    where.scope(scope)
    where.any_of("step", _known("step", step))
    if status is not None:
        where.add("status = %s", status)
    where.any_of("resolution", _known("resolution", resolution))
    where.any_of("compound_id", _as_list(compound))
    where.any_of("community_id", _as_list(community))
    where.any_of("category", _known("category", category))
    where.any_of("channel", _known("channel", channel))
    if overdue is True:
        where.add("deadline IS NOT NULL AND deadline < %s", now_us)
    elif overdue is False:
        where.add("(deadline IS NULL OR deadline >= %s)", now_us)
    needle = textfold.fold(text) if text else ""
    if needle:
        # The stored fold contains the query's: code point for code point on both stores.
        find = "strpos" if cases.db.dialect == "postgres" else "instr"
        where.add(f"{find}(title_folded, %s) > 0", needle)
    if from_ is not None:
        where.add("reported_at >= %s", us(from_))
    if to is not None:
        where.add("reported_at < %s", us(to))
    return where


def _after(order: Order, dialect: str, value: int | None, case_id: str) -> tuple[Any, ...]:
    sql, params = order.after(dialect, value, case_id)
    return (sql, *params)


AUDIT_FIELDS = ("position", "case_id", "version", "type", "step_before", "step_after",
                "actor_id", "actor_role", "recorded_at", "summary", "prev_hash", "hash")


def _audit_where(
    scope: Scope,
    case_id: str | None,
    actor_id: str | None,
    actor_role: str | Sequence[str] | None,
    event_type: str | Sequence[str] | None,
    from_: datetime | None,
    to: datetime | None,
) -> _Where:
    where = _Where()
    where.scope(scope)
    if case_id is not None:
        where.add("case_id = %s", str(case_id))
    if actor_id is not None:
        where.add("actor_id = %s", actor_id)
    where.any_of("actor_role", _known("role", actor_role))
    where.any_of("type", _known("type", event_type))
    if from_ is not None:
        where.add("recorded_at >= %s", us(from_))
    if to is not None:
        where.add("recorded_at < %s", us(to))
    return where


def _audit_dict(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "position": row[0], "case_id": row[1], "version": row[2], "type": row[3],
        "step_before": row[4], "step_after": row[5],
        "actor": {"id": row[6], "role": row[7]},
        # One line, also when stored by a version that let line breaks through.
        "recorded_at": _time(row[8]), "summary": one_line(row[9]), "prev_hash": row[10],
        "hash": row[11],
    }


def audit(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    case_id: str | None = None,
    actor_id: str | None = None,
    actor_role: str | Sequence[str] | None = None,
    event_type: str | Sequence[str] | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    after: int = 0,
    limit: int = 100,
) -> dict[str, Any]:
    """The audit trail (审计轨迹) in global order, from after ``after`` (keyset paging).

    ``from_``/``to`` bound the recorded time, [from_, to). ``next_after`` is the position to
    ask for the next page, None on the last page; ``count`` counts every matching row.
    """
    if not 1 <= limit <= 1000:
        raise QueryError("limit must be from 1 to 1000")
    where = _audit_where(scope, case_id, actor_id, actor_role, event_type, from_, to)
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        generation, position = _freshness(cases, cur)
        table = store.audit_table(cases.db, generation)
        count = cur.execute(f"SELECT COUNT(*) FROM {table}{where.sql}", where.params).fetchall()
        page = _Where()
        page.parts, page.params = [*where.parts, "position > %s"], [*where.params, after]
        rows = cur.execute(
            f"SELECT {', '.join(AUDIT_FIELDS)} FROM {table}{page.sql} ORDER BY position"
            " LIMIT %s",
            [*page.params, limit + 1],
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "position": position, "head": cases.head_position(),
        "data": [_audit_dict(r) for r in rows], "count": int(count[0][0]),
        "limit": limit, "after": after,
        "next_after": rows[-1][0] if more and rows else None,
    }


def audit_csv(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    page_size: int = 1000,
    **filters: Any,
) -> Iterator[str]:
    """The audit trail as CSV lines (a header row first), read page by page. The filters are
    checked before the first line (QueryError), so a refusal is never half a download."""
    _audit_where(scope, *(filters.get(name) for name in (
        "case_id", "actor_id", "actor_role", "event_type", "from_", "to")))
    return _audit_lines(cases, scope, page_size, filters)


def _audit_lines(
    cases: Cases, scope: Scope, page_size: int, filters: dict[str, Any]
) -> Iterator[str]:
    yield _csv_line(AUDIT_FIELDS)
    after = int(filters.pop("after", 0) or 0)
    filters.pop("limit", None)
    while True:
        result = audit(cases, scope, after=after, limit=page_size, **filters)
        for row in result["data"]:
            yield _csv_line([
                row["position"], row["case_id"], row["version"], row["type"],
                row["step_before"] or "", row["step_after"], row["actor"]["id"],
                row["actor"]["role"], row["recorded_at"], row["summary"], row["prev_hash"],
                row["hash"],
            ])
        if result["next_after"] is None:
            return
        after = result["next_after"]


def _csv_line(values: Iterable[Any]) -> str:
    """One CSV record on one line: every cell of these exports is a one-line value, and
    goes through the one helper that keeps formulas out (domain/csvcells.py)."""
    return csv_line(one_line(v) if isinstance(v, str) else v for v in values)


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
