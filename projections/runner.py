"""The runner: feeds the global log to the folds and persists each batch (投影运行器).

One batch is: read up to ``batch_size`` notifications after the tracked position, lock the
tracking rows in a transaction, check that nobody moved the position meanwhile, load the
facts of the cases the batch touches, fold the events, write the changed rows, the audit
rows and the new position, commit. A crash anywhere before the commit leaves the previous
batch's state, so every event is applied exactly once.
"""

from __future__ import annotations

import json
import os
import time
from collections import OrderedDict
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.postgres import PostgresApplicationRecorder

from domain.application import Cases
from domain.case import Case
from projections import migrate, store
from projections.fold import (
    AuditRow,
    CaseFacts,
    EventView,
    apply_event,
    audit_row,
    joined_case,
)

#: The catalogue name of each case event, by its stored topic (the topics are explicit).
TOPIC_NAMES: dict[str, str] = {
    getattr(cls, "TOPIC"): name for name, cls in Case.EVENT_CLASSES.items()  # noqa: B009
}

DEFAULT_BATCH = 2000
#: How many cases' facts a rebuild keeps in memory (the most recently changed); the others
#: are read back from the generation's table when an event of theirs comes, so a rebuild's
#: memory does not grow with the log (about 4-5 KB per case kept).
KEEP_FACTS_MAX = 20_000
#: Seconds to sleep inside each batch's transaction before it commits (tests of crashes).
SLOWDOWN_ENV = "YISHI_PROJECTION_SLOWDOWN"


#: A batch as read: the notifications, and the case events among them, decoded.
_Read = tuple[list[Notification], list[tuple[int, EventView]]]


@dataclass(frozen=True)
class BatchResult:
    generation: int
    events: int
    position: int


class Runner:
    """Processes the log into one generation (the current one, unless told which).

    ``keep_facts`` keeps the facts of the ``KEEP_FACTS_MAX`` most recently changed cases in
    memory between batches and reads the others back, and leaves the figure cells to the
    rebuild to build once at the end (``write_cells``): only for a runner that owns a fresh
    generation from position 0 (a rebuild), so that what it keeps is what it wrote.
    """

    def __init__(
        self,
        cases: Cases,
        *,
        batch_size: int = DEFAULT_BATCH,
        generation: int | None = None,
        keep_facts: bool = False,
    ) -> None:
        self.cases = cases
        self.db = cases.db
        self.batch_size = batch_size
        self.generation = generation
        self.keep_facts = keep_facts
        self._memory: OrderedDict[str, CaseFacts] = OrderedDict()
        #: False while a rebuild defers the figure cells (store.build_cells at the end).
        self.write_cells = not keep_facts
        self._slowdown = float(os.environ.get(SLOWDOWN_ENV, "0") or 0)
        self._executor: ThreadPoolExecutor | None = None
        self._ahead: tuple[int, Future[_Read]] | None = None
        store.ensure_base(self.db)
        # A generation projected under the old support rule is recounted before any batch.
        migrate.recount_support(cases, self._target())

    def facts_in_memory(self) -> dict[str, CaseFacts]:
        """The facts a rebuild keeps in memory (as written), by case id."""
        return dict(self._memory)

    def _pool(self) -> ThreadPoolExecutor:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(1, thread_name_prefix="yishi-projection-read")
        return self._executor

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None
        self._ahead = None

    def _read(self, after: int) -> _Read:
        """The next notifications after ``after``, and the case events among them, decoded."""
        recorder = self.cases.recorder
        if isinstance(recorder, PostgresApplicationRecorder):
            # Plain tuples straight from the events table: the library's rows cost more.
            with self.db.transaction() as cur:
                rows = cur.execute(
                    "SELECT notification_id, originator_id, originator_version, topic, state"
                    f" FROM {self.db.table(recorder.events_table_name)}"
                    " WHERE notification_id > %s ORDER BY notification_id LIMIT %s",
                    (after, self.batch_size),
                ).fetchall()
            notifications = [
                Notification(id=r[0], originator_id=r[1], originator_version=r[2], topic=r[3],
                             state=bytes(r[4]))
                for r in rows
            ]
        else:
            notifications = list(recorder.select_notifications(
                start=after + 1, limit=self.batch_size
            ))
        return notifications, decode(self.cases, notifications)

    def _target(self) -> int:
        if self.generation is not None:
            return self.generation
        return store.current_generation(self.db)

    def run_batch(self) -> BatchResult:
        """Process one batch after the tracked position; ``events`` is 0 at the head."""
        generation = self._target()
        _gen, known = store.positions(self.db, generation)
        start = min(known.values(), default=0)
        if self._ahead is not None and self._ahead[0] == start:
            notifications, decoded = self._ahead[1].result()
        else:
            notifications, decoded = self._read(start)
        self._ahead = None
        if not notifications:
            return BatchResult(generation, 0, start)
        if self.keep_facts:
            # Nobody else moves this generation: read the next batch while this one is written.
            self._ahead = (notifications[-1].id, self._pool().submit(self._read,
                                                                      notifications[-1].id))
        with self.db.transaction() as cur:
            locked = store.lock_positions(self.db, cur, generation)
            if min(locked.values(), default=0) != start:
                # Another runner got there first: nothing written, try again from its position.
                return BatchResult(generation, 0, min(locked.values(), default=0))
            facts, audit = self._fold(cur, generation, decoded)
            position = notifications[-1].id
            store.write_batch(self.db, cur, generation, facts, audit, position,
                              cells=self.write_cells)
            if self._slowdown:
                time.sleep(self._slowdown)
        return BatchResult(generation, len(notifications), position)

    def _fold(
        self, cur: Any, generation: int, decoded: Sequence[tuple[int, EventView]]
    ) -> tuple[list[CaseFacts], list[AuditRow]]:
        ids = {e.originator_id for _p, e in decoded}
        if self.keep_facts:
            known = {i: self._memory[i] for i in ids if i in self._memory}
            new = {e.originator_id for _p, e in decoded if e.originator_version == 1}
            if evicted := ids - known.keys() - new:
                known.update(store.load_facts(self.db, cur, generation, evicted))
        else:
            known = store.load_facts(self.db, cur, generation, ids)
        # Merged duplicates named by ReportMerged events stored without their count.
        joined_ids = {j for _p, e in decoded if (j := joined_case(e)) is not None}
        if missing := joined_ids - known.keys():
            if self.keep_facts:
                known.update({i: self._memory[i] for i in missing if i in self._memory})
                missing -= known.keys()
            known.update(store.load_facts(self.db, cur, generation, missing))
        limits = self.cases.limits
        changed: dict[str, CaseFacts] = {}
        audit: list[AuditRow] = []
        for position, event in decoded:
            case_id = event.originator_id
            joined = known.get(j) if (j := joined_case(event)) is not None else None
            facts = apply_event(known.get(case_id), event, position, limits, joined)
            known[case_id] = facts
            changed[case_id] = facts
            audit.append(audit_row(event, position, facts))
        if self.keep_facts:
            for case_id, facts in changed.items():
                self._memory[case_id] = facts
                self._memory.move_to_end(case_id)
            while len(self._memory) > KEEP_FACTS_MAX:
                self._memory.popitem(last=False)
        return list(changed.values()), audit

    def catch_up(self, until: int | None = None) -> int:
        """Process batches until the head seen at the start (or ``until``); events processed."""
        head = self.cases.head_position() if until is None else until
        total = 0
        last = -1
        while True:
            result = self.run_batch()
            total += result.events
            if result.position >= head or (result.events == 0 and result.position == last):
                return total
            last = result.position


