"""Exactly-once commands (恰好一次): a command's id commits with its events, or not at all.

Every command that records events carries a ``Command``: a fresh id, and for a request with
an ``Idempotency-Key`` its credential, key and request fingerprint. The recorders below
write one row per command into ``yishi_commands`` **in the same transaction as the
command's events**, under two unique constraints: the command id, and (credential, key).
So after any fault the store itself says what happened (docs/adr/0040-exactly-once.md):

- the row is there: the command was recorded, once, with exactly the events beside it;
- the row is not there and the transaction that tried has ended: nothing was recorded.

``record_once`` uses that to resolve an outcome the driver could not report (a connection
cut before or after COMMIT, PostgreSQL restarting, a lock timeout): it runs the *same*
insert again, never a newly decided one. If the first attempt had committed, the retry
hits the command id's constraint and the lookup finds it; if not, the retry records it.
The library's own blind retry of ``insert_events`` (up to ten attempts on connection
errors, each able to record the command again at the next version) is switched off here.
When the outcome cannot be learned within the caller's time, ``OutcomeUnknown`` is raised;
a retry with the same Idempotency-Key then finds the row, or records the command for the
first time.

A key taken by another command (two concurrent requests with the same key) makes the
loser's whole transaction fail on the (credential, key) constraint: ``KeyTaken`` carries
the winner's row, which the caller replays.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID, uuid4

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import (
    IntegrityError,
    InterfaceError,
    Notification,
    OperationalError,
    Recording,
    StoredEvent,
)
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder

from domain.storage import Database

TABLE = "yishi_commands"
#: The table of ADR 0010 (a claim before the append, the answer after it). Its stored
#: answers could hold personal data in plain text; it is dropped on open.
LEGACY_TABLE = "yishi_idempotency"

#: The HTTP-like status of a command that recorded events.
RECORDED = 201


@dataclass(frozen=True)
class Command:
    """One command as the store keys it: its id, and its Idempotency-Key if any.

    ``fingerprint`` is what makes two requests with the same key "the same request"
    (computed by the caller; see the HTTP layer). ``stream_id`` and ``version`` name the
    event whose recording answers the command (the case and its new version); the
    application fills them in when it records.
    """

    id: UUID = field(default_factory=uuid4)
    credential_id: str | None = None
    key: str | None = None
    fingerprint: str | None = None
    kind: str = "event"
    stream_id: UUID | None = None
    version: int | None = None

    def row(self, now: float) -> tuple[Any, ...]:
        return (
            str(self.id), self.credential_id, self.key, self.fingerprint, self.kind,
            RECORDED, None if self.stream_id is None else str(self.stream_id), self.version,
            None, now,
        )


@dataclass(frozen=True)
class CommandRow:
    """What the store holds about a command: recorded events (``status`` 201, the stream
    and version of its answer) or a stored refusal (its status and problem body)."""

    command_id: UUID
    credential_id: str | None
    key: str | None
    fingerprint: str | None
    kind: str
    status: int
    stream_id: UUID | None
    version: int | None
    answer: dict[str, Any] | None


class OutcomeUnknown(Exception):
    """The store could not say within the time allowed whether the command was recorded.
    Nothing more will be written for this command id; a retry with the same key learns
    the outcome."""


class StoreUnavailable(Exception):
    """The store refused the command for a while (busy, locked, restarting), and it is
    known that nothing was recorded."""


class KeyTaken(Exception):
    """Another command holds this credential's Idempotency-Key: ``row`` is its record."""

    def __init__(self, row: CommandRow) -> None:
        super().__init__(f"the key {row.key!r} belongs to command {row.command_id}")
        self.row = row


_COLUMNS = (
    "command_id, credential_id, idem_key, fingerprint, kind, status, stream_id, version,"
    " answer, recorded_at"
)
_INSERT = f"INSERT INTO {{table}} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"


def _commands(kwargs: dict[str, Any]) -> Sequence[Command]:
    commands: Sequence[Command] = kwargs.pop("commands", ())
    return commands


