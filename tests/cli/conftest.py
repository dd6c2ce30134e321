"""Fixtures of the command-line tests (shared with the store tests)."""

from tests.store.conftest import durable_url

__all__ = ["durable_url"]
