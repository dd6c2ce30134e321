"""A tiny progress bar for long commands: a bar on a terminal, plain lines elsewhere."""

from __future__ import annotations

import sys
import time
from typing import TextIO


class Progress:
    """A progress bar on a terminal, plain lines every few seconds elsewhere; silent if quick."""

    def __init__(self, total: int, unit: str = "cases", stream: TextIO | None = None,
                 quiet_for: float = 1.0, every: float = 5.0) -> None:
        self.total = total
        self.unit = unit
        self.stream = stream or sys.stderr
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self.started = time.perf_counter()
        self.quiet_for = quiet_for
        self.every = every
        self.last = self.started
        self.shown = False

    def __call__(self, done: int, events: int = 0) -> None:
        now = time.perf_counter()
        elapsed = now - self.started
        if elapsed < self.quiet_for and done < self.total:
            return
        if not self.tty and now - self.last < self.every and done < self.total:
            return
        if done >= self.total and not self.shown:
            return  # it was quick: no bar at all
        self.last = now
        self.shown = True
        rate = done / elapsed if elapsed else 0.0
        eta = (self.total - done) / rate if rate else 0.0
        extra = f" {events:,} events" if events else ""
        text = (f"{done:,}/{self.total:,} {self.unit}{extra} {rate:,.0f} {self.unit}/s "
                f"eta {eta:,.0f}s")
        if self.tty:
            width = 30
            filled = int(width * done / self.total) if self.total else width
            bar = "#" * filled + "-" * (width - filled)
            end = "\n" if done >= self.total else ""
            self.stream.write(f"\r[{bar}] {100 * done // max(self.total, 1):3d}% {text}\033[K{end}")
        else:
            self.stream.write(f"demo: {text}\n")
        self.stream.flush()
