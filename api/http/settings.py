"""Settings of the HTTP server, from the environment, overridable by flags and tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from domain.clock import Clock
from domain.config import database_url


@dataclass(frozen=True)
class Settings:
    """Everything the app factory needs; tests pass their own (with a ManualClock)."""

    #: The store: ``YISHI_DATABASE_URL``, else the embedded SQLite file.
    database_url: str = field(default_factory=database_url)
    #: The domain clock; None is the system clock.
    clock: Clock | None = None
    #: Start the background services (projections) in the lifespan.
    projections: bool = True
    #: Largest request body accepted (413 beyond).
    max_body_bytes: int = 64 * 1024
    #: Deepest JSON nesting accepted (the catalogue needs 3).
    max_json_depth: int = 16
    #: How long a retry waits for the first request with its Idempotency-Key to finish.
    idempotency_wait_seconds: float = 10.0
    #: Largest page of GET /events.
    max_page: int = 1000


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached); tests override this dependency or pass Settings."""
    return Settings()
