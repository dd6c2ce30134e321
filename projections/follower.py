"""A follower in a daemon thread of the server (后台跟随线程).

The projections and the verifiable log each follow the event log in the server's process on
the embedded default (no change notification there, so they poll; it works the same on
PostgreSQL). ``FollowerThread`` is that loop once: start, stop, ``poke`` to wake it after a
write in this process, and ``last_error`` for readiness. A subclass says what one step is.
"""

from __future__ import annotations

import logging
import threading

log = logging.getLogger(__name__)


class FollowerThread:
    """Runs ``step()`` in a daemon thread until stopped: again at once while it did work,
    after ``interval`` seconds (or a ``poke``) when it found nothing to do. A step that
    raises is logged and kept in ``last_error`` (the server stays up; readiness says so)."""

    #: The follower's name in readiness and in the thread's name.
    name = "follower"

    def __init__(self, *, interval: float = 0.2) -> None:
        self.interval = interval
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def step(self) -> int:
        """One batch: how many events it processed (0: nothing new)."""
        raise NotImplementedError

    def stepped(self, processed: int) -> None:
        """After a step that did not raise (``last_error`` is cleared first)."""

    def start(self) -> None:
        """Start following in a daemon thread (idempotent)."""
        if self._thread is not None and self._thread.is_alive():
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name=f"yishi-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        """Whether the thread is alive."""
        return self._thread is not None and self._thread.is_alive()

    def poke(self) -> None:
        """Wake the thread now (after a write in this process), instead of at the interval."""
        self._wake.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                processed = self.step()
                self.last_error = None
                self.stepped(processed)
            except Exception as error:  # keep the server up; report it in readiness
                self.last_error = f"{type(error).__name__}: {error}"
                log.exception("%s batch failed", self.name)
                processed = 0
            if processed == 0:
                self._wake.wait(self.interval)
                self._wake.clear()