class PostgresCommandRecorder(PostgresApplicationRecorder):
    """The library's PostgreSQL recorder, writing command rows in the events' transaction
    and without its blind retry of ``insert_events``."""

    commands_table = f'"public"."{TABLE}"'
    #: The library wraps this in ``@retry(InterfaceError, OperationalError)``: unwrapped,
    #: a connection error reaches ``record_once``, which resolves it by the command id.
    insert_events = PostgresApplicationRecorder.insert_events.__wrapped__

    def _insert_events(
        self, curs: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> None:
        # Before the library locks the events table and inserts: a second request with the
        # same key waits here for the first one's transaction, then fails on the key.
        commands = _commands(kwargs)
        super()._insert_events(curs, stored_events, **kwargs)
        now = time.time()
        for command in commands:
            curs.execute(_INSERT.format(table=self.commands_table), command.row(now))


class SQLiteCommandRecorder(SQLiteApplicationRecorder):
    """The library's SQLite recorder, writing command rows in the events' transaction."""

    commands_table = f'"{TABLE}"'

    def _insert_events(
        self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        commands = _commands(kwargs)
        ids = super()._insert_events(c, stored_events, **kwargs)
        now = time.time()
        for command in commands:
            c.execute(_INSERT.format(table=self.commands_table).replace("%s", "?"),
                      command.row(now))
        return ids


Record = Callable[[ProcessingEvent[Any]], list[Recording[Any]]]


class CommandLedger:
    """The ``yishi_commands`` table: looks commands up, and records them exactly once."""

    def __init__(
        self, db: Database, to_stored: Callable[[Any], StoredEvent], *, create: bool = True
    ) -> None:
        """``create=False`` (a read-only opening of a store) changes no table."""
        self._db = db
        self._to_stored = to_stored
        self.table = db.table(TABLE)
        if not create:
            return
        db.create(
            f"CREATE TABLE IF NOT EXISTS {self.table} ("
            " command_id text PRIMARY KEY,"
            " credential_id text,"
            " idem_key text,"
            " fingerprint text,"
            " kind text NOT NULL,"
            " status integer NOT NULL,"
            " stream_id text,"
            " version integer,"
            " answer text,"
            " recorded_at double precision NOT NULL,"
            " UNIQUE (credential_id, idem_key))",
            f"DROP TABLE IF EXISTS {db.table(LEGACY_TABLE)}",
        )

    # Looking up -------------------------------------------------------------------------

    def find(self, command_id: UUID) -> CommandRow | None:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM {self.table} WHERE command_id = %s", (str(command_id),)
        )
        return _row(rows[0]) if rows else None

    def find_key(self, credential_id: str, key: str) -> CommandRow | None:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM {self.table} WHERE credential_id = %s AND idem_key = %s",
            (credential_id, key),
        )
        return _row(rows[0]) if rows else None

    def store_refusal(self, command: Command, status: int, answer: dict[str, Any]) -> CommandRow:
        """Keep a keyed command's refusal so that a retry gets the same answer; if another
        command took the key meanwhile, its row (the one to replay) is returned."""
        self._db.execute(
            f"INSERT INTO {self.table} ({_COLUMNS}) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT DO NOTHING",
            (str(command.id), command.credential_id, command.key, command.fingerprint,
             command.kind, status, None, None, json.dumps(answer, ensure_ascii=False),
             time.time()),
        )
        assert command.credential_id is not None
        assert command.key is not None
        row = self.find_key(command.credential_id, command.key)
        assert row is not None
        return row

    def record_memory(self, commands: Sequence[Command]) -> None:
        """The in-memory store has no transaction shared with its events (and no faults):
        its command rows are written just after them."""
        now = time.time()
        with self._db.transaction() as curs:
            for command in commands:
                curs.execute(_INSERT.format(table=self.table), command.row(now))

    # Recording exactly once -------------------------------------------------------------

    def record_once(
        self,
        processing_event: ProcessingEvent[Any],
        record: Record,
        positions: Callable[[UUID, int], int | None],
        seconds: float,
    ) -> list[Recording[Any]]:
        """Record the processing event's events and command rows in one transaction,
        resolving any fault by the command ids; the recordings of the one time they were
        recorded. Raises IntegrityError (a genuine conflict: nothing was recorded),
        KeyTaken, OutcomeUnknown or StoreUnavailable."""
        commands: Sequence[Command] = processing_event.saved_kwargs.get("commands", ())
        deadline = time.monotonic() + seconds
        delay = 0.02
        last: Exception | None = None
        while time.monotonic() < deadline or last is None:
            try:
                try:
                    return record(processing_event)
                except IntegrityError:
                    if self._recorded(commands):
                        return self._recordings(processing_event, positions)
                    self._raise_if_key_taken(commands)
                    raise
            except (InterfaceError, OperationalError) as error:
                last = error
                time.sleep(min(delay, max(deadline - time.monotonic(), 0)))
                delay = min(delay * 2, 0.5)
        # Out of time: one last look decides between "recorded", "not recorded" and unknown.
        try:
            if self._recorded(commands):
                return self._recordings(processing_event, positions)
        except (InterfaceError, OperationalError):
            raise OutcomeUnknown(str(last)) from None
        if _is_known_failure(last):
            raise StoreUnavailable(str(last)) from None
        # The last attempt's connection broke: its transaction may be ending still. Whatever
        # it did is settled once its backend is gone, but not necessarily yet.
        raise OutcomeUnknown(str(last)) from None

    def _recorded(self, commands: Sequence[Command]) -> bool:
        if not commands:
            return False
        found = [self.find(command.id) is not None for command in commands]
        if any(found) and not all(found):  # pragma: no cover - one transaction holds all
            raise AssertionError("a transaction recorded only some of its commands")
        return all(found)

    def _raise_if_key_taken(self, commands: Sequence[Command]) -> None:
        for command in commands:
            if command.credential_id is None or command.key is None:
                continue
            row = self.find_key(command.credential_id, command.key)
            if row is not None and row.command_id != command.id:
                raise KeyTaken(row)

    def _recordings(
        self, processing_event: ProcessingEvent[Any], positions: Callable[[UUID, int], int | None]
    ) -> list[Recording[Any]]:
        """The recordings of events an earlier attempt recorded, with their positions."""
        recordings: list[Recording[Any]] = []
        for event in processing_event.events:
            stored = self._to_stored(event)
            position = positions(event.originator_id, event.originator_version)
            if position is None:  # pragma: no cover - the command row proves they are there
                raise AssertionError("a recorded command's event is missing")
            recordings.append(Recording(event, Notification(
                id=position, originator_id=stored.originator_id,
                originator_version=stored.originator_version, topic=stored.topic,
                state=stored.state,
            )))
        return recordings


