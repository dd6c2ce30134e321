"""The server remembers authenticated tokens for a few seconds (docs/adr/0014-token-cache.md):
a revocation through the same credentials applies at once, one made elsewhere (the command
line, another server process) once the cache time has passed. Two ``Credentials`` on one
PostgreSQL schema stand for two processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pytest

from api.credentials import Credentials, token_digest
from api.http.settings import token_cache_env
from domain.application import Cases
from domain.config import ConfigError
from domain.model import Role
from domain.storage import Database


class Ticker:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def store(app_factory: Callable[[str], Cases], pg_url: str) -> Cases:
    return app_factory(pg_url)


def test_a_token_revoked_through_the_same_credentials_is_refused_at_once(store: Cases) -> None:
    server = Credentials(store.db, cache_seconds=5)
    issued = server.issue(Role.COMMUNITY, communities=["C1"])
    assert server.authenticate(issued.token) is not None
    assert server.remembered(issued.token) is not None

    assert server.revoke(issued.id)

    assert server.remembered(issued.token) is None
    assert server.authenticate(issued.token) is None


def test_a_token_revoked_elsewhere_is_refused_once_the_cache_time_has_passed(store: Cases) -> None:
    ticker = Ticker()
    server = Credentials(store.db, cache_seconds=5, monotonic=ticker)
    command_line = Credentials(store.db)
    issued = command_line.issue(Role.GRID_WORKER, compounds=["JX"])
    actor = server.authenticate(issued.token)
    assert actor is not None
    assert actor.id == issued.id

    assert command_line.revoke(issued.id)
    assert command_line.authenticate(issued.token) is None  # no cache on the command line
    ticker.now += 4.9
    assert server.authenticate(issued.token) == actor  # the documented window
    ticker.now += 0.1
    assert server.remembered(issued.token) is None
    assert server.authenticate(issued.token) is None


def test_unknown_and_revoked_tokens_are_never_remembered(store: Cases) -> None:
    server = Credentials(store.db, cache_seconds=5)
    assert server.authenticate("yst_nobody") is None
    assert server.remembered("yst_nobody") is None
    elsewhere = Credentials(store.db)
    issued = elsewhere.issue(Role.RESIDENT, compounds=["JX"])
    assert elsewhere.revoke(issued.id)
    assert server.authenticate(issued.token) is None
    assert server.remembered(issued.token) is None


def test_the_cache_keeps_digests_and_forgets_the_least_recently_used(store: Cases) -> None:
    server = Credentials(store.db, cache_seconds=5, cache_size=2)
    tokens = [server.create(Role.COMMUNITY, communities=["C1"]) for _ in range(3)]
    for token in tokens:
        assert server.authenticate(token) is not None
    assert server.remembered(tokens[0]) is None  # forgotten: three tokens, room for two
    assert server.remembered(tokens[1]) is not None
    assert server.remembered(tokens[2]) is not None
    remembered = repr(vars(server))
    assert not any(token in remembered for token in tokens)
    assert token_digest(tokens[2]) in remembered


def test_without_a_cache_time_every_lookup_asks_the_database(store: Cases) -> None:
    server = Credentials(store.db)
    elsewhere = Credentials(store.db)
    issued = elsewhere.issue(Role.COMMUNITY, communities=["C1"])
    assert server.authenticate(issued.token) is not None
    assert server.remembered(issued.token) is None
    assert elsewhere.revoke(issued.id)
    assert server.authenticate(issued.token) is None


class RevokedDuringTheLookup:
    """The store, except that the credential is revoked (through the same Credentials)
    right after the token's SELECT read it as live: a request racing with a revocation."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self.credentials: Credentials | None = None
        self.credential_id = ""

    def __getattr__(self, name: str) -> Any:
        return getattr(self.db, name)

    def execute(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        rows = self.db.execute(sql, params)
        if "token_sha256 = " in sql and self.credentials is not None and self.credential_id:
            credentials, self.credentials = self.credentials, None
            assert credentials.revoke(self.credential_id)
        return rows


def test_a_lookup_that_raced_with_a_revocation_here_is_not_remembered(store: Cases) -> None:
    racing = RevokedDuringTheLookup(store.db)
    server = Credentials(racing, cache_seconds=5)  # type: ignore[arg-type]
    issued = server.issue(Role.COMMUNITY, communities=["C1"])
    racing.credentials, racing.credential_id = server, issued.id

    assert server.authenticate(issued.token) is not None  # read before the revocation
    assert server.remembered(issued.token) is None
    assert server.authenticate(issued.token) is None


def test_the_cache_time_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YISHI_TOKEN_CACHE_SECONDS", raising=False)
    assert token_cache_env(5.0) == 5.0
    monkeypatch.setenv("YISHI_TOKEN_CACHE_SECONDS", "0")
    assert token_cache_env(5.0) == 0.0
    for bad in ("soon", "-1", "61"):
        monkeypatch.setenv("YISHI_TOKEN_CACHE_SECONDS", bad)
        with pytest.raises(ConfigError, match="YISHI_TOKEN_CACHE_SECONDS"):
            token_cache_env(5.0)
