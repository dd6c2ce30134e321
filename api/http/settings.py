"""Settings of the HTTP server, from the environment, overridable by flags and tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from domain.clock import Clock
from domain.config import ConfigError, database_url


def group_commit_env() -> bool | None:
    """``YISHI_GROUP_COMMIT``: y or n; unset is None (the default for the store)."""
    text = os.environ.get("YISHI_GROUP_COMMIT", "").strip().lower()
    if not text:
        return None
    return text in ("y", "yes", "true", "t", "on", "1")


def token_cache_env(default: float) -> float:
    """``YISHI_TOKEN_CACHE_SECONDS``: seconds from 0 to 60; unset is ``default``."""
    text = os.environ.get("YISHI_TOKEN_CACHE_SECONDS", "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError("YISHI_TOKEN_CACHE_SECONDS must be a number of seconds") from None
    if not 0 <= seconds <= 60:
        raise ConfigError("YISHI_TOKEN_CACHE_SECONDS must be from 0 to 60")
    return seconds


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
    #: How long an erasure waits for older readers before it answers 202 (pending) and
    #: finishes in the background (docs/adr/0073-erasure.md).
    erasure_wait_seconds: float = 5.0
    #: Largest page of GET /events.
    max_page: int = 1000
    #: Concurrent appends share transactions (docs/adr/0030-group-commit.md). None (the
    #: default, unless ``YISHI_GROUP_COMMIT`` says y or n): on for PostgreSQL only.
    group_commit: bool | None = field(default_factory=group_commit_env)
    #: How long an authenticated token's actor is remembered (docs/adr/0014-token-cache.md):
    #: a revocation through this server applies at once, one from elsewhere (the command
    #: line, another server) within this many seconds. 0 asks the database every request.
    token_cache_seconds: float = field(default_factory=lambda: token_cache_env(5.0))

    def group_commit_for(self, store_kind: str) -> bool:
        return self.group_commit if self.group_commit is not None else store_kind == "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached); tests override this dependency or pass Settings."""
    return Settings()
