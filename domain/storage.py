"""SQL access to the tables that live beside the events (存储).

The event store is the eventsourcing library's. A few things must live in the same
database but outside the streams: the per-subject keys of personal data, credentials,
idempotency records and read models. ``Database`` gives them one small interface over the
library's own connection pool (PostgreSQL or SQLite), so they share its configuration and,
on PostgreSQL, its schema. SQL is written once with ``%s`` placeholders; on SQLite they
become ``?``. The in-memory store used by unit tests gets a private in-memory SQLite.

The pool does not ping a connection before each use (docs/adr/0015-request-cost.md).
Instead, the first use of a connection found broken (the server restarted, a network cut)
has the pool check all its idle connections at once (``discard_broken_connections``), and
the statement is tried again on a fresh one: by the library's own retries for its reads and
writes, by ``Database.execute`` for ours.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, Literal

from eventsourcing.persistence import InterfaceError, OperationalError
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.sqlite import SQLiteDatastore

Dialect = Literal["sqlite", "postgres"]

#: How often a statement is tried when its connection turns out to be broken.
CONNECTION_ATTEMPTS = 3


class Cursor:
    """A cursor that speaks ``%s`` placeholders and returns plain tuples."""

    def __init__(self, raw: Any, dialect: Dialect) -> None:
        self._raw = raw
        self.dialect = dialect

    def _sql(self, sql: str) -> str:
        return sql.replace("%s", "?") if self.dialect == "sqlite" else sql

    def execute(self, sql: str, params: Sequence[Any] = ()) -> Cursor:
        self._raw.execute(self._sql(sql), tuple(params))
        return self

    def executemany(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if rows:
            self._raw.executemany(self._sql(sql), [tuple(row) for row in rows])

    def fetchall(self) -> list[tuple[Any, ...]]:
        return [_as_tuple(row) for row in self._raw.fetchall()]

    def fetchone(self) -> tuple[Any, ...] | None:
        row = self._raw.fetchone()
        return None if row is None else _as_tuple(row)

    @property
    def rowcount(self) -> int:
        # The library's SQLite transaction yields its own wrapper, which has no rowcount:
        # read the sqlite3 cursor inside it (else every UPDATE would report -1 rows).
        raw = getattr(self._raw, "sqlite_cursor", self._raw)
        return int(getattr(raw, "rowcount", -1))

    @property
    def raw(self) -> Any:
        """The driver's own cursor, for bulk paths (COPY on PostgreSQL)."""
        return self._raw