def _loads(stored: bytes, transcoder: Any) -> dict[str, Any]:
    """The stored JSON of a case event: plain ``json.loads`` plus its one typed field.

    Case-event data holds only plain JSON values (the catalogue normalises times and ids to
    strings); the library's transcoder wraps only the timestamp. Anything else goes through
    the transcoder itself.
    """
    state: dict[str, Any] = json.loads(stored)
    stamp = state.get("timestamp")
    if isinstance(stamp, dict) and stamp.get("_type_") == "datetime_iso" and not any(
        isinstance(v, dict) and "_type_" in v for v in state["data"].values()
    ):
        state["timestamp"] = datetime.fromisoformat(stamp["_data_"])
        return state
    decoded: dict[str, Any] = transcoder.decode(stored)
    return decoded


def decode(cases: Cases, notifications: Sequence[Notification]) -> list[tuple[int, EventView]]:
    """The case events among the notifications, as the folds read them.

    Without a cipher or compressor the stored JSON is decoded directly by the library's
    transcoder, sparing the construction of domain-event objects (the rebuild's hot path);
    otherwise, and for any topic not of a case event, the library's mapper decodes.
    """
    mapper = cases.mapper
    direct = mapper.cipher is None and mapper.compressor is None
    transcoder = mapper.transcoder
    views: list[tuple[int, EventView]] = []
    for n in notifications:
        name = TOPIC_NAMES.get(n.topic) if direct else None
        if name is not None:
            state = _loads(n.state, transcoder)
            originator = n.originator_id
            if not isinstance(originator, UUID):
                originator = UUID(str(originator))
            views.append((n.id, EventView(
                type=name,
                originator_id=str(originator),
                originator_version=n.originator_version,
                timestamp=state["timestamp"],
                actor_id=state["actor_id"],
                actor_role=state["actor_role"],
                step_before=state["step_before"],
                step_after=state["step_after"],
                data=state["data"],
                prev_hash=state["prev_hash"],
                hash=state["hash"],
            )))
            continue
        event = mapper.to_domain_event(n)
        if isinstance(event, Case.Event):
            views.append((n.id, EventView.of(event)))
    return views
