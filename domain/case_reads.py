"""Reading cases from the log (案件读取): states, histories, positions and verification.

``CaseReads`` is a part of the application service (domain/application.py, ``Cases``):
the case now, at a version or at a time (scope-checked for a reader), its history with
global positions, a replay with the state after each event, the reporter's contact, and
the hash chain recomputed from the stored bytes (docs/adr/0004-hash-chain.md), snapshots
included. ``StoredCaseEvent`` is one event as auditors and clients read it.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.popo import POPOApplicationRecorder
from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.sqlite import SQLiteApplicationRecorder
from eventsourcing.utils import get_topic

from domain.case import Case, event_type_of
from domain.errors import CaseNotFound, OutOfScope
from domain.model import Actor
from domain.privacy import unseal
from domain.verification import ChainReport, ChainWalker, stored_rows

if TYPE_CHECKING:
    from eventsourcing.application import Repository
    from eventsourcing.persistence import ApplicationRecorder, EventStore

    from domain.directory import Directory
    from domain.privacy import SubjectKeys
    from domain.storage import Database


@dataclass(frozen=True)
class StoredCaseEvent:
    """One event of a case as auditors and clients read it."""

    case_id: UUID
    version: int
    type: str
    data: dict[str, Any]
    actor_id: str
    actor_role: str
    step_before: str | None
    step_after: str
    recorded_at: datetime
    prev_hash: str
    hash: str
    position: int | None

    @classmethod
    def of(cls, event: Case.Event, position: int | None) -> StoredCaseEvent:
        return cls(
            case_id=event.originator_id,
            version=event.originator_version,
            type=event_type_of(event),
            data=event.data,
            actor_id=event.actor_id,
            actor_role=event.actor_role,
            step_before=event.step_before,
            step_after=event.step_after,
            recorded_at=event.timestamp,
            prev_hash=event.prev_hash,
            hash=event.hash,
            position=position,
        )


class CaseReads:
    """The reads of ``Cases``: what the application service answers without deciding."""

    if TYPE_CHECKING:
        repository: Repository[UUID]
        recorder: ApplicationRecorder
        snapshots: EventStore[UUID] | None
        snapshotting_intervals: ClassVar[dict[type[Any], int]]
        directory: Directory
        keys: SubjectKeys
        db: Database

        def _case_events(self, case_id: UUID, up_to: int | None = None
                         ) -> Iterator[Case.Event]: ...

    def get_case(
        self,
        case_id: UUID,
        version: int | None = None,
        as_of: datetime | None = None,
        reader: Actor | None = None,
    ) -> Case:
        """The case now, at a version, or as it was at a time; scope-checked for a reader."""
        if as_of is not None:
            versions = [
                e.originator_version for e in self._case_events(case_id) if e.timestamp <= as_of
            ]
            if not versions:
                raise CaseNotFound(case_id)
            version = max(versions) if version is None else min(version, max(versions))
        try:
            case: object = self.repository.get(case_id, version=version)
        except AggregateNotFoundError:
            raise CaseNotFound(case_id) from None
        if not isinstance(case, Case):
            raise CaseNotFound(case_id)
        if reader is not None and not self.directory.resolve(reader).covers(
            case.compound_id, case.community_id
        ):
            raise OutOfScope(case_id)
        return case

    def history(self, case_id: UUID, up_to: int | None = None) -> list[StoredCaseEvent]:
        """Every event of the case in order, with its global position (what auditors replay)."""
        positions = self.positions(case_id)
        events = [
            StoredCaseEvent.of(e, positions.get(e.originator_version))
            for e in self._case_events(case_id, up_to)
        ]
        if not events:
            raise CaseNotFound(case_id)
        return events

    def replay(self, case_id: UUID, up_to: int | None = None) -> list[tuple[StoredCaseEvent, Case]]:
        """Each event with the state right after it, folded from the events (no snapshot)."""
        result: list[tuple[StoredCaseEvent, Case]] = []
        case: Case | None = None
        positions = self.positions(case_id)
        for event in self._case_events(case_id, up_to):
            case = event.mutate(case)
            assert case is not None
            result.append(
                (StoredCaseEvent.of(event, positions.get(event.originator_version)), _copy(case))
            )
        if not result:
            raise CaseNotFound(case_id)
        return result

    def reporter_of(self, case: Case) -> dict[str, Any] | None:
        """The reporter's contact in plain text, ``{"erased": True}``, or None when none."""
        if case.reporter is None:
            return None
        contact = unseal(case.reporter, self.keys.get(case.reporter["subject_id"]))
        return contact if contact is not None else {"erased": True}

    def case_ids(self) -> Iterator[UUID]:
        """Every case id, in the order the cases were reported."""
        topic = get_topic(Case.ProblemReported)
        start = 1
        while True:
            page = self.recorder.select_notifications(start=start, limit=1000, topics=[topic])
            if not page:
                return
            for notification in page:
                yield UUID(str(notification.originator_id))
            start = page[-1].id + 1

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def positions(self, case_id: UUID) -> dict[int, int]:
        """Global log position of each of the case's events, by version."""
        recorder = self.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            rows = self.db.execute(
                f"SELECT originator_version, notification_id FROM "
                f"{self.db.table(recorder.events_table_name)} WHERE originator_id = %s",
                (case_id,),
            )
        elif isinstance(recorder, SQLiteApplicationRecorder):
            rows = self.db.execute(
                f"SELECT originator_version, rowid FROM {recorder.events_table_name}"
                " WHERE originator_id = %s",
                (case_id.hex,),
            )
        elif isinstance(recorder, POPOApplicationRecorder):
            index = recorder._stored_events_index.get(str(case_id), {})
            rows = [(version, i + 1) for version, i in index.items()]
        else:  # pragma: no cover - no other recorders are configured
            rows = []
        return {int(version): int(position) for version, position in rows}

    def verify(self, case_id: UUID) -> ChainReport:
        """Recompute the case's hash chain from the stored bytes (防篡改校验)."""
        stored = self.recorder.select_events(case_id)
        if not stored:
            raise CaseNotFound(case_id)
        walker = ChainWalker()
        for row in stored:
            walker.feed(case_id, row.originator_version, row.topic, row.state)
        return self._with_snapshots(walker.report(case_id))

    def verify_all(self, page_size: int = 10_000) -> Iterator[ChainReport]:
        """Every case's chain, from one ordered scan of the whole log (raw rows, in pages)."""
        walker = ChainWalker()
        for row in stored_rows(self.recorder, page_size):
            walker.feed(*row)
        for report in walker.reports():
            yield self._with_snapshots(report)

    def _with_snapshots(self, report: ChainReport) -> ChainReport:
        if report.valid and report.events >= min(self.snapshotting_intervals.values()):
            return self._verify_snapshots(report)
        return report

    def _verify_snapshots(self, report: ChainReport) -> ChainReport:
        """Snapshots shortcut reads: each must equal the fold of the events up to it."""
        assert self.snapshots is not None
        try:
            snapshots: dict[int, Any] = {
                s.originator_version: s for s in self.snapshots.get(report.case_id)
            }
        except Exception as error:
            return replace(report, valid=False, reason=f"a snapshot cannot be read: {error}")
        case: Case | None = None
        for event in self._case_events(report.case_id):
            case = event.mutate(case)
            snapshot = snapshots.pop(event.originator_version, None)
            if snapshot is not None and vars(snapshot.mutate(None)) != vars(case):
                return replace(
                    report,
                    valid=False,
                    broken_at=event.originator_version,
                    reason="the snapshot at this version differs from the events",
                )
        return report


def _copy(case: Case) -> Case:
    return copy.deepcopy(case)
