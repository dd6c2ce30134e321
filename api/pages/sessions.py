"""Page sessions (登录会话): a token pasted once, then a cookie for eight hours.

The cookie holds a random session id (32 bytes, ``secrets.token_urlsafe``); the table
``yishi_page_sessions`` keeps only its SHA-256, the credential it stands for and when it
ends. Each page request looks the session up and then the credential, which must still be
live: revoking the token ends every session made with it, at the next request. The cookie
is ``HttpOnly`` (no script reads it), ``SameSite=Strict`` (no other site's page sends it,
which is also what guards the pages' few POST forms) and ``Path=/dashboard`` (the API never
sees it; the API reads only bearer tokens). ``Secure`` is added when the request came over
HTTPS. docs/adr/0081-page-sessions.md.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable

from api.credentials import Credentials
from domain.model import Actor
from domain.storage import Database

TABLE = "yishi_page_sessions"
COOKIE = "yishi_session"
COOKIE_PATH = "/dashboard"
LIFETIME_SECONDS = 8 * 3600


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode("utf-8")).hexdigest()


class Sessions:
    """The session table, beside the credentials in the events' database."""

    def __init__(self, db: Database, credentials: Credentials,
                 now: Callable[[], float] = time.time) -> None:
        self._db = db
        self._table = db.table(TABLE)
        self._credentials = credentials
        self._now = now
        db.create(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " session_sha256 text PRIMARY KEY,"
            " credential_id text NOT NULL,"
            " expires_at bigint NOT NULL)"
        )

    def open(self, token: str) -> tuple[str, Actor] | None:
        """A new session for a live token: (session id for the cookie, actor); None when the
        token is unknown or revoked. Expired sessions are swept here."""
        actor = self._credentials.authenticate(token.strip())
        if actor is None:
            return None
        session_id = secrets.token_urlsafe(32)
        now = int(self._now())
        self._db.execute(f"DELETE FROM {self._table} WHERE expires_at <= %s", (now,))
        self._db.execute(
            f"INSERT INTO {self._table} (session_sha256, credential_id, expires_at)"
            " VALUES (%s, %s, %s)",
            (_digest(session_id), actor.id, now + LIFETIME_SECONDS),
        )
        return session_id, actor

    def actor(self, session_id: str | None) -> Actor | None:
        """The actor of a live session whose credential is live; None otherwise."""
        if not session_id or len(session_id) > 100:
            return None
        rows = self._db.execute(
            f"SELECT credential_id FROM {self._table}"
            " WHERE session_sha256 = %s AND expires_at > %s",
            (_digest(session_id), int(self._now())),
        )
        if not rows:
            return None
        credential = self._credentials.get(str(rows[0][0]))
        if credential is None or credential.revoked_at is not None:
            return None
        return credential.actor

    def name_of(self, actor: Actor) -> str | None:
        credential = self._credentials.get(actor.id)
        return None if credential is None else credential.name

    def close(self, session_id: str | None) -> None:
        if session_id:
            self._db.execute(f"DELETE FROM {self._table} WHERE session_sha256 = %s",
                             (_digest(session_id),))
