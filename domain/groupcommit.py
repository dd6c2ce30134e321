"""Group commit (成组提交): concurrent commands share one transaction.

On PostgreSQL every ``save()`` takes the events table's lock, so writers queue one behind
the other and each pays a whole transaction (lock, NOTIFY, insert, commit). The
``GroupCommitter`` has a single writer thread. Callers hand it a *unit* (the events of one
command: one case, or the two cases of a merge) and block on its future; the writer takes
every unit waiting, waits up to ``max_wait`` seconds for more while other commands are still
being decided, and records them all in ONE transaction. See docs/adr/0030-group-commit.md.

Rules that keep the semantics of one save per command:

- A unit is atomic: its events are in the same transaction, whatever else is in it.
- Two units of the same aggregate are never in one batch; the later one waits for the next
  batch, and fails at once (``IntegrityError``, as the store would say) if the batch just
  committed already took its version.
- If a batch fails with ``IntegrityError`` (one unit's version was taken by another
  process), each unit of the batch is recorded alone: only the conflicting one fails.
- Any other error fails every unit of the batch with that error (the store is down).
- Alone, a caller pays nothing: when no batch is being written, nothing is queued and no
  other command is being decided, it records its unit itself, in its own thread.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError, Recording

#: Records the events of a processing event in one transaction (``Application._record``).
Record = Callable[[ProcessingEvent[Any]], list[Recording[Any]]]


@dataclass
class Unit:
    """The events of one command, recorded atomically; the caller waits on ``future``."""

    processing_event: ProcessingEvent[Any]
    future: Future[list[Recording[Any]]] = field(default_factory=Future)

    @property
    def versions(self) -> dict[Any, int]:
        """The lowest new version of each aggregate the unit writes."""
        lowest: dict[Any, int] = {}
        for event in self.processing_event.events:
            v = event.originator_version
            key = event.originator_id
            if key not in lowest or v < lowest[key]:
                lowest[key] = v
        return lowest


@dataclass
class Stats:
    submitted: int = 0
    inline: int = 0
    batches: int = 0
    units: int = 0
    fallbacks: int = 0
    largest: int = 0


class GroupCommitter:
    """One writer thread that records the units of many callers per transaction."""

    def __init__(self, record: Record, *, max_batch: int = 64, max_wait: float = 0.002) -> None:
        if max_batch < 1 or max_wait < 0:
            raise ValueError("max_batch must be at least 1 and max_wait not negative")
        self._record = record
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.stats = Stats()
        self._queue: deque[Unit] = deque()
        self._cond = threading.Condition()
        self._deciding = 0
        self._busy = False  # a batch (or an inline unit) is being recorded
        #: What the writer is waiting for, so that only the events it needs wake it (each
        #: needless wake-up costs the GIL): "work", "busy" (an inline unit) or "deciders".
        self._waiting_for: str | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="yishi-group-commit", daemon=True)
        self._thread.start()

    # Callers -----------------------------------------------------------------------------

    @contextmanager
    def deciding(self) -> Iterator[None]:
        """Wrap the load-and-decide of a command: the writer waits for it (up to max_wait)
        before committing, so concurrent commands land in the same batch."""
        with self._cond:
            self._deciding += 1
        try:
            yield
        finally:
            with self._cond:
                self._deciding -= 1
                if self._deciding == 0 and self._waiting_for == "deciders":
                    self._cond.notify_all()

    def commit(self, processing_event: ProcessingEvent[Any]) -> list[Recording[Any]]:
        """Record the unit's events (atomically, with others'); its recordings, in order."""
        unit = Unit(processing_event)
        with self._cond:
            if self._closed:
                raise RuntimeError("the group committer is closed")
            self.stats.submitted += 1
            inline = not self._busy and not self._queue and self._deciding == 0
            if inline:
                self._busy = True
                self.stats.inline += 1
            else:
                self._queue.append(unit)
                if self._waiting_for is not None:
                    self._cond.notify_all()
        if inline:  # nobody to share a transaction with: no hand-over to the writer
            try:
                self._commit_alone(unit)
            finally:
                with self._cond:
                    self._busy = False
                    if self._waiting_for == "busy":
                        self._cond.notify_all()
        return unit.future.result()

    def close(self, timeout: float = 10.0) -> None:
        """Commit what is queued, then stop the writer thread."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        self._thread.join(timeout)

    # The writer --------------------------------------------------------------------------

    def _run(self) -> None:
        deferred: list[Unit] = []
        committed: dict[Any, int] = {}
        while True:
            batch = self._collect(deferred)
            if batch is None:
                return
            deferred = []
            taken: set[Any] = set()
            ready: list[Unit] = []
            for unit in batch:
                versions = unit.versions
                if any(committed.get(key, 0) >= v for key, v in versions.items()):
                    # The previous batch took this version: the store would refuse it.
                    unit.future.set_exception(IntegrityError("version already recorded"))
                elif taken.isdisjoint(versions):
                    taken.update(versions)
                    ready.append(unit)
                else:
                    deferred.append(unit)  # same aggregate as an earlier unit: next batch
            try:
                committed = self._commit(ready) if ready else {}
            finally:
                with self._cond:
                    self._busy = False

    def _collect(self, deferred: list[Unit]) -> list[Unit] | None:
        """The next batch: the deferred units, what is queued, and what arrives while
        commands are still being decided (up to max_wait). None when closed and empty."""
        with self._cond:
            while self._busy or (not self._queue and not deferred):
                if self._closed and not self._busy and not self._queue and not deferred:
                    return None
                self._waiting_for = "busy" if self._busy else "work"
                self._cond.wait()
            self._waiting_for = None
            self._busy = True
            batch = deferred
            deadline = time.monotonic() + self.max_wait
            while True:
                while self._queue and len(batch) < self.max_batch:
                    batch.append(self._queue.popleft())
                if len(batch) >= self.max_batch or self._closed or self._deciding == 0:
                    return batch
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return batch
                self._waiting_for = "deciders"
                self._cond.wait(remaining)
                self._waiting_for = None

    def _commit(self, units: list[Unit]) -> dict[Any, int]:
        """Record the units in one transaction; alone each if one of them conflicts.
        Returns the newest version written of each aggregate."""
        self.stats.batches += 1
        self.stats.units += len(units)
        self.stats.largest = max(self.stats.largest, len(units))
        if len(units) == 1:
            return self._commit_alone(units[0])
        combined: ProcessingEvent[Any] = ProcessingEvent()
        commands: list[Any] = []
        for unit in units:
            combined.events.extend(unit.processing_event.events)
            combined.aggregates.update(unit.processing_event.aggregates)
            commands.extend(unit.processing_event.saved_kwargs.get("commands", ()))
        combined.saved_kwargs["commands"] = commands  # each unit's command row, same transaction
        try:
            recordings = self._record(combined)
        except IntegrityError:
            self.stats.fallbacks += 1
            written: dict[Any, int] = {}
            for unit in units:
                written.update(self._commit_alone(unit))
            return written
        except BaseException as error:
            for unit in units:
                unit.future.set_exception(error)
            return {}
        start = 0
        for unit in units:
            end = start + len(unit.processing_event.events)
            unit.future.set_result(recordings[start:end])
            start = end
        return _newest(recordings)

    def _commit_alone(self, unit: Unit) -> dict[Any, int]:
        try:
            recordings = self._record(unit.processing_event)
        except BaseException as error:
            unit.future.set_exception(error)
            return {}
        unit.future.set_result(recordings)
        return _newest(recordings)


def _newest(recordings: list[Recording[Any]]) -> dict[Any, int]:
    newest: dict[Any, int] = {}
    for recording in recordings:
        event = recording.domain_event
        newest[event.originator_id] = max(
            newest.get(event.originator_id, 0), event.originator_version
        )
    return newest
