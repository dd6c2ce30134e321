"""Settings of the HTTP server, from the environment, overridable by flags and tests."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache

from api.http.provider_settings import provider_rules_env
from domain.clock import Clock
from domain.config import ConfigError, database_url
from domain.providers.config import ProviderRules


def group_commit_env() -> bool | None:
    """``YISHI_GROUP_COMMIT``: y or n; unset is None (the default for the store)."""
    text = os.environ.get("YISHI_GROUP_COMMIT", "").strip().lower()
    if not text:
        return None
    return text in ("y", "yes", "true", "t", "on", "1")


def token_cache_env(default: float) -> float:
    """``YISHI_TOKEN_CACHE_SECONDS``: seconds from 0 to 60; unset is ``default``."""
    return _number_env("YISHI_TOKEN_CACHE_SECONDS", default, 0, 60)


def _number_env(name: str, default: float, low: float, high: float) -> float:
    """A number (of seconds, or events) from the environment, within [low, high]; unset is
    ``default``; ConfigError naming the variable otherwise."""
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        seconds = float(text)
    except ValueError:
        raise ConfigError(f"{name} must be a number, not {text!r}") from None
    if not low <= seconds <= high:
        raise ConfigError(f"{name} must be from {low:g} to {high:g}")
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
    #: How long an append may spend learning its outcome after a fault before it answers
    #: 503 outcome_unknown (docs/adr/0040-exactly-once.md); ``YISHI_OUTCOME_SECONDS``.
    outcome_seconds: float = field(default_factory=lambda: _number_env(
        "YISHI_OUTCOME_SECONDS", 10.0, 0.1, 120))
    #: ``/readyz`` is 503 while the read models lag the log by more events than this
    #: (docs/adr/0042-readiness.md); ``YISHI_READY_MAX_LAG``.
    ready_max_lag: int = field(default_factory=lambda: int(_number_env(
        "YISHI_READY_MAX_LAG", 1000, 0, 10**9)))
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
    #: The red/black list's weights and thresholds (issue 13, docs/adr/0091).
    provider_rules: ProviderRules = field(default_factory=provider_rules_env)

    def group_commit_for(self, store_kind: str) -> bool:
        return self.group_commit if self.group_commit is not None else store_kind == "postgres"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process's settings (cached); tests override this dependency or pass Settings."""
    return Settings()
