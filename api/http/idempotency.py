"""Idempotency-Key: a retried append returns the first answer and appends nothing (幂等).

Each key is claimed with an INSERT before the command runs, in a table beside the events
(``yishi_idempotency``), so it survives restarts and two concurrent requests with the same
key cannot both run the command: the one whose INSERT wins runs it and stores its answer;
the others wait for that answer and replay it. The same key with a different request is
422. Keys belong to one credential. See docs/adr/0010-idempotency.md.

Nothing personal is kept here (docs/adr/0073-erasure.md): a stored answer has each
personal field (``reporter``) replaced by a marker, and a replay renders it again with the
reader's rights and the subject's erasure state now (``rerender``); the request fingerprint
is an HMAC under the server's secret key, so the body (an 11-digit phone, say) cannot be
recovered from it by trying every value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.responses import Response

from api.http.problems import PROBLEM_JSON, FastJSONResponse, Problem, problem_of
from domain.errors import DomainError
from domain.storage import Database

TABLE = "yishi_idempotency"
PENDING = "pending"
DONE = "done"
MAX_KEY_LENGTH = 200
#: A claim older than this whose answer never came (its process died) may be taken over.
STALE_AFTER_SECONDS = 120.0


@dataclass
class Answer:
    """An HTTP answer that can be stored and replayed byte for byte."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"

    def response(self, replayed: bool = False) -> Response:
        headers = dict(self.headers)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return FastJSONResponse(
            self.body, status_code=self.status, headers=headers, media_type=self.media_type
        )

    @classmethod
    def of_problem(cls, problem: Problem) -> Answer:
        return cls(problem.status, problem.body(), dict(problem.headers), PROBLEM_JSON)


#: Fingerprints written as ``h1:`` + HMAC-SHA256(secret, SHA-256 of the request).
FINGERPRINT_PREFIX = "h1:"
#: The fields of an answer that hold personal data, rendered again at each replay.
PERSONAL_FIELDS = ("reporter",)
RERENDER = "_rerender"

Rerender = Callable[[dict[str, Any]], dict[str, Any]]


