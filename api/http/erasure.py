"""Finishing erasures in the background (删除收尾): when older readers kept an erased key
in the database's files past the request's wait, the erasure answers 202 (pending) and
this thread purges until none is pending (docs/adr/0073-erasure.md)."""

from __future__ import annotations

import logging
import threading

from domain.application import Cases

log = logging.getLogger("yishi.erasure")


class Purger:
    """One background thread at a time, started by ``kick`` and ended when nothing is
    pending (or at shut-down)."""

    def __init__(self, cases: Cases, wait_seconds: float = 5.0, pause: float = 1.0) -> None:
        self.cases = cases
        self.wait_seconds = wait_seconds
        self.pause = pause
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def kick(self) -> None:
        with self._lock:
            if self._thread is not None and self._thread.is_alive():
                return
            self._thread = threading.Thread(target=self._run, name="yishi-erasure",
                                            daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None:
            thread.join(timeout=self.wait_seconds + 5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                if self.cases.keys.pending() == 0 or self.cases.complete_erasures(
                    self.wait_seconds
                ):
                    return
            except Exception:  # the database went away: try again later
                log.exception("purging erased keys failed; retrying")
            self._stop.wait(self.pause)
