"""Without a ping before each use of a pooled connection (docs/adr/0015-request-cost.md),
a store whose connections were all cut (a PostgreSQL restart, a network cut) still answers:
the first broken connection has the pool drop every dead one, then the library retries its
own reads and writes and ``Database`` its statements. The pool holds 16 connections, more
than the library's 10 attempts could walk through one by one."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import pytest

from api.credentials import Credentials
from domain.application import Cases
from domain.config import ConfigError, parse_database_url
from domain.model import Actor
from tests.conftest import _connect, report_data


def cut_connections(application_name: str) -> int:
    """Terminate this test's server connections (and nobody else's); how many there were."""
    with _connect() as conn:
        rows = conn.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name = %s AND pid <> pg_backend_pid()",
            (application_name,),
        ).fetchall()
    return len(rows)


def test_the_pool_does_not_ping_unless_the_url_asks() -> None:
    base = "postgresql://postgres@127.0.0.1/test"
    assert parse_database_url(base).library_env["POSTGRES_PRE_PING"] == "n"
    assert parse_database_url(base + "?pre_ping=y").library_env["POSTGRES_PRE_PING"] == "y"
    with pytest.raises(ConfigError, match="pre_ping"):
        parse_database_url(base + "?pre_ping=maybe")


def test_every_read_and_write_survives_all_connections_being_cut(
    monkeypatch: pytest.MonkeyPatch, app_factory: Callable[[str], Cases], pg_url: str,
    people: type,
) -> None:
    name = f"yishi-test-{uuid.uuid4().hex[:8]}"
    monkeypatch.setenv("PGAPPNAME", name)  # libpq names this test's connections
    app = app_factory(pg_url + "&pool_size=16")
    credentials = Credentials(app.db)
    token = credentials.create("community", communities=["C1"])
    community: Actor = people.community
    case_id = app.report_problem(people.resident, report_data()).case.id
    assert credentials.authenticate(token) is not None

    assert cut_connections(name) >= 16
    assert app.get_case(case_id).version == 1  # the library's read retries
    assert cut_connections(name) >= 1
    assert credentials.authenticate(token) is not None  # Database.execute retries
    assert cut_connections(name) >= 1
    assert app.add_comment(case_id, community, text="after the cut").case.version == 2