class Database:
    """The side tables' database: same store as the events, one transaction per call."""

    def __init__(self, datastore: PostgresDatastore | SQLiteDatastore | None) -> None:
        self._datastore = datastore
        self._memory: sqlite3.Connection | None = None
        self._memory_lock = threading.RLock()
        if isinstance(datastore, PostgresDatastore):
            self.dialect: Dialect = "postgres"
            self.schema: str | None = datastore.schema
            discard_broken_connections(datastore)
        else:
            self.dialect = "sqlite"
            self.schema = None
            if datastore is None:
                self._memory = sqlite3.connect(":memory:", check_same_thread=False)

    def table(self, name: str) -> str:
        """A table name, qualified with the PostgreSQL schema where there is one."""
        return f'"{self.schema}"."{name}"' if self.schema else f'"{name}"'

    @contextmanager
    def transaction(self) -> Iterator[Cursor]:
        """A transaction that commits when the block ends normally and rolls back on error."""
        if self._memory is not None:
            with self._memory_lock:
                try:
                    yield Cursor(self._memory.cursor(), "sqlite")
                    self._memory.commit()
                except BaseException:
                    self._memory.rollback()
                    raise
        elif isinstance(self._datastore, PostgresDatastore):
            with self._datastore.transaction(commit=True) as curs:
                yield Cursor(curs, "postgres")
        else:
            assert self._datastore is not None
            with self._datastore.transaction(commit=True) as curs:
                # Freed space is overwritten with zeros, so a deleted or replaced value
                # (an erased key) leaves no copy in the file (docs/adr/0073-erasure.md).
                curs.execute("PRAGMA secure_delete = ON")
                yield Cursor(curs, "sqlite")

    @contextmanager
    def reading(self) -> Iterator[Cursor]:
        """A cursor for reads that need no common snapshot: on PostgreSQL each statement
        runs on its own (the pool's connections are in autocommit), which saves the two
        round trips of BEGIN and COMMIT; on SQLite a transaction as ``transaction``."""
        if isinstance(self._datastore, PostgresDatastore):
            with self._datastore.get_connection() as conn, conn.cursor() as curs:
                yield Cursor(curs, "postgres")
        else:
            with self.transaction() as curs:
                yield curs

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one statement in its own transaction; rows if it returns any. On PostgreSQL
        a broken connection is replaced and the statement run again (a statement whose
        commit was lost with its connection can thus run twice: write them so that the
        second run changes nothing, as ``ON CONFLICT DO NOTHING`` or a guarded UPDATE)."""
        for attempt in range(1, CONNECTION_ATTEMPTS + 1):
            try:
                with self.transaction() as curs:
                    curs.execute(sql, params)
                    return curs.fetchall() if _returns_rows(sql) else []
            except (InterfaceError, OperationalError):
                if attempt == CONNECTION_ATTEMPTS or self.dialect != "postgres":
                    raise
        raise AssertionError("unreachable")  # pragma: no cover

    def has_table(self, name: str) -> bool:
        """Whether the table exists (in the schema, on PostgreSQL); creates nothing."""
        if self.dialect == "postgres":
            rows = self.execute("SELECT to_regclass(%s)", (self.table(name),))
            return bool(rows and rows[0][0] is not None)
        rows = self.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (name,)
        )
        return bool(rows)

    def add_columns(self, name: str, columns: Sequence[str]) -> None:
        """Add the ``text`` columns a table written by an earlier version lacks. Looks
        first, so an up-to-date table is never locked (ALTER TABLE takes an exclusive
        lock on PostgreSQL even when the column exists)."""
        if self.dialect == "postgres":
            have = {str(r[0]) for r in self.execute(
                "SELECT column_name FROM information_schema.columns"
                " WHERE table_schema = %s AND table_name = %s", (self.schema, name))}
        else:
            have = {str(r[0]) for r in self.execute(
                "SELECT name FROM pragma_table_info(%s)", (name,))}
        missing = [c for c in columns if c not in have]
        if missing:
            exists = " IF NOT EXISTS" if self.dialect == "postgres" else ""
            self.create(*(f"ALTER TABLE {self.table(name)} ADD COLUMN{exists} {c} text"
                          for c in missing))

    def purge_table(self, table: str, wait_seconds: float) -> bool:
        """Leave no copy of a table's deleted or overwritten values in the database files.

        PostgreSQL: wait (at most ``wait_seconds``) until no transaction of this database
        began before now (one could still see the old rows, and VACUUM keeps what some
        snapshot may see), then rewrite the table (``VACUUM FULL``, under a lock timeout).
        SQLite: checkpoint the write-ahead log and truncate it, once no reader holds it.
        False when older transactions or readers remained. The memory store: nothing."""
        deadline = time.monotonic() + wait_seconds
        if self.dialect == "postgres":
            assert isinstance(self._datastore, PostgresDatastore)
            return _purge_postgres(self._datastore, table, deadline)
        if not isinstance(self._datastore, SQLiteDatastore):
            return True
        while True:
            with self._datastore.get_connection(commit=True) as conn:
                cursor = conn.cursor()
                cursor.execute("PRAGMA secure_delete = ON")
                cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
                row = cursor.fetchone()
                busy = row[0] if row else 0
            if not busy:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)

    def create(self, *statements: str) -> None:
        """Create tables and indexes (statements use IF NOT EXISTS) in one transaction."""
        with self.transaction() as curs:
            for statement in statements:
                curs.execute(statement)


def _purge_postgres(datastore: PostgresDatastore, table: str, deadline: float) -> bool:
    with datastore.get_connection() as conn:
        horizon = conn.execute("SELECT pg_current_xact_id()::text").fetchone()
        assert horizon is not None
        xid = int(next(iter(horizon.values())) if isinstance(horizon, dict) else horizon[0])
        older = (
            "SELECT count(*) AS n FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid() AND ((backend_xmin IS NOT NULL"
            " AND age(backend_xmin) >= age(%s::text::xid)) OR (backend_xid IS NOT NULL"
            " AND age(backend_xid) >= age(%s::text::xid)))"
        )
        epoch_xid = str(xid % 2**32)
        while True:
            row = conn.execute(older, (epoch_xid, epoch_xid)).fetchone()
            count = int(row["n"] if isinstance(row, dict) else row[0])  # type: ignore[index]
            if count == 0:
                break
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        left = max(deadline - time.monotonic(), 0.1)
        try:
            conn.execute(f"SET lock_timeout = '{int(left * 1000)}ms'")
            conn.execute(f"VACUUM FULL {table}")
        except Exception as error:  # the lock was not had in time
            if "lock timeout" not in str(error).lower():
                raise
            return False
        finally:
            conn.execute("RESET lock_timeout")
    return True


def discard_broken_connections(datastore: PostgresDatastore) -> None:
    """Make every connection the datastore hands out (to the library and to ``Database``)
    have the pool check its idle connections when it turns out broken, so that a retry
    gets a working one instead of the next dead one (after a restart, all are dead)."""
    if getattr(datastore, "_yishi_discards_broken", False):
        return
    get_connection: Callable[[], AbstractContextManager[Any]] = datastore.get_connection

    @contextmanager
    def checked_connection() -> Iterator[Any]:
        conn = None
        try:
            with get_connection() as conn:
                yield conn
        except (InterfaceError, OperationalError):
            if conn is not None and conn.broken:
                datastore.pool.check()
            raise

    datastore.get_connection = checked_connection  # type: ignore[method-assign]
    datastore._yishi_discards_broken = True  # type: ignore[attr-defined]


def _as_tuple(row: Any) -> tuple[Any, ...]:
    """PostgreSQL rows come from the library's pool as dicts; SQLite rows as sqlite3.Row."""
    return tuple(row.values()) if isinstance(row, dict) else tuple(row)


def _returns_rows(sql: str) -> bool:
    head = sql.lstrip().split(None, 1)[0].upper()
    return head in {"SELECT", "WITH", "VALUES"} or " RETURNING " in sql.upper()
