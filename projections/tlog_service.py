"""Keeping the verifiable log up to date: the follower's step, and the server's thread.

``LogStep`` appends one batch of leaves and signs a checkpoint when the cadence asks for
one. The HTTP server runs it in a background thread (``LogService``) beside the
projections; ``yishi projections run`` calls it from its own loop (projections/service.py).
``projections rebuild`` never touches the log: a log is checked against its checkpoints,
never regenerated (docs/adr/0050-log-leaf.md).
"""

from __future__ import annotations

import logging
from typing import Any

from domain.application import Cases
from projections import tlog_store as ls
from projections.follower import FollowerThread
from projections.tlog_signer import LogSettings, LogSigner, SigningStopped, latest_checkpoint

log = logging.getLogger(__name__)


class LogStep:
    """One step of the log's follower: a batch of leaves, then a checkpoint if due."""

    def __init__(self, cases: Cases, *, batch_size: int = ls.DEFAULT_BATCH,
                 settings: LogSettings | None = None) -> None:
        self.cases = cases
        self.follower = ls.LogFollower(cases, batch_size=batch_size)
        self.signer = LogSigner(cases, settings)
        #: Why checkpoints are not being signed (None while they are).
        self.signing_error: str | None = None

    def __call__(self) -> int:
        """Leaves appended by this step (0 at the head)."""
        result = self.follower.run_batch()
        try:
            self.signer.signer()  # a missing or wrong key is reported at once, not when due
            if self.signer.due():
                self.signer.sign()
                if self.signer.created:
                    log.warning("%s", self.signer.created)
                    self.signer.created = None
            self.signing_error = None
        except SigningStopped as error:
            if str(error) != self.signing_error:
                log.error("log checkpoints: %s", error)
            self.signing_error = str(error)
        return result.leaves


def log_status(cases: Cases) -> dict[str, Any]:
    """The log's size, position, lag behind the head, the latest checkpoint and what it
    does not cover yet."""
    db = cases.db
    head = cases.head_position()
    if not ls.has_tables(db):  # never built here: report it, create nothing (a read)
        return {"size": 0, "position": 0, "head": head, "lag": head, "checkpoint_size": 0,
                "uncovered": 0}
    state = ls.read_state(db)
    last = latest_checkpoint(db)
    signed = last[0] if last else 0
    return {"size": state.size, "position": state.position, "head": head,
            "lag": max(head - state.position, 0), "checkpoint_size": signed,
            "uncovered": state.size - signed}


class LogService(FollowerThread):
    """The log's follower in a daemon thread of the server (polls, as the projections do).
    ``last_error`` also says why signing stopped (a missing key file, ADR 0051)."""

    name = "log"

    def __init__(self, cases: Cases, *, interval: float = 0.2) -> None:
        super().__init__(interval=interval)
        self.cases = cases
        self.log_step = LogStep(cases)

    def step(self) -> int:
        return self.log_step()

    def stepped(self, processed: int) -> None:
        self.last_error = self.log_step.signing_error

    def position(self) -> int:
        return ls.read_state(self.cases.db).position
