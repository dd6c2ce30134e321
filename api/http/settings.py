"""Settings of the HTTP server, from the environment, overridable by flags and tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from domain.clock import Clock
from domain.config import database_url


def group_commit_env() -> bool | None:
    """``YISHI_GROUP_COMMIT``: y or n; unset is None (the default for the store)."""
    text = os.environ.get("YISHI_GROUP_COMMIT", "").strip().lower()
    if not text:
        return None
    return text in ("y", "yes", "true", "t", "on", "1")


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
    #: Concurrent appends share transactions (docs/adr/0030-group-commit.md). None (the
    #: default, unless ``YISHI_GROUP_COMMIT`` says y or n): on for PostgreSQL only.
    group_commit: bool | None = field(default_factory=group_commit_env)

    def group_commit_for(self, store_kind: str) -> bool:
        return self.group_commit if self.group_commit is not None else store_kind == "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached); tests override this dependency or pass Settings."""
    return Settings()
