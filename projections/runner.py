"""The runner: feeds the global log to the folds and persists each batch (投影运行器).

One batch is: read up to ``batch_size`` notifications after the tracked position, lock the
tracking rows in a transaction, check that nobody moved the position meanwhile, load the
facts of the cases the batch touches, fold the events, write the changed rows, the audit
rows and the new position, commit. A crash anywhere before the commit leaves the previous
batch's state, so every event is applied exactly once.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.application import Cases
from domain.case import Case
from projections import store
from projections.fold import AuditRow, CaseFacts, apply_event, audit_row

DEFAULT_BATCH = 2000
#: Seconds to sleep inside each batch's transaction before it commits (tests of crashes).
SLOWDOWN_ENV = "YISHI_PROJECTION_SLOWDOWN"


@dataclass(frozen=True)
class BatchResult:
    generation: int
    events: int
    position: int


class Runner:
    """Processes the log into one generation (the current one, unless told which).

    ``keep_facts`` keeps every case's facts in memory between batches and never reads them
    back: only for a runner that owns a fresh generation from position 0 (a rebuild).
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
        self._memory: dict[str, CaseFacts] = {}
        self._slowdown = float(os.environ.get(SLOWDOWN_ENV, "0") or 0)
        store.ensure_base(self.db)

    def _target(self) -> int:
        if self.generation is not None:
            return self.generation
        return store.current_generation(self.db)

    def run_batch(self) -> BatchResult:
        """Process one batch after the tracked position; ``events`` is 0 at the head."""
        generation = self._target()
        _gen, known = store.positions(self.db, generation)
        start = min(known.values(), default=0)
        notifications = self.cases.recorder.select_notifications(
            start=start + 1, limit=self.batch_size
        )
        if not notifications:
            return BatchResult(generation, 0, start)
        decoded = [
            (n.id, self.cases.mapper.to_domain_event(n)) for n in notifications
        ]
        with self.db.transaction() as cur:
            locked = store.lock_positions(self.db, cur, generation)
            if min(locked.values(), default=0) != start:
                # Another runner got there first: nothing written, try again from its position.
                return BatchResult(generation, 0, min(locked.values(), default=0))
            facts, audit = self._fold(cur, generation, decoded)
            position = notifications[-1].id
            store.write_batch(self.db, cur, generation, facts, audit, position)
            if self._slowdown:
                time.sleep(self._slowdown)
        return BatchResult(generation, len(notifications), position)

    def _fold(
        self, cur: Any, generation: int, decoded: Sequence[tuple[int, Any]]
    ) -> tuple[list[CaseFacts], list[AuditRow]]:
        ids = {str(e.originator_id) for _p, e in decoded if isinstance(e, Case.Event)}
        if self.keep_facts:
            known = {i: self._memory[i] for i in ids if i in self._memory}
        else:
            known = store.load_facts(self.db, cur, generation, ids)
        limits = self.cases.limits
        changed: dict[str, CaseFacts] = {}
        audit: list[AuditRow] = []
        for position, event in decoded:
            if not isinstance(event, Case.Event):
                continue
            case_id = str(event.originator_id)
            facts = apply_event(known.get(case_id), event, position, limits)
            known[case_id] = facts
            changed[case_id] = facts
            audit.append(audit_row(event, position, facts))
        if self.keep_facts:
            self._memory.update(changed)
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
