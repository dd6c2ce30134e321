"""Opening the store a command names (打开存储), and saying in one line why it cannot be.

Commands on an existing store use ``open_existing``: the read-only ones (``verify``,
``replay``, ``projections status``, ``token list``) and those acting on a store's contents
(``token revoke``, ``projections run|rebuild``). The store must exist already, and no store
is created, neither an SQLite file nor a PostgreSQL schema or event table. A store that
exists with no events is fine. Commands that set a store up (``serve``, ``token create``,
``demo``) use ``open_or_create``.

What is missing is named as the driver names it: the file (with its absolute path), the
PostgreSQL server, role, database or schema (docs/adr/0045-exit-status.md).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path

import psycopg

from domain.application import Cases, open_cases
from domain.clock import Clock
from domain.config import ENV_VAR, ConfigError, StoreSettings, parse_database_url

#: The event table the eventsourcing library names for the application "yishi".
SQLITE_EVENTS = "stored_events"
POSTGRES_EVENTS = f"{Cases.name.lower()}_events"


def open_existing(url: str | None) -> Cases:
    """The application on the store ``url`` names, which must exist; creates nothing.

    Raises ``ConfigError`` naming the missing file, database, schema or table."""
    settings = parse_database_url(url)
    try:
        require_store(settings)
    except ConfigError as error:
        if not url and not os.environ.get(ENV_VAR, "").strip():
            raise ConfigError(f"{error} (the default store; name another with "
                              f"--database-url or {ENV_VAR})") from None
        raise
    return open_cases(url, create=False)


def open_or_create(url: str | None, *, clock: Clock | None = None) -> Cases:
    """The application on the store ``url`` names, created on first use.

    Raises ``ConfigError`` naming the real cause when PostgreSQL cannot be reached (a
    missing database, a refused connection, an unknown role)."""
    settings = parse_database_url(url)
    if settings.kind == "postgres":
        _connect(settings).close()
    elif settings.kind == "sqlite":
        path = Path(settings.library_env["SQLITE_DBNAME"]).absolute()
        if not path.parent.is_dir():
            raise ConfigError(f"cannot create the store at {path}: no directory {path.parent}")
    return open_cases(url, clock=clock)


def require_store(settings: StoreSettings) -> None:
    """Check, without creating anything, that the store holds yishi's event table."""
    if settings.kind == "sqlite":
        _require_sqlite(settings)
    elif settings.kind == "postgres":
        _require_postgres(settings)
    # "memory:" lives and dies with the process: it always exists, empty at first.


def _require_sqlite(settings: StoreSettings) -> None:
    path = Path(settings.library_env["SQLITE_DBNAME"])
    where = f"no store at {path.absolute()}"
    if not path.exists():
        hint = ""
        if not path.is_absolute() and (Path("/") / path).exists():
            hint = (f" (sqlite:/// names a path relative to the working directory; "
                    f"for /{path} write sqlite:////{path})")
        raise ConfigError(f"{where}: no such file{hint}")
    if not path.is_file():
        raise ConfigError(f"{where}: not a file")
    try:
        uri = f"{path.absolute().as_uri()}?mode=ro"
        with contextlib.closing(sqlite3.connect(uri, uri=True)) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                (SQLITE_EVENTS,),
            ).fetchone()
    except sqlite3.Error as error:
        raise ConfigError(f"{where}: {error}") from None
    if found is None:
        raise ConfigError(f"{where}: the file holds no yishi event table")


def _require_postgres(settings: StoreSettings) -> None:
    schema = settings.schema or "public"
    with _connect(settings) as conn:
        exists = conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (schema,)
        ).fetchone()
        if exists is None:
            raise ConfigError(f"no store at {settings.display}: no schema {schema!r}")
        table = conn.execute(
            "SELECT to_regclass(%s)", (f'"{schema}"."{POSTGRES_EVENTS}"',)
        ).fetchone()
    if table is None or table[0] is None:
        raise ConfigError(
            f"no store at {settings.display}: schema {schema!r} holds no yishi event table"
        )


def _connect(settings: StoreSettings) -> psycopg.Connection[tuple[object, ...]]:
    """One direct connection, so that a failure is the server's own words (a pool would
    only say that it timed out)."""
    env = settings.library_env
    try:
        return psycopg.connect(
            host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"], dbname=env["POSTGRES_DBNAME"],
            user=env["POSTGRES_USER"], password=env["POSTGRES_PASSWORD"] or None,
            connect_timeout=max(1, round(float(env["POSTGRES_CONNECT_TIMEOUT"]))),
            autocommit=True,
        )
    except psycopg.Error as error:
        raise ConfigError(
            f"cannot reach PostgreSQL at {settings.display}: {server_words(error)}"
        ) from None


def server_words(error: BaseException) -> str:
    """The cause in a driver's message, on one line: for psycopg's ``connection failed:
    connection to server at "h", port p failed: FATAL:  database "x" does not exist`` that
    is ``database "x" does not exist``."""
    text = str(error).strip() or type(error).__name__
    text = text.rpartition(" failed: ")[2] or text
    text = text.removeprefix("FATAL:").strip()
    return "; ".join(" ".join(line.split()) for line in text.splitlines() if line.strip())
