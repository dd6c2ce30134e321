"""Reading the figure cells (统计单元的读取): the cells a query selects, kept in memory by
version, and the figures computed from them remembered by the projection position.

Split out of projections/queries.py, which computes the figures (docs/adr/0022 for the
cells, docs/adr/0083 for the figures remembered by position).
"""

from __future__ import annotations

import os
import threading
import weakref
from collections import OrderedDict
from collections.abc import Callable
from datetime import datetime
from typing import Any, TypeVar

from domain.application import Cases
from domain.storage import Cursor
from projections import cell_figures, store
from projections.fold import us
from projections.periods import period_key
from projections.scope import Filters, Scope, Where, as_of_us, read_freshness

T = TypeVar("T")

#: Bytes of figure cells each process keeps per database (YISHI_CELL_CACHE_MB, default 64).
CELL_CACHE_BYTES = int(float(os.environ.get("YISHI_CELL_CACHE_MB", "64")) * 1024 * 1024)


class CellCache:
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


CELL_CACHES: weakref.WeakKeyDictionary[Any, CellCache] = weakref.WeakKeyDictionary()
CELL_CACHES_LOCK = threading.Lock()


def cell_cache(cases: Cases) -> CellCache:
    with CELL_CACHES_LOCK:
        cache = CELL_CACHES.get(cases.db)
        if cache is None:
            cache = CELL_CACHES[cases.db] = CellCache(CELL_CACHE_BYTES)
        return cache


#: Figures each process remembers per database (by generation and position, see ``figure``).
FIGURES_KEPT = 256


class FigureCache:
    """Figures computed from the cells, by (generation, position, figure, scope, filters).

    A new event moves the position, and every figure remembered before it is simply never
    asked for again; the least recently used go first past ``limit`` entries (each is a few
    groups' counts: small beside the cells).
    """

    def __init__(self, limit: int = FIGURES_KEPT) -> None:
        self.limit = limit
        self._entries: OrderedDict[tuple[Any, ...], tuple[Any, int]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> tuple[Any, int] | None:
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None:
                self._entries.move_to_end(key)
            return entry

    def put(self, key: tuple[Any, ...], entry: tuple[Any, int]) -> None:
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.limit:
                self._entries.popitem(last=False)

    def __len__(self) -> int:
        return len(self._entries)


FIGURE_CACHES: weakref.WeakKeyDictionary[Any, FigureCache] = weakref.WeakKeyDictionary()


def figure_cache(cases: Cases) -> FigureCache:
    with CELL_CACHES_LOCK:
        cache = FIGURE_CACHES.get(cases.db)
        if cache is None:
            cache = FIGURE_CACHES[cases.db] = FigureCache()
        return cache


def from_cells(
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
    with cases.db.transaction() as cur:
        generation, position = read_freshness(cases, cur)
        found = _cells_in(cases, cur, generation, scope, filters, as_of, stays=stays)
    if found is None:
        return None
    pool, mask, at, _settled = found
    return position, pool, mask, at


def figure(
    cases: Cases, scope: Scope, filters: Filters, as_of: datetime | None, *, stays: bool,
    name: tuple[Any, ...], compute: Callable[[cell_figures.Pool, Any], T],
) -> tuple[int, T, int] | None:
    """``compute(pool, mask)`` over the cells the scope and filters select: the position
    read, its value and the moment it answers for; None when the cells cannot answer.

    ``compute`` must not depend on the moment beyond what the cells hold: without ``as_of``
    every selected case's facts are in the past (ADR 0022), so the value is fixed by the
    cells, and the cells are fixed by the generation and position (the runner writes them
    in the transaction that moves the position). So without ``as_of`` a value is remembered
    by (generation, position, name, scope, filters) and given again without reading a cell
    until an event moves the position (docs/adr/0083-figures-by-position.md).
    """
    store.ensure_base(cases.db)
    remembered = figure_cache(cases)
    with cases.db.transaction() as cur:
        generation, position = read_freshness(cases, cur)
        key = (generation, position, name, stays, scope, _filters_key(filters))
        if as_of is None:
            hit = remembered.get(key)
            if hit is not None:
                value, settled = hit
                return position, value, max(as_of_us(cases, None), settled)
        found = _cells_in(cases, cur, generation, scope, filters, as_of, stays=stays)
    if found is None:
        return None
    pool, mask, at, settled = found
    value = compute(pool, mask)
    if as_of is None:
        remembered.put(key, (value, settled))
    return position, value, at


def _filters_key(filters: Filters) -> tuple[Any, ...]:
    return (tuple(filters.compound), tuple(filters.community), tuple(filters.category),
            tuple(filters.channel), filters.from_, filters.to)


def _cells_in(
    cases: Cases, cur: Cursor, generation: int, scope: Scope, filters: Filters,
    as_of: datetime | None, *, stays: bool,
) -> tuple[cell_figures.Pool, Any, int, int] | None:
    """The pool of the selected cells, the cohort's mask, the moment, and the latest time
    in the cells' facts (``settled``); None when the cells cannot answer."""
    where = Where()
    where.scope(scope)
    where.any_of("compound_id", filters.compound)
    where.any_of("community_id", filters.community)
    if filters.from_ is not None:
        where.add("month >= %s", period_key(us(filters.from_), "month"))
    if filters.to is not None:
        where.add("month <= %s", period_key(us(filters.to) - 1, "month"))
    cache = cell_cache(cases)
    if not store.has_cells(cases.db, cur, generation):
        return None
    table = store.cells_table(cases.db, generation)
    listed = cur.execute(
        f"SELECT compound_id, community_id, month, version, settled, exact FROM {table}"
        + where.sql,
        where.params,
    ).fetchall()
    settled = max((int(r[4]) for r in listed), default=0)
    at = as_of_us(cases, as_of)
    if as_of is None:
        at = max(at, settled)
    if any(int(r[4]) > at or not r[5] for r in listed):
        return None
    signature = (generation, stays, tuple(
        (str(r[0]), str(r[1]), str(r[2]), int(r[3])) for r in listed))
    pool = cache.pool(signature)
    if pool is not None:
        return pool, _mask(pool, filters, at), at, settled
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
        for compound, community, month, version, row_settled, exact, blob, stay_blob in rows:
            if int(row_settled) > at or not exact:
                return None  # written since the listing, and now in as_of's future
            key = (str(compound), str(community), str(month))
            found[key] = (bytes(blob), bytes(stay_blob))
            cache.put((generation, *key), int(version), *found[key])
    pool = cell_figures.pool([
        (*key, blobs[0], blobs[1] if stays else None) for key, blobs in sorted(found.items())
    ])
    if len(found) == len(listed):
        cache.keep_pool(signature, pool)
    return pool, _mask(pool, filters, at), at, settled


def _mask(pool: cell_figures.Pool, filters: Filters, at: int) -> Any:
    return cell_figures.cohort_mask(
        pool, compound=filters.compound, community=filters.community,
        category=filters.category, channel=filters.channel,
        from_us=None if filters.from_ is None else us(filters.from_),
        to_us=None if filters.to is None else us(filters.to), as_of_us=at,
    )

