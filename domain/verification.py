"""Verifying hash chains from the stored rows (防篡改校验).

``ChainWalker`` takes stored rows (case id, version, topic, state bytes) in log order, for
any number of cases at once, and checks each event exactly as docs/adr/0004 specifies:

1. it is the next version of its case;
2. its topic is one of the case topics and its bytes decode;
3. re-encoding the decoded state gives exactly the stored bytes (so a changed byte is
   caught even where it would decode to an equal value);
4. its ``prev_hash`` is the previous event's ``hash``;
5. its ``hash`` is the SHA-256 of its canonical content.

It works on the JSON directly, decoding each event once, so that a whole store verifies in
one ordered scan. The encoding it expects is the library's (``JSONTranscoder``: compact
separators, non-ASCII as is, times as ``{"_type_": "datetime_iso", "_data_": ...}``);
tests/store check that it agrees with the library's own decoding on every event type.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.catalogue import CATALOGUE
from domain.chain import GENESIS, canonical_bytes

CASE_TOPIC = "yishi:Case"
_EVENT_TOPICS = {f"{CASE_TOPIC}.{name}": name for name in CATALOGUE}
_ENVELOPE = ("actor_id", "actor_role", "step_before", "step_after", "data", "prev_hash", "hash")
_KEYS = ("timestamp", *_ENVELOPE)
_CREATED_KEYS = ("timestamp", "originator_topic", *_ENVELOPE)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


@dataclass(frozen=True)
class ChainReport:
    """The outcome of recomputing one case's hash chain."""

    case_id: UUID
    events: int
    head: str | None
    valid: bool
    broken_at: int | None = None
    reason: str | None = None


class _Broken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChainWalker:
    """Checks events fed in log order; remembers, per case, where its chain has got to."""

    def __init__(self) -> None:
        self._heads: dict[UUID, tuple[int, str]] = {}  # case -> (events checked, last hash)
        self._broken: dict[UUID, ChainReport] = {}

    def feed(self, case_id: UUID, version: int, topic: str, state: bytes) -> None:
        if case_id in self._broken:
            return
        count, previous = self._heads.get(case_id, (0, GENESIS))
        if version != count + 1:
            self._break(case_id, count + 1, count, f"version {count + 1} is missing")
            return
        try:
            digest = _check(case_id, version, topic, state, previous)
        except _Broken as broken:
            self._break(case_id, version, version, broken.reason)
            return
        self._heads[case_id] = (version, digest)

    def reports(self) -> list[ChainReport]:
        """One report per case seen, in the order the cases first appeared."""
        seen = dict.fromkeys([*self._heads, *self._broken])
        return [self.report(case_id) for case_id in seen]

    def report(self, case_id: UUID) -> ChainReport:
        if case_id in self._broken:
            return self._broken[case_id]
        count, head = self._heads[case_id]
        return ChainReport(case_id, count, head, True)

    def _break(self, case_id: UUID, version: int, count: int, reason: str) -> None:
        self._broken[case_id] = ChainReport(case_id, count, None, False, version, reason)
        self._heads.pop(case_id, None)


def _check(case_id: UUID, version: int, topic: str, state: bytes, previous: str) -> str:
    event_type = _EVENT_TOPICS.get(topic)
    if event_type is None:
        raise _Broken("event cannot be read: unknown topic")
    try:
        document: dict[str, Any] = json.loads(state)
        recorded_at = _timestamp(document)
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise _Broken(f"event cannot be read: {type(error).__name__}") from None
    expected_keys = _CREATED_KEYS if version == 1 else _KEYS
    if tuple(document) != expected_keys or (
        version == 1 and document["originator_topic"] != CASE_TOPIC
    ):
        raise _Broken("event cannot be read: unexpected fields")
    if _encode(document).encode("utf-8") != bytes(state):
        raise _Broken("stored bytes differ from the event's encoding")
    if document["prev_hash"] != previous:
        raise _Broken("previous-hash link does not match")
    try:
        content = canonical_bytes(
            case_id=case_id,
            version=version,
            event_type=event_type,
            recorded_at=recorded_at,
            actor_id=document["actor_id"],
            actor_role=document["actor_role"],
            step_before=document["step_before"],
            step_after=document["step_after"],
            data=document["data"],
            prev_hash=previous,
        )
    except (TypeError, ValueError):
        raise _Broken("hash does not match the event's content") from None
    digest = hashlib.sha256(content).hexdigest()
    if digest != document["hash"]:
        raise _Broken("hash does not match the event's content")
    return digest


def _timestamp(document: dict[str, Any]) -> datetime:
    stamp = document["timestamp"]
    if stamp["_type_"] != "datetime_iso":
        raise ValueError("not a time")
    moment = datetime.fromisoformat(stamp["_data_"])
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment
