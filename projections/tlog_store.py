"""The verifiable log's tables beside the events, and the follower's batch (日志存储).

Tables (docs/adr/0050-log-leaf.md):

- ``yishi_tlog_state``: one row, the tree size and the position of the last event in it:
  the follower's tracking, written in the transaction of each batch;
- ``yishi_tlog_leaves``: ``leaf_index`` (dense, from 0) and the event's ``position``;
- ``yishi_tlog_tiles``: C2SP hash tiles ``(level, idx, width, data)``, one row per tile at
  its widest (a narrower partial tile is a prefix of it);
- ``yishi_tlog_entries``: the entry bundles ``(idx, width, data)``: the leaf data itself;
- ``yishi_tlog_checkpoints``: every signed checkpoint ``(size, root, note, signed_at)``.

A batch reads up to ``batch_size`` events after the tracked position, locks the state row,
checks that nobody moved it meanwhile, and writes the leaves, the tiles and the new state in
one transaction: every event gets exactly one leaf, in position order, across crashes and
with any number of followers. Nothing here ever rewrites a leaf or a tile's hashes.
"""

from __future__ import annotations

import os
import re
import time
import weakref
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NamedTuple
from uuid import UUID

import orjson
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore
from psycopg.rows import tuple_row

from domain.application import Cases
from domain.storage import Cursor, Database
from domain.tlog import tiles as tl
from domain.tlog.leaf import HASH_TAIL, hash_from_tail, leaf_data
from domain.tlog.tree import Node, leaf_hash, nodes_for, range_nodes, tree_root

DEFAULT_BATCH = 5000
#: Seconds to sleep inside each batch's transaction before it commits (tests of crashes).
SLOWDOWN_ENV = "YISHI_LOG_SLOWDOWN"
_TAIL = HASH_TAIL
_HEX64 = re.compile(rb"[0-9a-f]{64}")


class LogError(Exception):
    """The log cannot go on (an event without a chain hash, tables that disagree)."""


def _bin(db: Database) -> str:
    return "BYTEA" if db.dialect == "postgres" else "BLOB"


def _big(db: Database) -> str:
    return "BIGINT" if db.dialect == "postgres" else "INTEGER"


def table(db: Database, name: str) -> str:
    return db.table(f"yishi_tlog_{name}")


def has_tables(db: Database) -> bool:
    """Whether the log's tables exist (the log was ever built); creates nothing."""
    return db in _CREATED or db.has_table("yishi_tlog_state")


#: Databases whose log tables are known to exist (checked once per process).
_CREATED: weakref.WeakSet[Database] = weakref.WeakSet()


def ensure_tables(db: Database) -> None:
    """Create the log's tables on first use (idempotent)."""
    if db in _CREATED:
        return
    big, blob = _big(db), _bin(db)
    db.create(
        f"CREATE TABLE IF NOT EXISTS {table(db, 'state')} (id INTEGER PRIMARY KEY,"
        f" size {big} NOT NULL, position {big} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {table(db, 'leaves')} (leaf_index {big} PRIMARY KEY,"
        f" position {big} NOT NULL UNIQUE)",
        f"CREATE TABLE IF NOT EXISTS {table(db, 'tiles')} (level INTEGER NOT NULL,"
        f" idx {big} NOT NULL, width INTEGER NOT NULL, data {blob} NOT NULL,"
        " PRIMARY KEY (level, idx))",
        f"CREATE TABLE IF NOT EXISTS {table(db, 'entries')} (idx {big} PRIMARY KEY,"
        f" width INTEGER NOT NULL, data {blob} NOT NULL)",
        f"CREATE TABLE IF NOT EXISTS {table(db, 'checkpoints')} (size {big} PRIMARY KEY,"
        f" root {blob} NOT NULL, note TEXT NOT NULL, signed_at TEXT NOT NULL)",
    )
    state = table(db, "state")
    db.execute(f"INSERT INTO {state} (id, size, position) VALUES (1, 0, 0)"
               " ON CONFLICT (id) DO NOTHING")
    _CREATED.add(db)


@dataclass(frozen=True)
class LogState:
    """How far the log is: ``size`` leaves, the last of them the event at ``position``."""

    size: int
    position: int


def read_state(db: Database, cur: Cursor | None = None) -> LogState:
    sql = f"SELECT size, position FROM {table(db, 'state')} WHERE id = 1"
    rows = cur.execute(sql).fetchall() if cur is not None else db.execute(sql)
    if not rows:
        return LogState(0, 0)
    return LogState(int(rows[0][0]), int(rows[0][1]))


def lock_state(db: Database, cur: Cursor) -> LogState:
    """Take the write lock on the state row and read it."""
    cur.execute(f"UPDATE {table(db, 'state')} SET size = size WHERE id = 1")
    return read_state(db, cur)