def _is_known_failure(error: Exception | None) -> bool:
    """A failure that ended its transaction before COMMIT was sent: a lock or statement
    timeout, a database that refused the connection. Nothing was recorded by it."""
    cause = getattr(error, "__cause__", None) or error
    sqlstate = getattr(cause, "sqlstate", None)
    if sqlstate in {"55P03", "57014", "53300", "57P03"}:  # lock_timeout, cancel, too many, starting
        return True
    text = str(error).lower()
    return "database is locked" in text or "connection refused" in text


def _row(row: tuple[Any, ...]) -> CommandRow:
    command_id, credential_id, key, fingerprint, kind, status, stream_id, version, answer, _ = row
    return CommandRow(
        command_id=UUID(command_id),
        credential_id=credential_id,
        key=key,
        fingerprint=fingerprint,
        kind=kind,
        status=int(status),
        stream_id=None if stream_id is None else UUID(stream_id),
        version=None if version is None else int(version),
        answer=None if answer is None else json.loads(answer),
    )


__all__ = [
    "RECORDED",
    "Command",
    "CommandLedger",
    "CommandRow",
    "KeyTaken",
    "OutcomeUnknown",
    "PostgresCommandRecorder",
    "SQLiteCommandRecorder",
    "StoreUnavailable",
]
