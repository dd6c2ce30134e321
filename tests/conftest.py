"""Shared fixtures: clocks, actors, and stores on memory, SQLite and the real PostgreSQL.

PostgreSQL tests use the server named by ``YISHI_TEST_POSTGRES_URL`` (default: the local
server on 127.0.0.1:5432, user postgres, database ``test``). Each test run gets a fresh
schema, dropped at the end. If the server cannot be reached the run fails with a clear
message: PostgreSQL tests never skip.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import psycopg
import pytest

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.model import Actor, Role
from tests.district import register_district

POSTGRES_BASE = os.environ.get(
    "YISHI_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _connect() -> psycopg.Connection:
    try:
        return psycopg.connect(POSTGRES_BASE, autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as error:
        pytest.fail(
            f"PostgreSQL is required for this test run and is not reachable at {POSTGRES_BASE}"
            f" ({str(error).strip().splitlines()[0]}). Start it (see README: Running the tests)"
            " or set YISHI_TEST_POSTGRES_URL.",
            pytrace=False,
        )


@pytest.fixture(scope="session")
def pg_schema_factory() -> Iterator[Callable[[], str]]:
    """Makes fresh schemas for this run and drops them all at the end."""
    created: list[str] = []
    run = uuid.uuid4().hex[:8]

    def make() -> str:
        name = f"yishi_t_{run}_{len(created)}"
        with _connect() as conn:
            conn.execute(f'CREATE SCHEMA "{name}"')
        created.append(name)
        return name

    yield make
    if created:
        with _connect() as conn:
            for name in created:
                conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def pg_url(pg_schema_factory: Callable[[], str]) -> str:
    """A database URL on a schema of its own (fresh for each test)."""
    return f"{POSTGRES_BASE}?schema={pg_schema_factory()}"


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'yishi.db'}"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture(params=["memory", "sqlite", "postgres"])
def store_url(request: pytest.FixtureRequest) -> str:
    """Each store in turn: the in-memory one, an SQLite file and the real PostgreSQL."""
    if request.param == "memory":
        return "memory:"
    if request.param == "sqlite":
        return str(request.getfixturevalue("sqlite_url"))
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def app_factory(clock: ManualClock) -> Iterator[Callable[[str], Cases]]:
    """Opens applications on a URL with the test clock, and closes them afterwards."""
    opened: list[Cases] = []

    def make(url: str) -> Cases:
        app = open_cases(url, clock=clock)
        opened.append(app)
        return register_district(app)

    yield make
    for app in opened:
        app.close()


@pytest.fixture
def app(app_factory: Callable[[str], Cases]) -> Cases:
    """An application on the in-memory store."""
    return app_factory("memory:")


class People:
    """One actor of each role, all in compound JX of community C1 unless said otherwise."""

    resident = Actor("resident-1", Role.RESIDENT, frozenset({"JX"}))
    neighbour = Actor("resident-2", Role.RESIDENT, frozenset({"JX"}))
    grid = Actor("grid-1", Role.GRID_WORKER, frozenset({"JX"}))
    community = Actor("community-1", Role.COMMUNITY, communities=frozenset({"C1"}))
    party = Actor("party-1", Role.PARTY_BRANCH, frozenset({"JX"}))
    owners = Actor("owners-1", Role.OWNERS_COMMITTEE, frozenset({"JX"}))
    property = Actor("property-1", Role.PROPERTY_COMPANY, frozenset({"JX"}))
    auditor = Actor("auditor-1", Role.AUDITOR)
    admin = Actor("admin-1", Role.ADMIN)
    street = Actor("street-1", Role.STREET, communities=frozenset({"C1"}))
    outsider = Actor("property-9", Role.PROPERTY_COMPANY, frozenset({"OTHER"}))


@pytest.fixture
def people() -> type[People]:
    return People


def report_data(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "compound_id": "JX",
        "community_id": "C1",
        "title": "地下车库漏水",
        "description": "The garage leaks under building 3 whenever it rains.",
        "category": "facilities",
        "channel": "wechat",
        "location": "3号楼地库",
        "reporter": {"name": "张三", "phone": "13800000000"},
    }
    data.update(overrides)
    return data