# Reading the events --------------------------------------------------------------------


class EventRef(NamedTuple):
    """What a leaf commits to, as read from the events table."""

    position: int
    stream_id: str
    version: int
    event_hash: str

    def leaf(self) -> bytes:
        return leaf_data(self.position, self.stream_id, self.version, self.event_hash)


def _canonical_id(stream: object, cache: dict[object, str]) -> str:
    """A stream id as canonical hyphenated lower-case text (SQLite stores 32 hex digits)."""
    key = stream.int if isinstance(stream, UUID) else stream  # hashed in C, not in Python
    text = cache.get(key)
    if text is None:
        text = cache[key] = str(stream if isinstance(stream, UUID) else UUID(str(stream)))
    return text


def _hash_from_state(state: bytes, position: int) -> str:
    try:
        document = orjson.loads(state)
        digest = document["hash"]
    except (orjson.JSONDecodeError, KeyError, TypeError):
        raise LogError(f"the event at position {position} carries no chain hash") from None
    if not isinstance(digest, str) or not _HEX64.fullmatch(digest.encode()):
        raise LogError(f"the event at position {position} has no 64-hex chain hash")
    return digest


def read_events(cases: Cases, after: int, limit: int) -> list[EventRef]:
    """The next events after position ``after`` in position order (every stream), reading
    only the tail of each stored state where the chain hash is (the whole state where the
    tail is not in the usual form)."""
    recorder = cases.recorder
    datastore = getattr(recorder, "datastore", None)
    table_name = getattr(recorder, "events_table_name", "")
    rows: list[tuple[Any, ...]]
    if isinstance(datastore, PostgresDatastore):
        sql = (f"SELECT notification_id, originator_id, originator_version,"
               f" substring(state from greatest(octet_length(state) - {_TAIL - 1}, 1))"
               f' FROM "{datastore.schema}"."{table_name}"'
               " WHERE notification_id > %s ORDER BY notification_id LIMIT %s")
        with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
            curs.execute(sql, (after, limit), binary=True)
            rows = curs.fetchall()
        full = _pg_full_states
    elif isinstance(datastore, SQLiteDatastore):
        sql = (f"SELECT rowid, originator_id, originator_version, substr(state, -{_TAIL})"
               f' FROM "{table_name}" WHERE rowid > ? ORDER BY rowid LIMIT ?')
        with datastore.transaction(commit=False) as curs:
            curs.execute(sql, (after, limit))
            rows = [tuple(r) for r in curs.fetchall()]
        full = _sqlite_full_states
    else:
        page = recorder.select_notifications(start=after + 1, limit=limit)
        return [EventRef(n.id, str(UUID(str(n.originator_id))), n.originator_version,
                         _hash_from_state(n.state, n.id)) for n in page]
    refs: list[EventRef] = []
    missing: list[int] = []
    ids: dict[object, str] = {}
    for position, stream, version, tail in rows:
        digest = hash_from_tail(bytes(tail))
        if digest is None:
            missing.append(position)
        refs.append(EventRef(position, _canonical_id(stream, ids), version, digest or ""))
    if missing:
        states = full(datastore, table_name, missing)
        refs = [
            r if r.event_hash else EventRef(r.position, r.stream_id, r.version,
                                            _hash_from_state(states[r.position], r.position))
            for r in refs
        ]
    return refs


def _pg_full_states(datastore: Any, table_name: str, positions: list[int]) -> dict[int, bytes]:
    with datastore.get_connection() as conn, conn.cursor(row_factory=tuple_row) as curs:
        curs.execute(f'SELECT notification_id, state FROM "{datastore.schema}"."{table_name}"'
                     " WHERE notification_id = ANY(%s)", (positions,), binary=True)
        return {int(p): bytes(s) for p, s in curs.fetchall()}


def _sqlite_full_states(datastore: Any, table_name: str, positions: list[int]) -> dict[int, bytes]:
    marks = ",".join("?" * len(positions))
    with datastore.transaction(commit=False) as curs:
        curs.execute(f'SELECT rowid, state FROM "{table_name}" WHERE rowid IN ({marks})',
                     positions)
        return {int(p): bytes(s) for p, s in curs.fetchall()}


# Writing a batch -----------------------------------------------------------------------


def _right_edge(size: int) -> tuple[list[tuple[int, int]], int | None]:
    """The partial hash tiles ``(level, idx)`` of a tree of ``size`` leaves, and the
    partial entry bundle's index (None when the last bundle is full)."""
    partial = []
    level = 0
    count = size
    while count:
        if count % tl.TILE_WIDTH:
            partial.append((level, count >> tl.TILE_HEIGHT))
        count >>= tl.TILE_HEIGHT
        level += 1
    return partial, (size >> tl.TILE_HEIGHT if size % tl.TILE_WIDTH else None)


