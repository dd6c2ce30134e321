"""Running the projections: in a background thread, or following the log in a process.

``ProjectionService`` is what the HTTP server runs in-process (the embedded SQLite default
has no change notification, so it polls; it works the same on PostgreSQL). ``follow`` is
the loop of ``yishi projections run``: on PostgreSQL it LISTENs on the library's channel to
wake up early, and polls at a short interval in any case, so a lost NOTIFY costs at most
one interval. ``rebuild`` fills a fresh generation and switches the queries to it.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import psycopg
from psycopg.sql import SQL, Identifier

from domain.application import Cases
from projections import store
from projections.follower import FollowerThread
from projections.points_policy import PointsPolicy
from projections.providers import ProviderProjection
from projections.runner import DEFAULT_BATCH, Runner
from projections.tlog_service import LogStep

log = logging.getLogger(__name__)
#: Seconds between two log lines about a catch-up in progress.
REPORT_EVERY = 5.0


class ProjectionService(FollowerThread):
    """The read models of one application, kept up to date by a background thread."""

    name = "projections"

    def __init__(
        self, cases: Cases, *, batch_size: int = DEFAULT_BATCH, interval: float = 0.2
    ) -> None:
        super().__init__(interval=interval)
        self.cases = cases
        self.runner = Runner(cases, batch_size=batch_size)
        self.providers = ProviderProjection(cases, batch_size=batch_size)  # issue 13
        self._lock = threading.Lock()
        self._progress = threading.Condition()
        self._catching_up: tuple[float, int] | None = None  # (since, from position)
        self._reported = 0.0

    def stepped(self, processed: int) -> None:
        self._report(processed)

    def _report(self, processed: int) -> None:
        """Log how far a catch-up has come, every few seconds while behind, and once when
        it has caught up (what an operator watches after a restart or a rebuild)."""
        now = time.monotonic()
        if processed == 0:
            if self._catching_up is not None and self._reported > self._catching_up[0]:
                log.info("projections caught up at position %d", self.position())
            self._catching_up = None
            return
        if self._catching_up is None:  # quiet unless it takes longer than REPORT_EVERY
            self._catching_up = (now, self.position())
            self._reported = now
            return
        if now - max(self._reported, self._catching_up[0]) < REPORT_EVERY:
            return
        self._reported = now
        head = self.cases.head_position()
        position = self.position()
        since, start = self._catching_up
        rate = (position - start) / (now - since) if now > since else 0.0
        log.info("projections catching up: position %d of %d, %d behind (%.0f events/s)",
                 position, head, max(head - position, 0), rate)

    def step(self) -> int:
        with self._lock:
            result = self.runner.run_batch()
            self.providers.run_batch(result.position)
        with self._progress:
            self._progress.notify_all()
        return result.events

    def catch_up(self) -> int:
        """Process until the head seen now, in this thread; the number of events processed."""
        with self._lock:
            processed = self.runner.catch_up()
            self.providers.catch_up()
        with self._progress:
            self._progress.notify_all()
        return processed

    def position(self) -> int:
        """The lowest position of the read models this service keeps (the providers' too)."""
        _gen, known = store.positions(self.cases.db)
        return min(min(known.values(), default=0), self.providers.position())

    def status(self) -> dict[str, Any]:
        """Each projection's position, the log's head and the lag; the generation read."""
        generation, known = store.positions(self.cases.db)
        known = {**known, "providers": self.providers.position()}
        head = self.cases.head_position()
        return {
            "generation": generation,
            "head": head,
            "running": self.running,
            "error": self.last_error,
            "projections": {
                name: {"position": position, "head": head, "lag": max(head - position, 0)}
                for name, position in sorted(known.items())
            },
        }

    def wait_for(self, position: int, timeout: float = 5.0) -> bool:
        """Wait until every projection has processed ``position``; False on timeout."""
        deadline = time.monotonic() + timeout
        self.poke()
        while True:
            if self.position() >= position:
                return True
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            with self._progress:
                self._progress.wait(min(remaining, 0.05))


def follow(
    cases: Cases,
    *,
    batch_size: int = DEFAULT_BATCH,
    interval: float = 0.5,
    should_stop: Callable[[], bool] = lambda: False,
    exit_at_head: bool = False,
    on_batch: Callable[[int, int], None] | None = None,
) -> None:
    """Follow the log into the current generation until told to stop (or the head is reached).

    Database errors propagate: the caller turns them into one line and a non-zero exit,
    and a supervisor restarts the process, which resumes from its tracked position.
    """
    runner = Runner(cases, batch_size=batch_size)
    providers = ProviderProjection(cases, batch_size=batch_size)  # issue 13
    log_step = LogStep(cases)  # the verifiable log follows here too (tlog_service.py)
    points = PointsPolicy(cases)  # and the points policy (docs/adr/0101)
    listener = _listen(cases)
    try:
        while not should_stop():
            result = runner.run_batch()
            if on_batch is not None and result.events:
                on_batch(result.events, result.position)
            folded = providers.run_batch(result.position)
            leaves = log_step()
            awarded = points.run_batch()
            if result.events or leaves or awarded or folded:
                continue
            if exit_at_head and result.position >= cases.head_position():
                return
            _wait(listener, interval)
    finally:
        if listener is not None:
            with contextlib.suppress(Exception):
                listener.close()


def _listen(cases: Cases) -> Any:
    """A connection LISTENing on the library's channel (PostgreSQL), or None."""
    datastore = getattr(cases.recorder, "datastore", None)
    channel = getattr(cases.recorder, "channel_name", None)
    if cases.db.dialect != "postgres" or datastore is None or channel is None:
        return None
    params = {k: v for k, v in datastore.pool.kwargs.items() if k != "row_factory"}
    conn = psycopg.connect(**params, autocommit=True, connect_timeout=10)
    conn.execute(SQL("LISTEN {0}").format(Identifier(channel)))
    return conn


def _wait(listener: Any, interval: float) -> None:
    if listener is None:
        time.sleep(interval)
        return
    for _ in listener.notifies(timeout=interval, stop_after=1):
        pass


def rebuild(
    cases: Cases,
    *,
    batch_size: int = 5000,
    on_batch: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    """Rebuild every read model from the first event into a fresh generation, then switch.

    Queries keep reading the current generation meanwhile. When the new one has caught up
    with the head (checked with its tracking rows locked), the pointer switches in one
    transaction; events appended after that are the follower's, as for any generation.
    Generations older than the one replaced (and abandoned rebuilds) are dropped.
    """
    db = cases.db
    store.ensure_base(db)
    generation = store.new_generation(db, indexes=False)
    runner = Runner(cases, batch_size=batch_size, generation=generation, keep_facts=True)
    indexed = False
    started = time.perf_counter()
    events = 0
    while True:
        result = runner.run_batch()
        events += result.events
        if on_batch is not None and result.events:
            on_batch(result.events, result.position)
        if result.events == 0 or result.position >= cases.head_position():
            if not indexed:  # built once, in bulk, rather than row by row
                with db.transaction() as cur:
                    # The figure cells from the final facts, once per case; later batches
                    # (events appended meanwhile) update them as the follower does.
                    locked = store.lock_positions(db, cur, generation)
                    if store.has_cells(db, cur, generation):
                        store.build_cells(db, cur, generation, min(locked.values()),
                                          runner.facts_in_memory())
                    runner.write_cells = True
                    store.create_indexes(db, cur, generation)
                    if db.dialect == "postgres":
                        # Bulk-filled tables have no statistics yet: without them the
                        # planner guesses, and scans where an index would do (?overdue=true).
                        cur.execute(f"ANALYZE {store.cases_table(db, generation)}")
                        cur.execute(f"ANALYZE {store.audit_table(db, generation)}")
                indexed = True
                continue
            with db.transaction() as cur:
                locked = store.lock_positions(db, cur, generation)
                if min(locked.values()) >= cases.head_position():
                    dropped = store.switch_generation(db, cur, generation)
                    break
    runner.close()
    ProviderProjection(cases).rebuild()  # its own tables, refolded (docs/adr/0093)
    elapsed = time.perf_counter() - started
    return {"generation": generation, "events": events, "seconds": elapsed,
            "events_per_second": events / elapsed if elapsed > 0 else None, "dropped": dropped}
