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
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from domain.model import Actor, Role
from domain.privacy import SubjectKeys, seal, unseal
from domain.storage import Database

TABLE = "yishi_credentials"
TOKEN_PREFIX = "yst_"  # noqa: S105 (a prefix, not a secret)


#: The scope levels a credential may name besides compounds and communities (columns).
EXTRA_LEVELS = ("street", "area", "grid")


@dataclass(frozen=True)
class Credential:
    """What is known about a token, without the token. ``units`` is its scope: the
    (level, code) pairs it names (docs/adr/0070-scope-model.md); none, the whole store.
    A resident's ``name`` is personal data, sealed under ``resident:<id>`` (ADR 0005):
    None once erased (``name_erased``)."""

    id: str
    role: Role
    compounds: tuple[str, ...]
    communities: tuple[str, ...]
    name: str | None
    created_at: str
    revoked_at: str | None
    units: tuple[tuple[str, str], ...] = ()
    name_erased: bool = False
    #: A property company's or owners' committee's provider code (issue 13), else None.
    provider: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.id, self.role, frozenset(self.compounds), frozenset(self.communities),
                     frozenset(self.units), self.provider)

    @property
    def subject_id(self) -> str | None:
        """The data subject of a resident's credential (its name, its reports' contacts)."""
        return f"resident:{self.id}" if self.role is Role.RESIDENT else None


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
        self._keys = SubjectKeys(db)
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
        db.add_columns(TABLE, ["streets", "areas", "grids", "name_sealed"])
        db.add_columns(TABLE, ["provider"])  # issue 13: a provider's credential
        _upgrade(db, self._table, self._keys)

    def issue(
        self,
        role: Role | str,
        compounds: Iterable[str] = (),
        communities: Iterable[str] = (),
        name: str | None = None,
        *,
        streets: Iterable[str] = (),
        areas: Iterable[str] = (),
        grids: Iterable[str] = (),
        provider: str | None = None,
    ) -> Issued:
        """Create a credential; returns its id and the token (shown once). A resident's
        name is sealed under its data subject, never stored in plain text. ``provider``:
        the provider a ``property_company`` or ``owners_committee`` credential acts for
        (ValueError for another role; the caller checks the directory)."""
        role = Role(role)
        if provider is not None and role not in (Role.PROPERTY_COMPANY, Role.OWNERS_COMMITTEE):
            raise ValueError("only a property_company or owners_committee credential names a"
                             " provider")
        credential_id = "cr_" + secrets.token_hex(8)
        token = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        sealed = None
        if name is not None and role is Role.RESIDENT:
            subject = f"resident:{credential_id}"
            sealed = json.dumps(seal(subject, self._keys.key_for(subject, now), {"name": name}))
            name = None
        self._db.execute(
            f"INSERT INTO {self._table} (id, token_sha256, role, compounds, communities, name,"
            " created_at, streets, areas, grids, name_sealed, provider)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
            (
                credential_id,
                token_digest(token),
                role.value,
                json.dumps(sorted(set(compounds))),
                json.dumps(sorted(set(communities))),
                name,
                now.isoformat(timespec="seconds"),
                json.dumps(sorted(set(streets))),
                json.dumps(sorted(set(areas))),
                json.dumps(sorted(set(grids))),
                sealed,
                provider,
            ),
        )
        return Issued(credential_id, token)

    def create(
        self,
        role: Role | str,
        compounds: Iterable[str] = (),
        communities: Iterable[str] = (),
        name: str | None = None,
        **levels: Any,
    ) -> str:
        """Create a credential and return its token: the only time it is ever shown.
        ``levels``: ``streets``, ``areas``, ``grids`` as ``issue`` takes them."""
        return self.issue(role, compounds, communities, name, **levels).token

    def list(self) -> list[Credential]:
        rows = self._db.execute(f"SELECT {_COLUMNS} FROM {self._table} ORDER BY created_at, id")
        return [self._credential(row) for row in rows]

    def get(self, credential_id: str) -> Credential | None:
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM {self._table} WHERE id = %s", (credential_id,)
        )
        return self._credential(rows[0]) if rows else None

    def _credential(self, row: tuple[object, ...]) -> Credential:
        credential = _credential(row)
        sealed = row[10]
        if sealed is None:
            return credential
        envelope = json.loads(str(sealed))
        contact = unseal(envelope, self._keys.get(envelope["subject_id"]))
        if contact is None:
            return replace(credential, name=None, name_erased=True)
        return replace(credential, name=str(contact["name"]))

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
            f"SELECT {_COLUMNS} FROM {self._table} WHERE token_sha256 = %s"
            " AND revoked_at IS NULL",
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


_COLUMNS = ("id, role, compounds, communities, name, created_at, revoked_at, streets, areas,"
            " grids, name_sealed, provider")


def _credential(row: tuple[object, ...]) -> Credential:
    ident, role, compounds, communities, name, created_at, revoked_at = row[:7]
    extra = [json.loads(str(value)) if value else [] for value in row[7:10]]
    compounds_t = tuple(json.loads(str(compounds)))
    communities_t = tuple(json.loads(str(communities)))
    units = [*(("compound", c) for c in compounds_t), *(("community", c) for c in communities_t)]
    for level, codes in zip(EXTRA_LEVELS, extra, strict=True):
        units.extend((level, code) for code in codes)
    return Credential(
        id=str(ident),
        role=Role(str(role)),
        compounds=compounds_t,
        communities=communities_t,
        name=None if name is None else str(name),
        created_at=str(created_at),
        revoked_at=None if revoked_at is None else str(revoked_at),
        units=tuple(units),
        provider=None if len(row) < 12 or row[11] is None else str(row[11]),
    )


def _upgrade(db: Database, table: str, keys: SubjectKeys) -> None:
    """Residents' names written by an earlier version in plain text: sealed, the text
    cleared."""
    plain = db.execute(
        f"SELECT id, name FROM {table} WHERE role = %s AND name IS NOT NULL",
        (Role.RESIDENT.value,),
    )
    now = datetime.now(UTC)
    for ident, name in plain:
        subject = f"resident:{ident}"
        sealed = json.dumps(seal(subject, keys.key_for(subject, now), {"name": str(name)}))
        db.execute(f"UPDATE {table} SET name = NULL, name_sealed = %s WHERE id = %s",
                   (sealed, ident))