def append_leaves(db: Database, cur: Cursor, size: int, events: Sequence[EventRef]) -> int:
    """Append one leaf per event to a tree of ``size`` leaves; the new size."""
    partial, partial_bundle = _right_edge(size)
    tiles: dict[tuple[int, int], bytearray] = {}
    if partial:
        where = " OR ".join("(level = %s AND idx = %s)" for _ in partial)
        for level, idx, data in cur.execute(
            f"SELECT level, idx, data FROM {table(db, 'tiles')} WHERE {where}",
            [v for p in partial for v in p],
        ).fetchall():
            tiles[(int(level), int(idx))] = bytearray(bytes(data))
    bundles: dict[int, bytearray] = {}
    if partial_bundle is not None:
        row = cur.execute(f"SELECT data FROM {table(db, 'entries')} WHERE idx = %s",
                          (partial_bundle,)).fetchone()
        if row is None:
            raise LogError(f"the log's entry bundle {partial_bundle} is missing")
        bundles[partial_bundle] = bytearray(bytes(row[0]))

    datas = [event.leaf() for event in events]
    _add_hashes(tiles, 0, size, [leaf_hash(d) for d in datas])
    leaves = []
    index = size
    for event, data in zip(events, datas, strict=True):
        bundle = bundles.get(index >> tl.TILE_HEIGHT)
        if bundle is None:
            bundle = bundles[index >> tl.TILE_HEIGHT] = bytearray()
        bundle += len(data).to_bytes(2, "big") + data
        leaves.append((index, event.position))
        index += 1
    _write(db, cur, leaves, tiles, bundles, size)
    return index


def _add_hashes(tiles: dict[tuple[int, int], bytearray], level: int, first: int,
                hashes: list[bytes]) -> None:
    """Append hashes of tree level ``8 * level`` from node index ``first`` to their tiles;
    each tile they fill adds its root one tile level up."""
    completed: list[bytes] = []
    at = 0
    while at < len(hashes):
        index = first + at
        key = (level, index >> tl.TILE_HEIGHT)
        tile = tiles.get(key)
        if tile is None:
            tile = tiles[key] = bytearray()
        offset = index & (tl.TILE_WIDTH - 1)
        if len(tile) != offset * 32:
            raise LogError(f"the log's hash tile {key} does not end where the tree does")
        take = min(tl.TILE_WIDTH - offset, len(hashes) - at)
        tile += b"".join(hashes[at : at + take])
        at += take
        if offset + take == tl.TILE_WIDTH:
            completed.append(tl.fold(tl.split_hashes(bytes(tile))))
    if completed:
        first_up = (first + len(hashes)) // tl.TILE_WIDTH - len(completed)
        _add_hashes(tiles, level + 1, first_up, completed)


