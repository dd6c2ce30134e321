"""Bearer tokens and the roles and scopes they stand for (凭证).

A token is 32 random bytes (``secrets.token_urlsafe``) shown once, when it is created.
Only its SHA-256 digest is stored, in ``yishi_credentials`` beside the events; a token with
that much entropy cannot be guessed from its digest, so a slow password hash buys nothing
(docs/adr/0012-credentials.md). The credential's id is the actor id every event records.

A server keeps the actors of recently authenticated tokens for a few seconds
(``cache_seconds``), keyed by the token's digest, never the token: a revocation through the
same ``Credentials`` takes effect at once, one made by another process within
``cache_seconds`` (docs/adr/0014-token-cache.md).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

from domain.model import Actor, Role
from domain.storage import Database

TABLE = "yishi_credentials"
TOKEN_PREFIX = "yst_"  # noqa: S105 (a prefix, not a secret)


@dataclass(frozen=True)
class Credential:
    """What is known about a token, without the token."""

    id: str
    role: Role
    compounds: tuple[str, ...]
    communities: tuple[str, ...]
    name: str | None
    created_at: str
    revoked_at: str | None

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role, frozenset(self.compounds), frozenset(self.communities))


@dataclass(frozen=True)
class Issued:
    """A freshly created credential and its token (the only time the token is seen)."""

    id: str
    token: str


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


class Credentials:
    """The token store, in the same database as the events.

    ``cache_seconds`` > 0 remembers the actor of each live token authenticated here for
    that long (at most ``cache_size`` tokens, least recently used forgotten first); 0, the
    default, asks the database every time (the command line).
    """

    def __init__(
        self,
        db: Database,
        cache_seconds: float = 0.0,
        cache_size: int = 10_000,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._db = db
        self._table = db.table(TABLE)
        self.cache_seconds = cache_seconds
        self._cache_size = cache_size
        self._monotonic = monotonic
        #: digest -> (actor, when it expires); never the token itself.
        self._cache: OrderedDict[str, tuple[Actor, float]] = OrderedDict()
        self._lock = threading.Lock()
        #: Bumped by every revocation here, so a lookup that raced with one is not kept.
        self._revocations = 0
        db.create(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " id text PRIMARY KEY,"
            " token_sha256 text NOT NULL UNIQUE,"
            " role text NOT NULL,"
            " compounds text NOT NULL,"
            " communities text NOT NULL,"
            " name text,"
            " created_at text NOT NULL,"
            " revoked_at text)"
        )

    def issue(
        self,
        role: Role | str,
        compounds: Iterable[str] = (),
        communities: Iterable[str] = (),
        name: str | None = None,
    ) -> Issued:
        """Create a credential; returns its id and the token (shown once)."""
        role = Role(role)
        credential_id = "cr_" + secrets.token_hex(8)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self._db.execute(
            f"INSERT INTO {self._table} (id, token_sha256, role, compounds, communities, name,"
            " created_at) VALUES (%s, %s, %s, %s, %s, %s, %s)",
            (
                credential_id,
                token_digest(token),
                role.value,
                json.dumps(sorted(set(compounds))),
                json.dumps(sorted(set(communities))),
                name,
                datetime.now(UTC).isoformat(timespec="seconds"),
            ),
        )
        return Issued(credential_id, token)

    def create(
        self,
        role: Role | str,
        compounds: Iterable[str] = (),
        communities: Iterable[str] = (),
        name: str | None = None,
    ) -> str:
        """Create a credential and return its token: the only time it is ever shown."""
        return self.issue(role, compounds, communities, name).token

    def list(self) -> list[Credential]:
        rows = self._db.execute(
            f"SELECT id, role, compounds, communities, name, created_at, revoked_at"
            f" FROM {self._table} ORDER BY created_at, id"
        )
        return [_credential(row) for row in rows]

    def get(self, credential_id: str) -> Credential | None:
        rows = self._db.execute(
            f"SELECT id, role, compounds, communities, name, created_at, revoked_at"
            f" FROM {self._table} WHERE id = %s",
            (credential_id,),
        )
        return _credential(rows[0]) if rows else None

    def revoke(self, credential_id: str) -> bool:
        """Revoke a credential; True when it existed and was live. Its token is refused by
        this ``Credentials`` from now on, cached or not."""
        revoked = bool(self._db.execute(
            f"UPDATE {self._table} SET revoked_at = %s WHERE id = %s AND revoked_at IS NULL"
            " RETURNING id",
            (datetime.now(UTC).isoformat(timespec="seconds"), credential_id),
        ))
        with self._lock:
            self._revocations += 1
            for digest in [d for d, (actor, _) in self._cache.items() if actor.id == credential_id]:
                del self._cache[digest]
        return revoked

    def authenticate(self, token: str) -> Actor | None:
        """The actor a live token stands for, or None."""
        if not token or len(token) > 200:
            return None
        digest = token_digest(token)
        actor = self._remembered(digest)
        if actor is not None:
            return actor
        with self._lock:
            revocations = self._revocations
        rows = self._db.execute(
            f"SELECT id, role, compounds, communities, name, created_at, revoked_at"
            f" FROM {self._table} WHERE token_sha256 = %s AND revoked_at IS NULL",
            (digest,),
        )
        if not rows:
            return None  # unknown and revoked tokens are never cached
        actor = _credential(rows[0]).actor
        if self.cache_seconds > 0:
            with self._lock:
                if revocations == self._revocations:  # no revocation here since the SELECT
                    self._cache[digest] = (actor, self._monotonic() + self.cache_seconds)
                    self._cache.move_to_end(digest)
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return actor

    def remembered(self, token: str) -> Actor | None:
        """The actor of a token authenticated here less than ``cache_seconds`` ago and not
        revoked here since; None otherwise. Never touches the database."""
        if not token or len(token) > 200 or self.cache_seconds <= 0:
            return None
        return self._remembered(token_digest(token))

    def _remembered(self, digest: str) -> Actor | None:
        if self.cache_seconds <= 0:
            return None
        with self._lock:
            entry = self._cache.get(digest)
            if entry is None:
                return None
            actor, expires = entry
            if self._monotonic() >= expires:
                del self._cache[digest]
                return None
            self._cache.move_to_end(digest)
            return actor


def _credential(row: tuple[object, ...]) -> Credential:
    ident, role, compounds, communities, name, created_at, revoked_at = row
    return Credential(
        id=str(ident),
        role=Role(str(role)),
        compounds=tuple(json.loads(str(compounds))),
        communities=tuple(json.loads(str(communities))),
        name=None if name is None else str(name),
        created_at=str(created_at),
        revoked_at=None if revoked_at is None else str(revoked_at),
    )
