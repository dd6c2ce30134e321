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
from domain.tlog.tree import Node, nodes_for, range_nodes, tree_root
from projections.tlog_batch import Batch, Edge, fold, prepare, right_edge
from projections.tlog_batch import LogError as LogError  # noqa: PLC0414 (ls.LogError)

DEFAULT_BATCH = 5000
#: Seconds to sleep inside each batch's transaction before it commits (tests of crashes).
SLOWDOWN_ENV = "YISHI_LOG_SLOWDOWN"
_TAIL = HASH_TAIL
_HEX64 = re.compile(rb"[0-9a-f]{64}")


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
        # The id as text: PostgreSQL writes the canonical form, and no UUID object is built
        # per row (``_canonical_id`` converts each stream once).
        sql = (f"SELECT notification_id, originator_id::text, originator_version,"
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


def read_edge(db: Database, cur: Cursor, size: int) -> Edge:
    """The stored right edge of a tree of ``size`` leaves (its partial tiles and bundle)."""
    partial, partial_bundle = right_edge(size)
    edge = Edge(size)
    if partial:
        for level, idx, data in cur.execute(
            f"SELECT level, idx, data FROM {table(db, 'tiles')} WHERE {tiles_where(partial)}",
            [v for p in partial for v in p],
        ).fetchall():
            edge.tiles[(int(level), int(idx))] = bytearray(bytes(data))
    if partial_bundle is not None:
        row = cur.execute(f"SELECT data FROM {table(db, 'entries')} WHERE idx = %s",
                          (partial_bundle,)).fetchone()
        if row is None:
            raise LogError(f"the log's entry bundle {partial_bundle} is missing")
        edge.bundles[partial_bundle] = bytearray(bytes(row[0]))
    return edge


def append_leaves(db: Database, cur: Cursor, size: int, events: Sequence[EventRef]) -> int:
    """Append one leaf per event to a tree of ``size`` leaves; the new size."""
    batch = prepare(read_edge(db, cur, size), [e.position for e in events],
                    [e.leaf() for e in events])
    write_batch(db, cur, batch)
    return batch.size


def write_batch(db: Database, cur: Cursor, batch: Batch) -> None:
    """Write a prepared batch's leaves, tiles and entry bundles (not the state row)."""
    if db.dialect == "postgres":
        with cur.raw.copy(f"COPY {table(db, 'leaves')} (leaf_index, position) FROM STDIN"
                          ) as copy:
            copy.write(batch.copy_text)
    else:
        cur.executemany(f"INSERT INTO {table(db, 'leaves')} (leaf_index, position)"
                        " VALUES (%s, %s)", batch.leaves)
    cur.executemany(
        f"INSERT INTO {table(db, 'tiles')} (level, idx, width, data) VALUES (%s, %s, %s, %s)"
        " ON CONFLICT (level, idx) DO UPDATE SET width = excluded.width, data = excluded.data",
        batch.tiles,
    )
    cur.executemany(
        f"INSERT INTO {table(db, 'entries')} (idx, width, data) VALUES (%s, %s, %s)"
        " ON CONFLICT (idx) DO UPDATE SET width = excluded.width, data = excluded.data",
        batch.entries,
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
        """Batches until no event is left; the number of leaves appended.

        Three things overlap: a thread reads the next events, this thread prepares the next
        batch from the right edge kept in memory, and a second thread writes the batch before
        it, each write in its own transaction that first checks that the log is still where
        the batch starts (as ``run_batch`` does). If another follower moved it, the writes
        stop and the catch-up starts again from the stored state."""
        total = 0
        with (ThreadPoolExecutor(1, thread_name_prefix="yishi-log-read") as reader,
              ThreadPoolExecutor(1, thread_name_prefix="yishi-log-write") as writer):
            while True:
                appended, finished = self._pipeline(reader, writer)
                total += appended
                if finished:
                    return total

    def _pipeline(self, reader: ThreadPoolExecutor, writer: ThreadPoolExecutor
                  ) -> tuple[int, bool]:
        """Leaves appended from the stored state on, and whether the head was reached
        (False: another follower moved the log)."""
        state = read_state(self.db)
        with self.db.transaction() as cur:
            edge = read_edge(self.db, cur, state.size)
        position = state.position
        ahead = reader.submit(read_events, self.cases, position, self.batch_size)
        writing: Future[bool] | None = None
        appended = pending = 0
        while True:
            events = ahead.result()
            if events:
                ahead = reader.submit(read_events, self.cases, events[-1].position,
                                      self.batch_size)
                start = LogState(edge.size, position)
                batch = prepare(edge, [e.position for e in events], [leaf_data(*e) for e in events])
                position = batch.position
            if writing is not None:
                if not writing.result():
                    return appended, False
                appended += pending
            if not events:
                return appended, True
            writing = writer.submit(self._commit, start, batch)
            pending = len(events)

    def _commit(self, start: LogState, batch: Batch) -> bool:
        """Write a batch prepared for the log at ``start``; False (nothing written) if the
        log is no longer there."""
        with self.db.transaction() as cur:
            if lock_state(self.db, cur) != start:
                return False
            write_batch(self.db, cur, batch)
            cur.execute(f"UPDATE {table(self.db, 'state')} SET size = %s, position = %s"
                        " WHERE id = 1", (batch.size, batch.position))
            if self._slowdown:
                time.sleep(self._slowdown)
        return True


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
        out[node] = fold(data[first * 32 : (first + count) * 32])
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
