"""An erased key leaves no copy in the database's files (docs/adr/0073-erasure.md).

The key table's raw pages are read after an erasure has completed: on PostgreSQL through
``pageinspect`` (``get_raw_page``), on SQLite the database file and its write-ahead log as
bytes. Before the purge the erased key is still there (a dead tuple; a WAL frame): that
is what the purge is for, and the test sees it. A live key stays findable, so the search
itself works. An older reader makes the erasure pending until it ends.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import psycopg
import pytest

from domain.application import Cases
from domain.privacy import KEYS_TABLE
from tests.conftest import POSTGRES_BASE, People, report_data

AppFactory = Callable[[str], Cases]
#: Long enough for other suites' transactions on a shared test database to end (alone, the
#: purge completes at once).
WAIT = 240.0


def raw_key_pages(url: str) -> bytes:
    """Every byte the key table occupies in the database's files."""
    if url.startswith("sqlite:"):
        path = Path(url.removeprefix("sqlite:///"))
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    relation = f'"{schema}"."{KEYS_TABLE}"'
    with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
        for _attempt in range(5):
            try:
                conn.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
                break
            except psycopg.errors.UniqueViolation:  # another suite created it just now
                continue
        blocks = conn.execute(
            "SELECT pg_relation_size(%s::regclass) / current_setting('block_size')::int",
            (relation,),
        ).fetchone()
        assert blocks is not None
        pages = [conn.execute("SELECT get_raw_page(%s, %s)", (relation, n)).fetchone()
                 for n in range(int(blocks[0]))]
    return b"".join(bytes(page[0]) for page in pages if page is not None)


def _contacts(app: Cases) -> tuple[str, str]:
    """Two staff-reported cases with contacts: their subjects (one to erase, one kept)."""
    first = app.report_problem(People.grid, report_data()).case.id
    second = app.report_problem(People.grid, report_data(
        reporter={"name": "李四", "phone": "13900000000"})).case.id
    return f"report:{first}", f"report:{second}"


def test_after_an_erasure_completes_no_copy_of_the_key_is_left_in_the_files(
    durable_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(durable_url)
    erased, kept = _contacts(app)
    key, other = app.keys.get(erased), app.keys.get(kept)
    assert key is not None
    assert other is not None
    if durable_url.startswith("sqlite:"):
        app.db.purge_table(app.db.table(KEYS_TABLE), WAIT)  # the key now in the file too
    assert key in raw_key_pages(durable_url)

    assert app.erase_subject(erased, People.admin) is True
    assert key in raw_key_pages(durable_url)  # a dead tuple, an old WAL frame: recoverable
    assert app.keys.erasure_state(erased) == "pending"

    assert app.complete_erasures(WAIT) is True
    pages = raw_key_pages(durable_url)
    assert key not in pages
    assert other in pages
    assert app.keys.erasure_state(erased) == "complete"
    assert app.keys.erasure_state(kept) is None


def test_an_older_reader_keeps_the_erasure_pending_until_it_ends(
    durable_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(durable_url)
    erased, _ = _contacts(app)
    key = app.keys.get(erased)
    assert key is not None
    reader = _older_reader(durable_url)
    try:
        app.erase_subject(erased, People.admin)
        assert app.complete_erasures(0.3) is False
        assert app.keys.erasure_state(erased) == "pending"
    finally:
        reader()
    assert app.complete_erasures(WAIT) is True
    assert app.keys.erasure_state(erased) == "complete"
    assert key not in raw_key_pages(durable_url)


def _older_reader(url: str) -> Callable[[], None]:
    """Open a transaction that has read the key table; returns how to end it."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        conn.execute("BEGIN")
        conn.execute(f"SELECT count(*) FROM {KEYS_TABLE}").fetchone()

        def end_sqlite() -> None:
            conn.execute("COMMIT")
            conn.close()
        return end_sqlite
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    pg = psycopg.connect(POSTGRES_BASE)
    pg.execute("BEGIN ISOLATION LEVEL REPEATABLE READ")
    pg.execute(f'SELECT count(*) FROM "{schema}"."{KEYS_TABLE}"').fetchone()

    def end_postgres() -> None:
        pg.rollback()
        pg.close()
    return end_postgres


@pytest.mark.parametrize("erase_twice", [False, True])
def test_erasing_again_or_nothing_pending_completes_at_once(
    durable_url: str, app_factory: AppFactory, erase_twice: bool
) -> None:
    app = app_factory(durable_url)
    erased, _ = _contacts(app)
    app.erase_subject(erased, People.admin)
    assert app.complete_erasures(WAIT) is True
    if erase_twice:
        assert app.erase_subject(erased, People.admin) is False
    assert app.complete_erasures(0.0) is True
