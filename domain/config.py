"""Where the events live: one setting, ``YISHI_DATABASE_URL`` (存储配置).

- unset: the embedded default, an SQLite file ``yishi.db`` in the working directory;
- ``sqlite:///relative/file.db``: an SQLite file relative to the working directory, and
  ``sqlite:////absolute/file.db`` (four slashes) one at an absolute path: the convention
  of SQLAlchemy and of most Python tools (docs/adr/0046-sqlite-urls.md);
- ``postgresql://user[:password]@host[:port]/dbname[?schema=name&pool_size=n&pre_ping=y]``:
  the production store, PostgreSQL through psycopg 3. ``pre_ping=y`` checks each pooled
  connection with a round trip before use; off by default (docs/adr/0015-request-cost.md:
  a broken connection is retried instead);
- ``memory:``: the library's in-memory store, for unit tests.

The library is configured from the resulting environment; see docs/adr/0007-persistence.md.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

DEFAULT_URL = "sqlite:///yishi.db"
ENV_VAR = "YISHI_DATABASE_URL"
_IDENTIFIER = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class ConfigError(ValueError):
    """The database URL cannot be used; the message says why, in one line."""


@dataclass(frozen=True)
class StoreSettings:
    url: str
    kind: str  # "sqlite", "postgres" or "memory"
    library_env: dict[str, str]
    schema: str | None = None

    @property
    def display(self) -> str:
        """The URL without its password, for logs and messages."""
        return without_password(self.url)


def without_password(url: str) -> str:
    """The URL with its password (if any) shown as ``***``; any scheme, any text."""
    try:
        parts = urlsplit(url)
        password = parts.password
    except ValueError:  # not a URL urlsplit can read (unbalanced brackets)
        head, at, host = url.rpartition("@")
        scheme, sep, _userinfo = head.partition("://")
        return f"{scheme}{sep}***@{host}" if at else url
    if password:
        userinfo, _at, host = parts.netloc.rpartition("@")
        netloc = f"{userinfo.split(':', 1)[0]}:***@{host}"
        return parts._replace(netloc=netloc).geturl()
    return url


def database_url() -> str:
    return os.environ.get(ENV_VAR, "").strip() or DEFAULT_URL


def parse_database_url(url: str | None = None) -> StoreSettings:
    """Turn a database URL into the eventsourcing library's settings, or raise ConfigError."""
    url = (url or database_url()).strip()
    if url in ("memory:", "memory://"):
        return StoreSettings(url, "memory", {"PERSISTENCE_MODULE": "eventsourcing.popo"})
    if url.startswith("sqlite:"):
        path = url.removeprefix("sqlite:///")
        if path == url or not path.strip("/"):
            # sqlite://, sqlite:x.db, sqlite://host/x.db: no file, or a form we do not guess at.
            raise ConfigError(
                f"database URL {url!r} names no file: use sqlite:///relative/file.db "
                "or sqlite:////absolute/file.db"
            )
        return StoreSettings(
            url,
            "sqlite",
            {
                "PERSISTENCE_MODULE": "eventsourcing.sqlite",
                "SQLITE_DBNAME": path,
                "SQLITE_LOCK_TIMEOUT": "10",
            },
        )
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres"):
        raise ConfigError(
            f"unsupported database URL {without_password(url)!r}: "
            "use postgresql://user@host:port/dbname, sqlite:///file.db or leave it unset"
        )
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or not parts.hostname:
        raise ConfigError("a PostgreSQL URL needs a host and a database: postgresql://user@host/db")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    schema = query.get("schema", "public")
    if not _IDENTIFIER.match(schema):
        raise ConfigError(f"schema {schema!r} is not a plain lower-case SQL identifier")
    pool_size = query.get("pool_size", "8")
    if not pool_size.isdigit() or not 1 <= int(pool_size) <= 100:
        raise ConfigError("pool_size must be a whole number from 1 to 100")
    pre_ping = query.get("pre_ping", "n").strip().lower()
    if pre_ping not in ("y", "n"):
        raise ConfigError("pre_ping must be y or n")
    try:
        port = str(parts.port or 5432)
    except ValueError:
        raise ConfigError("the port in the database URL is not a number") from None
    env = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "POSTGRES_DBNAME": dbname,
        "POSTGRES_HOST": parts.hostname,
        "POSTGRES_PORT": port,
        "POSTGRES_USER": unquote(parts.username or "postgres"),
        "POSTGRES_PASSWORD": unquote(parts.password or ""),
        "POSTGRES_SCHEMA": schema,
        "POSTGRES_POOL_SIZE": pool_size,
        "POSTGRES_MAX_OVERFLOW": str(int(pool_size) * 2),
        "POSTGRES_CONNECT_TIMEOUT": query.get("connect_timeout", "10"),
        "POSTGRES_LOCK_TIMEOUT": query.get("lock_timeout", "5"),
        "POSTGRES_IDLE_IN_TRANSACTION_SESSION_TIMEOUT": "10",
        "POSTGRES_PRE_PING": pre_ping,
        "POSTGRES_ENABLE_DB_FUNCTIONS": "n",
    }
    return StoreSettings(url, "postgres", env, schema)