def _write(db: Database, cur: Cursor, leaves: list[tuple[int, int]],
           tiles: dict[tuple[int, int], bytearray], bundles: dict[int, bytearray],
           size: int) -> None:
    if db.dialect == "postgres":
        with cur.raw.copy(f"COPY {table(db, 'leaves')} (leaf_index, position) FROM STDIN"
                          ) as copy:
            for row in leaves:
                copy.write_row(row)
    else:
        cur.executemany(f"INSERT INTO {table(db, 'leaves')} (leaf_index, position)"
                        " VALUES (%s, %s)", leaves)
    cur.executemany(
        f"INSERT INTO {table(db, 'tiles')} (level, idx, width, data) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data",
        [(lv, ix, len(t) // 32, bytes(t)) for (lv, ix), t in tiles.items()],
    )
    new_size = size + len(leaves)
    rows = [(idx, min(tl.TILE_WIDTH, new_size - (idx << tl.TILE_HEIGHT)), bytes(data))
            for idx, data in bundles.items()]
    cur.executemany(
        f"INSERT INTO {table(db, 'entries')} (idx, width, data) VALUES (%s, %s, %s)"
        " ON CONFLICT (idx) DO UPDATE SET width = excluded.width, data = excluded.data",
        rows,
    )


@dataclass(frozen=True)
class BatchResult:
    leaves: int
    size: int
    position: int


class LogFollower:
    """Appends a leaf for every new event, a batch per transaction (exactly once)."""

    def __init__(self, cases: Cases, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.cases = cases
        self.db = cases.db
        self.batch_size = batch_size
        self._slowdown = float(os.environ.get(SLOWDOWN_ENV, "0") or 0)
        ensure_tables(self.db)

    def run_batch(self, ahead: Future[list[EventRef]] | None = None,
                  ahead_from: int = -1) -> BatchResult:
        """One batch; ``ahead`` may hold the events after ``ahead_from``, read meanwhile
        (used only if the log is still there)."""
        state = read_state(self.db)
        if ahead is not None and ahead_from == state.position:
            events = ahead.result()
        else:
            events = read_events(self.cases, state.position, self.batch_size)
        if not events:
            return BatchResult(0, state.size, state.position)
        with self.db.transaction() as cur:
            locked = lock_state(self.db, cur)
            if locked != state:  # another follower got there first: nothing written
                return BatchResult(0, locked.size, locked.position)
            size = append_leaves(self.db, cur, state.size, events)
            position = events[-1].position
            cur.execute(f"UPDATE {table(self.db, 'state')} SET size = %s, position = %s"
                        " WHERE id = 1", (size, position))
            if self._slowdown:
                time.sleep(self._slowdown)
        return BatchResult(len(events), size, position)

    def catch_up(self) -> int:
        """Batches until no event is left; the number of leaves appended. The next batch is
        read in a thread while this one is written (the server's answers overlap)."""
        total = 0
        ahead: Future[list[EventRef]] | None = None
        ahead_from = -1
        with ThreadPoolExecutor(1, thread_name_prefix="yishi-log-read") as reader:
            while True:
                state = read_state(self.db)
                if ahead is None or ahead_from != state.position:
                    ahead_from = state.position
                    ahead = reader.submit(read_events, self.cases, ahead_from, self.batch_size)
                events = ahead.result()
                if events:  # read the batch after this one while this one is written
                    following = reader.submit(read_events, self.cases, events[-1].position,
                                              self.batch_size)
                result = self.run_batch(ahead, ahead_from)
                total += result.leaves
                if not events:
                    if not read_events(self.cases, result.position, 1):
                        return total
                    ahead = None
                    continue
                ahead, ahead_from = following, events[-1].position


# Reading hashes back -------------------------------------------------------------------


def load_hashes(db: Database, nodes: Iterable[Node], cur: Cursor | None = None
                ) -> dict[Node, bytes]:
    """The hashes of these complete subtrees, from the stored tiles (one query per 200
    tiles)."""
    wanted = {node: tl.tile_of(node) for node in nodes}
    keys = sorted({(k, idx) for k, idx, _f, _c in wanted.values()})
    stored: dict[tuple[int, int], bytes] = {}
    for start in range(0, len(keys), 200):
        chunk = keys[start : start + 200]
        sql = f"SELECT level, idx, data FROM {table(db, 'tiles')} WHERE {tiles_where(chunk)}"
        params = [v for key in chunk for v in key]
        rows = (cur.execute(sql, params).fetchall() if cur is not None
                else db.execute(sql, params))
        stored.update({(int(lv), int(ix)): bytes(data) for lv, ix, data in rows})
    return hashes_from_tiles(wanted, stored)


def tiles_where(keys: Sequence[tuple[int, int]]) -> str:
    """The WHERE condition selecting these ``(level, idx)`` tiles (parameters in order)."""
    return " OR ".join("(level = %s AND idx = %s)" for _ in keys)


def hashes_from_tiles(wanted: dict[Node, tuple[int, int, int, int]],
                      stored: dict[tuple[int, int], bytes]) -> dict[Node, bytes]:
    """Each wanted node's hash (``wanted`` maps it to its ``tl.tile_of``) folded from the
    stored tiles by ``(level, idx)``; LogError if a tile is missing or too short."""
    out = {}
    for node, (k, idx, first, count) in wanted.items():
        data = stored.get((k, idx))
        if data is None or len(data) < (first + count) * 32:
            raise LogError(f"the log's hash tile {k}/{idx} is missing or short")
        out[node] = tl.fold(tl.split_hashes(data[first * 32 : (first + count) * 32]))
    return out


def root_at(db: Database, size: int, cur: Cursor | None = None) -> bytes:
    hashes = load_hashes(db, range_nodes(0, size), cur)
    return tree_root(size, lambda level, index: hashes[(level, index)])


def proof_hashes(db: Database, ranges: Iterable[tuple[int, int]]) -> dict[Node, bytes]:
    return load_hashes(db, nodes_for(ranges))


def leaf_indexes(db: Database, positions: Sequence[int], cur: Cursor | None = None
                 ) -> dict[int, int]:
    """Leaf index by event position, for the positions that have a leaf."""
    if not positions:
        return {}
    marks = ",".join(["%s"] * len(positions))
    sql = (f"SELECT position, leaf_index FROM {table(db, 'leaves')}"
           f" WHERE position IN ({marks})")
    rows = (cur.execute(sql, list(positions)).fetchall() if cur is not None
            else db.execute(sql, list(positions)))
    return {int(p): int(i) for p, i in rows}