def fingerprint(secret: bytes, *parts: object) -> str:
    """A keyed digest of what makes two requests "the same": method, path, If-Match, body.

    HMAC-SHA256 under the server's secret of the SHA-256 of the canonical JSON: without
    the secret (which is not in the database) nobody can test guesses against it."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    return _keyed(secret, hashlib.sha256(text.encode("utf-8")).hexdigest())


def _keyed(secret: bytes, digest: str) -> str:
    return FINGERPRINT_PREFIX + hmac.new(secret, digest.encode("ascii"), "sha256").hexdigest()


def scrub(body: Any) -> Any:
    """The answer body with each personal field replaced by a marker (for storage)."""
    if isinstance(body, dict):
        return {key: ({RERENDER: key} if key in PERSONAL_FIELDS and value is not None
                      else scrub(value)) for key, value in body.items()}
    if isinstance(body, list):
        return [scrub(item) for item in body]
    return body


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400, "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
        )
    return key


class IdempotencyStore:
    """Claimed keys and their stored answers."""

    def __init__(self, db: Database, wait_seconds: float = 10.0,
                 secret: bytes | None = None) -> None:
        self._db = db
        self._table = db.table(TABLE)
        self._wait = wait_seconds
        self._secret = secret if secret is not None else server_secret()
        db.create(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " credential_id text NOT NULL,"
            " idem_key text NOT NULL,"
            " fingerprint text NOT NULL,"
            " state text NOT NULL,"
            " status integer,"
            " answer text,"
            " claimed_at double precision NOT NULL,"
            " PRIMARY KEY (credential_id, idem_key))"
        )
        self._upgrade()

    def _upgrade(self) -> None:
        """Rows written before answers were scrubbed and fingerprints keyed: scrub the
        answers, and key the old digests (``h1:`` + HMAC of the old SHA-256)."""
        rows = self._db.execute(
            f"SELECT credential_id, idem_key, fingerprint, answer FROM {self._table}"
            " WHERE fingerprint NOT LIKE %s",
            (FINGERPRINT_PREFIX + "%",),
        )
        with self._db.transaction() as curs:
            for credential_id, key, old, answer in rows:
                stored = None if answer is None else json.dumps(
                    {**json.loads(answer), "body": scrub(json.loads(answer)["body"])},
                    ensure_ascii=False)
                curs.execute(
                    f"UPDATE {self._table} SET fingerprint = %s, answer = %s"
                    " WHERE credential_id = %s AND idem_key = %s",
                    (_keyed(self._secret, str(old)), stored, credential_id, key),
                )

    def respond(
        self,
        credential_id: str,
        key: str | None,
        request: tuple[object, ...],
        produce: Callable[[], Answer],
        rerender: Rerender | None = None,
    ) -> Response:
        """Run ``produce`` once per key; replay its answer to every retry. ``request`` is
        what makes two requests the same (method, path, If-Match, body), fingerprinted only
        when there is a key. ``rerender`` fills a replayed body's personal fields in again
        (without it they replay as null)."""
        if key is None:
            return _run(produce).response()
        key = check_key(key)
        request_fingerprint = fingerprint(self._secret, *request)
        if self._claim(credential_id, key, request_fingerprint):
            return self.respond_claimed(credential_id, key, produce)
        return self._replay(credential_id, key, request_fingerprint, produce, rerender)

    # Internals -------------------------------------------------------------------------

    def _claim(self, credential_id: str, key: str, request_fingerprint: str) -> bool:
        return len(self._db.execute(
            f"INSERT INTO {self._table} (credential_id, idem_key, fingerprint, state,"
            " claimed_at) VALUES (%s, %s, %s, %s, %s)"
            " ON CONFLICT (credential_id, idem_key) DO NOTHING RETURNING idem_key",
            (credential_id, key, request_fingerprint, PENDING, time.time()),
        )) == 1

    def _take_over(self, credential_id: str, key: str, request_fingerprint: str) -> bool:
        """Claim a key whose first request died before answering."""
        now = time.time()
        return len(self._db.execute(
            f"UPDATE {self._table} SET claimed_at = %s WHERE credential_id = %s"
            " AND idem_key = %s AND fingerprint = %s AND state = %s AND claimed_at < %s"
            " RETURNING idem_key",
            (now, credential_id, key, request_fingerprint, PENDING, now - STALE_AFTER_SECONDS),
        )) == 1

    def _release(self, credential_id: str, key: str) -> None:
        self._db.execute(
            f"DELETE FROM {self._table} WHERE credential_id = %s AND idem_key = %s AND state = %s",
            (credential_id, key, PENDING),
        )

    def _complete(self, credential_id: str, key: str, answer: Answer) -> None:
        stored = json.dumps(
            {"body": scrub(answer.body), "headers": answer.headers,
             "media_type": answer.media_type},
            ensure_ascii=False,
        )
        self._db.execute(
            f"UPDATE {self._table} SET state = %s, status = %s, answer = %s"
            " WHERE credential_id = %s AND idem_key = %s",
            (DONE, answer.status, stored, credential_id, key),
        )

    def _read(self, credential_id: str, key: str) -> tuple[Any, ...] | None:
        rows = self._db.execute(
            f"SELECT fingerprint, state, status, answer FROM {self._table}"
            " WHERE credential_id = %s AND idem_key = %s",
            (credential_id, key),
        )
        return rows[0] if rows else None

    def _replay(
        self,
        credential_id: str,
        key: str,
        request_fingerprint: str,
        produce: Callable[[], Answer],
        rerender: Rerender | None = None,
    ) -> Response:
        deadline = time.monotonic() + self._wait
        delay = 0.01
        while True:
            row = self._read(credential_id, key)
            if row is None:  # the first request failed and released the key: try again
                if self._claim(credential_id, key, request_fingerprint):
                    return self.respond_claimed(credential_id, key, produce)
                continue
            stored_fingerprint, state, status, stored = row
            if stored_fingerprint != request_fingerprint:
                raise Problem(
                    422, "idempotency_key_reused",
                    "this Idempotency-Key was used with a different request",
                )
            if state == DONE:
                answer = json.loads(stored)
                body = answer["body"]
                if _has_marker(body):
                    body = rerender(body) if rerender is not None else _blank(body)
                return Answer(
                    int(status), body, answer["headers"], answer["media_type"]
                ).response(replayed=True)
            if self._take_over(credential_id, key, request_fingerprint):
                return self.respond_claimed(credential_id, key, produce)
            if time.monotonic() > deadline:
                raise Problem(
                    409, "idempotency_in_progress",
                    "the first request with this Idempotency-Key is still running",
                    {"Retry-After": "1"},
                )
            time.sleep(delay)
            delay = min(delay * 2, 0.2)

    def respond_claimed(
        self, credential_id: str, key: str, produce: Callable[[], Answer]
    ) -> Response:
        try:
            answer = _run(produce)
        except BaseException:
            self._release(credential_id, key)
            raise
        self._complete(credential_id, key, answer)
        return answer.response()


def _has_marker(body: Any) -> bool:
    if isinstance(body, dict):
        return RERENDER in body or any(_has_marker(v) for v in body.values())
    if isinstance(body, list):
        return any(_has_marker(v) for v in body)
    return False


def _blank(body: Any) -> Any:
    """Markers replaced by null (a replay without a way to render them again)."""
    if isinstance(body, dict):
        return None if RERENDER in body else {k: _blank(v) for k, v in body.items()}
    if isinstance(body, list):
        return [_blank(v) for v in body]
    return body


def server_secret() -> bytes:
    """The server's secret key for fingerprints: ``YISHI_SECRET_KEY`` (any text of 32
    characters or more, the same in every process of a store), else a random key kept in
    ``YISHI_SECRET_FILE`` (default ``~/.config/yishi/secret``, created mode 0600 on first
    use). Never in the database: a copy of the database must not hold it."""
    text = os.environ.get("YISHI_SECRET_KEY", "").strip()
    if text:
        if len(text) < 32:
            raise ValueError("YISHI_SECRET_KEY must be at least 32 characters")
        return text.encode("utf-8")
    path = Path(os.environ.get("YISHI_SECRET_FILE", "")
                or Path.home() / ".config" / "yishi" / "secret")
    for _attempt in range(50):
        try:
            text = path.read_text().strip()
        except FileNotFoundError:
            path.parent.mkdir(parents=True, exist_ok=True)
            fresh = secrets.token_hex(32)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process is making it
                continue
            with os.fdopen(fd, "w") as handle:
                handle.write(fresh + "\n")
            return bytes.fromhex(fresh)
        if len(text) == 64:
            return bytes.fromhex(text)
        time.sleep(0.02)  # being written by another process
    raise ValueError(f"{path} does not hold a secret key (64 hex digits)")


def _run(produce: Callable[[], Answer]) -> Answer:
    """The command's answer; a refusal is an answer too (and is replayed like one)."""
    try:
        return produce()
    except DomainError as error:
        return Answer.of_problem(problem_of(error))
    except Problem as problem:
        return Answer.of_problem(problem)
