"""The application service (议事应用): commands, reads, verification and erasure.

``Cases`` is the eventsourcing ``Application``: it is the repository, the unit of work and
the event log. Each command loads the case, lets the aggregate decide, and saves; a
refused command raises a ``DomainError`` and saves nothing. The clock is a dependency, and
so are the time limits. Build one with ``open_cases()`` from a database URL.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, ClassVar
from uuid import UUID, uuid4

from eventsourcing.application import Application, ProcessingEvent
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording
from eventsourcing.postgres import PostgresDatastore
from eventsourcing.utils import get_topic

from domain.case import Case, merge_cases
from domain.case_reads import CaseReads, StoredCaseEvent
from domain.catalogue import validate_data
from domain.clock import Clock, SystemClock
from domain.commands import (
    Command,
    CommandLedger,
    KeyTaken,
    PostgresCommandRecorder,
    SQLiteCommandRecorder,
)
from domain.config import ConfigError, StoreSettings, parse_database_url
from domain.deadlines import TimeLimits
from domain.directory import Directory
from domain.erasure import SubjectErasure
from domain.errors import (
    InvalidEventData,
    VersionConflict,
)
from domain.fees.service import Fees
from domain.grids import compound_of, stamp_grid
from domain.groupcommit import GroupCommitter
from domain.model import Actor, Role
from domain.points import Points
from domain.privacy import SubjectKeys, seal
from domain.providers.attribution import order_provider
from domain.providers.service import Providers
from domain.steps import StepCommands
from domain.storage import Database

#: How often a command without If-Match is re-decided when another writer got in first.
#: Each round of a race has one winner, so n concurrent writers need up to n attempts.
_HEAD_RETRIES = 64

_YES = ("y", "yes", "true", "t", "on", "1")


@dataclass(frozen=True)
class Recorded:
    """What a successful command produced: the event and the case after it."""

    event: StoredCaseEvent
    case: Case


#: The recorder of each persistence module: the library's, writing command rows in the
#: events' transaction (domain/commands.py).
_RECORDERS = {
    "eventsourcing.postgres": PostgresCommandRecorder,
    "eventsourcing.sqlite": SQLiteCommandRecorder,
}


class Cases(StepCommands, SubjectErasure, CaseReads, Application[UUID]):
    """Every case stream of one store, and the commands of the eight-step method."""

    name = "yishi"
    #: Recently used cases stay in memory and are fast-forwarded from the store on each
    #: read, so a command reads only the events it has not seen (other processes' too).
    env: ClassVar[dict[str, str]] = {"AGGREGATE_CACHE_MAXSIZE": "2000"}
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Case: 100}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock | None = None,
        limits: TimeLimits | None = None,
        group_commit: bool | None = None,
        outcome_seconds: float | None = None,
    ) -> None:
        """``group_commit`` (default: the env's ``YISHI_GROUP_COMMIT``, off) records the
        commands of concurrent callers in shared transactions (docs/adr/0030).
        ``outcome_seconds`` (default: ``YISHI_OUTCOME_SECONDS``, else 10) is how long a
        command may spend learning its outcome after a fault (docs/adr/0040)."""
        env = dict(env or {})
        recorder = _RECORDERS.get(env.get("PERSISTENCE_MODULE", ""))
        if recorder is not None:
            env.setdefault("APPLICATION_RECORDER_TOPIC", get_topic(recorder))
        super().__init__(env)
        self.clock: Clock = clock or SystemClock()
        self.limits = limits or TimeLimits()
        datastore = getattr(self.recorder, "datastore", None)
        self.db = Database(datastore)
        self.keys = SubjectKeys(self.db)
        if isinstance(self.recorder, PostgresCommandRecorder | SQLiteCommandRecorder):
            self.recorder.commands_table = self.db.table("yishi_commands")
        self.commands = CommandLedger(
            self.db, self.mapper.to_stored_event,
            create=self.env.get("CREATE_TABLE", "y").strip().lower() in _YES,
        )
        self.outcome_seconds = (
            float(self.env.get("OUTCOME_SECONDS", "10"))
            if outcome_seconds is None else outcome_seconds
        )
        self.directory = Directory(self, self.keys, self.clock.now)
        # Participation points (积分制): participants and ledgers in the same store.
        self.points = Points(self, self.keys, self.clock.now, self.env)
        # Fee periods (收费期): their own streams in the same store (domain/fees, ADR 0110).
        self.fees = Fees(self, self.clock.now)
        self.providers = Providers(self, self.clock.now)
        if group_commit is None:
            group_commit = self.env.get("GROUP_COMMIT", "n").strip().lower() in _YES
        self.committer: GroupCommitter | None = None
        if group_commit:
            self.committer = GroupCommitter(
                self._record,
                max_batch=int(self.env.get("GROUP_COMMIT_MAX_BATCH", "64")),
                max_wait=float(self.env.get("GROUP_COMMIT_MAX_WAIT_MS", "2")) / 1000,
            )

    # Commands ---------------------------------------------------------------------------

    def report_problem(
        self,
        actor: Actor,
        data: Mapping[str, Any],
        case_id: UUID | None = None,
        command: Command | None = None,
    ) -> Recorded:
        """Report a problem and open a case in collect (收集问题). ``command`` identifies
        it across retries (domain/commands.py); a new one by default."""
        clean = validate_data("ProblemReported", data)
        # The directory decides where a case is filed: a registered compound, and its
        # community (a community in the body must be the directory's).
        clean["community_id"] = self.directory.filing(
            clean["compound_id"], clean.get("community_id")
        )
        actor = self.directory.resolve(actor)
        # Grid teams (issue 14): the reporting grid worker's grid, stamped (domain/grids.py).
        clean = stamp_grid("ProblemReported", clean, actor, clean["compound_id"],
                           compound_of(self.directory.view))
        contact = clean.pop("reporter", None)
        case_id = case_id or uuid4()
        now = self.clock.now()
        with self._deciding():
            # Decide first: a refused report (role, scope) must leave no subject key behind.
            case = Case.report(case_id, clean, actor, now)
            if contact is not None:
                subject = (
                    f"resident:{actor.id}" if actor.role is Role.RESIDENT else f"report:{case_id}"
                )
                sealed = seal(subject, self.keys.key_for(subject, now), contact)
                case = Case.report(case_id, clean, actor, now, sealed)
        return self._save(case, command, "case")

    def record(
        self,
        case_id: UUID,
        event_type: str,
        data: Mapping[str, Any],
        actor: Actor,
        expected_version: int | None = None,
        command: Command | None = None,
    ) -> Recorded:
        """Record one event on a case, if its step, the actor's role and scope allow it.

        With ``expected_version`` the append is conditional (If-Match): a case at another
        version raises VersionConflict. Without it the event goes on the head, re-decided
        against the newest state if another writer got in first.
        """
        if event_type == "ReportMerged" and isinstance(data, Mapping) and "reports" in data:
            raise InvalidEventData(event_type, {
                "reports": "is counted by the merge (CaseMerged), not given: a report joining"
                " directly counts one"})
        actor = self.directory.resolve(actor)
        if event_type == "CaseMerged":
            clean = validate_data(event_type, data)
            return self.merge_case(
                case_id, clean["into_case_id"], actor, clean.get("note"), expected_version, command
            )
        for _attempt in range(_HEAD_RETRIES):
            with self._deciding():
                case = self._load(case_id, actor, expected_version)
                now = self.clock.now()
                # Grid teams (issue 14): a collecting grid worker's grid (domain/grids.py).
                data = stamp_grid(event_type, data, actor, case.compound_id,
                                  compound_of(self.directory.view))
                if event_type == "ImplementationAssigned":  # its provider (issue 13)
                    data = self._stamped(case, data, now)
                case.record(event_type, data, actor, now, self._order_provider(case, actor))
            if event_type == "MeetingHeld":  # participation points: attendees of its compound
                held = case.pending_events[-1]
                assert isinstance(held, Case.Event)
                self.points.check_attendees(case.compound_id, held.data)
            try:
                return self._save(case, command, "event")
            except KeyTaken:
                raise
            except IntegrityError:
                if expected_version is not None:
                    raise VersionConflict(
                        case_id, expected_version, self._current_version(case_id)
                    ) from None
        raise VersionConflict(case_id, case.version - 1, self._current_version(case_id))

    # Providers (issue 13, docs/adr/0092-order-attribution.md) ---------------------------

    def _stamped(self, case: Case, data: Mapping[str, Any], now: datetime) -> dict[str, Any]:
        """The order's data with ``provider_code`` set from the directory; a body naming
        another provider is refused (``InvalidEventData``, 422)."""
        if not isinstance(data, Mapping):
            return data  # the aggregate refuses it
        role = data.get("assignee_role")
        charged = order_provider(self.directory.current(), case.compound_id,
                                 role if isinstance(role, str) else "", now)
        given = data.get("provider_code")
        if given is not None and given != charged:
            raise InvalidEventData("ImplementationAssigned", {
                "provider_code": "is set by the server from the directory: the order goes to "
                                 f"{charged or 'no provider'}"})
        return {**data, "provider_code": charged}

    def _order_provider(self, case: Case, actor: Actor) -> str | None:
        """For a provider's credential and an order from before orders were stamped: the
        provider the directory attributes it to now (None otherwise)."""
        if actor.provider is None or case.assignment is None or (
            "provider_code" in case.assignment
        ):
            return None
        dispatched = None
        for event in self._case_events(case.id):
            if type(event).__name__ == "ImplementationAssigned":
                dispatched = event.timestamp
        if dispatched is None:
            return None
        return order_provider(self.directory.current(), case.compound_id,
                              case.assignment["assignee_role"], dispatched)

    def merge_case(
        self,
        case_id: UUID,
        into_case_id: object,
        actor: Actor,
        note: str | None = None,
        expected_version: int | None = None,
        command: Command | None = None,
    ) -> Recorded:
        """Merge a duplicate case into the open case it repeats (合并), atomically."""
        validate_data("CaseMerged", {"into_case_id": into_case_id, "note": note})
        actor = self.directory.resolve(actor)
        target_id = UUID(str(into_case_id))
        for _attempt in range(_HEAD_RETRIES):
            with self._deciding():
                duplicate = self._load(case_id, actor, expected_version)
                target = self._load(target_id, actor, None)
                merge_cases(duplicate, target, actor, self.clock.now(), note)
            try:
                recordings = self._commit(duplicate, target, command=command, kind="event")
            except KeyTaken:
                raise
            except IntegrityError:
                if expected_version is not None:
                    raise VersionConflict(
                        case_id, expected_version, self._current_version(case_id)
                    ) from None
                continue
            event = next(r for r in recordings if r.domain_event.originator_id == case_id)
            assert isinstance(event.domain_event, Case.Event)
            return Recorded(
                StoredCaseEvent.of(event.domain_event, event.notification.id), duplicate
            )
        raise VersionConflict(case_id, duplicate.version - 1, self._current_version(case_id))

    # Internals --------------------------------------------------------------------------

    def _case_events(self, case_id: UUID, up_to: int | None = None) -> Iterator[Case.Event]:
        for event in self.events.get(case_id, lte=up_to):
            assert isinstance(event, Case.Event)
            yield event

    def _load(self, case_id: UUID, actor: Actor, expected_version: int | None) -> Case:
        case = self.get_case(case_id, reader=actor)
        if expected_version is not None and case.version != expected_version:
            raise VersionConflict(case_id, expected_version, case.version)
        return case

    def _save(self, case: Case, command: Command | None, kind: str) -> Recorded:
        recordings = self._commit(case, command=command, kind=kind)
        last = recordings[-1]
        assert isinstance(last.domain_event, Case.Event)
        return Recorded(StoredCaseEvent.of(last.domain_event, last.notification.id), case)

    def _commit(
        self, *cases: Case, command: Command | None, kind: str
    ) -> list[Recording[UUID]]:
        """Save the cases' new events atomically with the command's row, exactly once:
        alone, or in a group commit. The first case's new version answers the command."""
        first = cases[0]
        bound = replace(command or Command(), kind=kind, stream_id=first.id,
                        version=first.version)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        processing_event.collect_events(*cases, commands=[bound])
        if self.committer is None:
            recordings = self._record(processing_event)
        else:
            recordings = self.committer.commit(processing_event)
        # Nothing that can fail runs after the commit: a snapshot is a shortcut for reads,
        # and one that could not be written is written at a later version.
        with contextlib.suppress(Exception):
            self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def _record(self, processing_event: ProcessingEvent[UUID]) -> list[Recording[UUID]]:
        """Record the events and their command rows once, whatever fails on the way
        (``CommandLedger.record_once``)."""
        commands = processing_event.saved_kwargs.setdefault("commands", [])
        if not commands and processing_event.events:  # a plain save(): the directory's
            last = processing_event.events[-1]
            commands.append(Command(kind="stream", stream_id=last.originator_id,
                                    version=last.originator_version))
        if not isinstance(self.recorder, PostgresCommandRecorder | SQLiteCommandRecorder):
            processing_event.saved_kwargs.pop("commands", None)
            recordings = super()._record(processing_event)
            self.commands.record_memory(commands)
            return recordings
        return self.commands.record_once(
            processing_event, super()._record, self._position, self.outcome_seconds
        )

    def commit_stream(
        self, aggregate: Aggregate, *, command: Command | None, kind: str
    ) -> list[Recording[UUID]]:
        """Save the new events of a stream other than a case (a fee period) atomically
        with the command's row, exactly once, as ``_commit`` saves a case's."""
        return self._commit(aggregate, command=command, kind=kind)  # type: ignore[arg-type]

    def _position(self, case_id: UUID, version: int) -> int | None:
        return self.positions(case_id).get(version)

    def _deciding(self) -> AbstractContextManager[None]:
        """Tells the group committer that a command is on its way (it waits for it)."""
        return nullcontext() if self.committer is None else self.committer.deciding()

    def close(self) -> None:
        if self.committer is not None:
            self.committer.close()
        super().close()

    def _current_version(self, case_id: UUID) -> int:
        return max(
            (
                e.originator_version
                for e in self.recorder.select_events(case_id, desc=True, limit=1)
            ),
            default=0,
        )


def open_cases(
    url: str | None = None,
    *,
    clock: Clock | None = None,
    limits: TimeLimits | None = None,
    extra_env: Mapping[str, str] | None = None,
    group_commit: bool | None = None,
    outcome_seconds: float | None = None,
    create: bool = True,
) -> Cases:
    """The composition root: an application on the store the URL names (or the default).

    ``create=False`` creates no schema and no event table (for read-only use of a store
    known to exist: ``api.cli_store.open_existing`` checks that first)."""
    settings = parse_database_url(url)
    opening = contextlib.ExitStack()
    if settings.kind == "postgres" and create:
        opening = _ensure_schema(settings)
    env = {**settings.library_env, **({} if create else {"CREATE_TABLE": "n"}),
           **(extra_env or {})}
    try:
        return Cases(env, clock=clock, limits=limits, group_commit=group_commit,
                     outcome_seconds=outcome_seconds)
    except ConfigError:
        raise
    except Exception as error:
        raise ConfigError(
            f"cannot open the store at {settings.display}: {_first_line(error)}"
        ) from None
    finally:
        opening.close()


def _ensure_schema(settings: StoreSettings) -> contextlib.ExitStack:
    """Create the PostgreSQL schema if needed, failing fast with one clear line.

    Returns a lock on the store, held until the caller closes it: building the application
    runs the library's ``CREATE OR REPLACE FUNCTION`` and ``CREATE ... IF NOT EXISTS``,
    which fail ("tuple concurrently updated") when processes open one store at once.
    """
    env = settings.library_env
    datastore = PostgresDatastore(
        dbname=env["POSTGRES_DBNAME"],
        host=env["POSTGRES_HOST"],
        port=env["POSTGRES_PORT"],
        user=env["POSTGRES_USER"],
        password=env["POSTGRES_PASSWORD"],
        connect_timeout=float(env["POSTGRES_CONNECT_TIMEOUT"]),
        pool_open_timeout=3.0,
    )
    held = contextlib.ExitStack()
    held.callback(datastore.close)
    lock = "SELECT pg_advisory_xact_lock(hashtext(%s))", (f"yishi:{settings.schema}",)
    try:
        with datastore.transaction(commit=True) as curs:
            curs.execute(*lock)
            curs.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"')
        held.enter_context(datastore.transaction(commit=True)).execute(*lock)
    except Exception as error:
        held.close()
        raise ConfigError(
            f"cannot reach PostgreSQL at {settings.display}: {_first_line(error)}"
        ) from None
    return held


def _first_line(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__
