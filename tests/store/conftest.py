"""Fixtures of the store tests: the stores that outlive an application."""

from __future__ import annotations

import pytest


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest) -> str:
    """An SQLite file, then the real PostgreSQL: stores that a new application reopens."""
    return str(request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url"))
