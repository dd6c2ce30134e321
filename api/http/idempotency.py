"""Idempotency-Key and unknown outcomes over HTTP (幂等): every append answered once.

Each append runs as one ``Command`` (domain/commands.py): its row commits in the same
transaction as its events, so the store itself knows whether a request was recorded. With
an ``Idempotency-Key`` the row also holds the credential, the key and the request's
fingerprint, under a unique constraint (docs/adr/0040-exactly-once.md):

- a retry whose key is found gets the first answer, **re-rendered** from the stored event
  for this reader now (so an erased contact stays erased), with ``Idempotent-Replayed:
  true``; a stored refusal is replayed as it was; the same key with another request is 422
  ``idempotency_key_reused``;
- a retry that arrives while the first request still runs records nothing twice: the first
  transaction to commit takes the key, the other fails on it and replays that answer;
- when the server cannot learn within ``outcome_seconds`` whether the command was recorded,
  it answers 503 ``outcome_unknown`` with ``Retry-After``; the same key then learns it. When
  it knows that nothing was recorded (the store stayed busy), 503 ``store_unavailable``.

Keys belong to one credential. Nothing personal is kept (docs/adr/0073-erasure.md): a
recorded command's answer is rendered again from the store, never stored, and the request
fingerprint is an HMAC under the server's secret key (not in the database), so a body (an
11-digit phone, say) cannot be recovered from it by trying every value.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi.responses import Response

from api.http.problems import PROBLEM_JSON, FastJSONResponse, Problem, localized, problem_of
from api.i18n import Lang
from domain.commands import (
    RECORDED,
    Command,
    CommandLedger,
    CommandRow,
    KeyTaken,
    OutcomeUnknown,
    StoreUnavailable,
)
from domain.errors import DomainError

log = logging.getLogger("yishi.http")

MAX_KEY_LENGTH = 200
#: Seconds a client should wait before retrying after a 503.
RETRY_AFTER = "2"


@dataclass
class Answer:
    """An HTTP answer: status, JSON body, headers."""

    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    media_type: str = "application/json"

    def response(self, replayed: bool = False, lang: Lang = "en") -> Response:
        """The HTTP response; a problem reads in ``lang`` (the body is stored in English)."""
        body, headers = self.body, dict(self.headers)
        if self.media_type == PROBLEM_JSON:
            body, headers = localized(body, headers, lang)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        return FastJSONResponse(
            body, status_code=self.status, headers=headers, media_type=self.media_type
        )

    @classmethod
    def of_problem(cls, problem: Problem) -> Answer:
        return cls(problem.status, problem.body(), dict(problem.headers), PROBLEM_JSON)


#: Runs the command; its answer (201 with the recorded event, or a refusal).
Produce = Callable[[Command], Answer]
#: The answer of a command that recorded events, re-rendered from the store for this reader.
Replay = Callable[[CommandRow], Answer]


#: Fingerprints written as ``h1:`` + HMAC-SHA256(secret, SHA-256 of the request).
FINGERPRINT_PREFIX = "h1:"


def fingerprint(secret: bytes, *parts: object) -> str:
    """A keyed digest of what makes two requests "the same": method, path, If-Match, body.

    HMAC-SHA256 under the server's secret of the SHA-256 of the canonical JSON: without
    the secret (which is not in the database) nobody can test guesses against it."""
    text = json.dumps(parts, sort_keys=True, ensure_ascii=False, default=str)
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return FINGERPRINT_PREFIX + hmac.new(secret, digest.encode("ascii"), "sha256").hexdigest()


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


def check_key(key: str) -> str:
    if not key or len(key) > MAX_KEY_LENGTH or not key.isascii() or not key.isprintable():
        raise Problem(
            400, "invalid_idempotency_key",
            f"Idempotency-Key must be 1 to {MAX_KEY_LENGTH} printable ASCII characters",
        )
    return key


class IdempotencyStore:
    """Runs each append as one command, and answers retries from the command ledger."""

    def __init__(self, ledger: CommandLedger, secret: bytes | None = None) -> None:
        self._ledger = ledger
        self._secret = secret if secret is not None else server_secret()

    def respond(
        self,
        credential_id: str,
        key: str | None,
        request: tuple[object, ...],
        produce: Produce,
        replay: Replay,
        lang: Lang = "en",
    ) -> Response:
        """Run ``produce`` once per key; answer every retry as the first time. ``request``
        is what makes two requests the same (method, path, If-Match, body), fingerprinted
        only when there is a key. A refusal reads in ``lang``, the first time and replayed."""
        if key is None:
            return _run(produce, Command()).response(lang=lang)
        key = check_key(key)
        request_fingerprint = fingerprint(self._secret, *request)
        found = self._ledger.find_key(credential_id, key)
        if found is not None:
            return _replay(found, request_fingerprint, replay, lang)
        command = Command(credential_id=credential_id, key=key, fingerprint=request_fingerprint)
        try:
            answer = _run(produce, command)
        except KeyTaken as taken:  # a concurrent request with this key committed first
            return _replay(taken.row, request_fingerprint, replay, lang)
        if answer.status != RECORDED and answer.status < 500:
            stored = self._ledger.store_refusal(
                command, answer.status, {"body": answer.body, "headers": answer.headers}
            )
            if stored.command_id != command.id:
                return _replay(stored, request_fingerprint, replay, lang)
        return answer.response(lang=lang)


def after_commit(render: Callable[[], Answer], case: Any) -> Answer:
    """The answer to a command whose events are stored: ``render()``, or, if that fails
    (the store went away just after the commit), a 201 with what is known without it. An
    event that was stored is always answered 201 (docs/adr/0040-exactly-once.md)."""
    try:
        return render()
    except Exception:
        log.exception("the answer of a recorded command could not be rendered")
        return Answer(RECORDED, {
            "id": str(case.id), "case_id": str(case.id), "version": case.version,
            "step": str(case.step.value), "status": "open" if case.is_open else "closed",
            "hash": case.head_hash, "partial": True,
        }, {"ETag": f'"{case.version}"', "Location": f"/cases/{case.id}"})


def _run(produce: Produce, command: Command) -> Answer:
    """The command's answer; a refusal is an answer too (and is replayed like one)."""
    try:
        return produce(command)
    except DomainError as error:
        return Answer.of_problem(problem_of(error))
    except Problem as problem:
        return Answer.of_problem(problem)
    except OutcomeUnknown:
        return Answer.of_problem(Problem(
            503, "outcome_unknown",
            "the store could not say in time whether this request was recorded; retry it "
            "with the same Idempotency-Key to learn the outcome",
            {"Retry-After": RETRY_AFTER},
        ))
    except StoreUnavailable:
        return Answer.of_problem(Problem(
            503, "store_unavailable",
            "the store is busy or restarting; nothing was recorded, retry later",
            {"Retry-After": RETRY_AFTER},
        ))


def _replay(row: CommandRow, request_fingerprint: str, replay: Replay, lang: Lang
            ) -> Response:
    if row.fingerprint != request_fingerprint:
        raise Problem(
            422, "idempotency_key_reused",
            "this Idempotency-Key was used with a different request",
        )
    if row.status == RECORDED:
        return replay(row).response(replayed=True)
    stored = row.answer or {}
    return Answer(
        row.status, stored.get("body", {}), stored.get("headers", {}), PROBLEM_JSON
    ).response(replayed=True, lang=lang)
