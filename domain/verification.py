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
one ordered scan (``stored_rows``). The encoding it expects is the library's
(``JSONTranscoder``: compact separators, non-ASCII as is, times as
``{"_type_": "datetime_iso", "_data_": ...}``); tests/store check that it agrees with the
library's own decoding on every event type.

Two paths, one verdict. Each event is first tried on a *fast path* that decodes and
encodes with orjson; it can only vouch for an event, never condemn one. It vouches when
every check above passes *and* the decoded event holds no float anywhere (the catalogue
allows none; orjson and Python's ``json`` print some floats differently, and orjson reads
integers beyond 64 bits as floats). For every other value orjson's output is byte for byte
that of ``json.dumps(..., separators=(",", ":"), ensure_ascii=False)`` (with
``OPT_SORT_KEYS``: of ``sort_keys=True``), which tests/store/test_fast_verification.py
proves with Hypothesis over arbitrary Unicode strings, 64-bit integers and nested lists and
objects; and a module-level probe switches the fast path off if an installed orjson ever
disagrees. Whatever the fast path does not vouch for goes through the reference path
(``_check``: Python's ``json``, the text of ADR 0004), which decides and names the reason,
so verdicts and reasons are the reference path's for every stored byte.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

import orjson

from domain.catalogue import CATALOGUE, canonical_time
from domain.chain import GENESIS, canonical_bytes
from domain.fee_topics import FEE_TOPICS
from domain.participant_topics import PARTICIPANT_TOPICS
from domain.providers.topics import PROVIDER_TOPICS
from domain.unit_topics import UNIT_TOPICS

CASE_TOPIC = "yishi:Case"
_EVENT_TOPICS = {f"{CASE_TOPIC}.{name}": name for name in CATALOGUE}
# Every other stream carries the same envelope and chain (domain/stream.py): the directory
# (docs/adr/0071), the participants' ledgers (docs/adr/0101) and fee periods (docs/adr/0110).
_EVENT_TOPICS.update(UNIT_TOPICS)
_EVENT_TOPICS.update(PARTICIPANT_TOPICS)
_EVENT_TOPICS.update(FEE_TOPICS)
# And so do the providers' streams (docs/adr/0090-provider-stream.md).
_EVENT_TOPICS.update(PROVIDER_TOPICS)
#: The stream topic each event topic belongs to (checked on a stream's first event).
_ORIGINATORS = {topic: topic.split(".", 1)[0] for topic in _EVENT_TOPICS}
#: The kind of stream (``ChainReport.stream``) of each aggregate topic that is not a case.
STREAM_KINDS = {"yishi:Unit": "unit", "yishi:Participant": "participant",
                "yishi:FeePeriod": "fee", "yishi:Provider": "provider"}
_ENVELOPE = ("actor_id", "actor_role", "step_before", "step_after", "data", "prev_hash", "hash")
_KEYS = ("timestamp", *_ENVELOPE)
_CREATED_KEYS = ("timestamp", "originator_topic", *_ENVELOPE)
_encode = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode

#: A stored row as the walker takes it: case id, version, topic, state.
Row = tuple[UUID, int, str, bytes]


@dataclass(frozen=True)
class ChainReport:
    """The outcome of recomputing one case's hash chain."""

    case_id: UUID
    events: int
    head: str | None
    valid: bool
    broken_at: int | None = None
    reason: str | None = None
    #: "case", or the kind of another stream (``STREAM_KINDS``): "unit" for the directory,
    #: "participant" for a points ledger, "fee" for a fee period, "provider" for a provider.
    stream: str = "case"


class _Broken(Exception):
    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ChainWalker:
    """Checks events fed in log order; remembers, per case, where its chain has got to."""

    def __init__(self) -> None:
        # Keyed by the case id's integer: hashed and compared in C, where a UUID's own
        # __hash__ and __eq__ are Python calls (and the rows bring a new UUID object each).
        # case -> (events checked, last hash, the id as text for the canonical bytes, the id)
        self._heads: dict[int, tuple[int, str, str, UUID]] = {}
        self._broken: dict[int, ChainReport] = {}
        #: The kind of each stream that is not a case (by the topic of its first event).
        self._kinds: dict[int, str] = {}

    def feed(self, case_id: UUID, version: int, topic: str, state: bytes) -> str | None:
        """Check one stored event; its chain hash (64 lower-case hex, the ``hash`` its
        bytes carry) if it is the next valid link of its case, else None (the case is then
        broken from here on: ``reports`` says where and why)."""
        key = case_id.int
        head = self._heads.get(key)
        if head is None:
            kind = STREAM_KINDS.get(topic.split(".", 1)[0])
            if kind is not None:
                self._kinds[key] = kind
            if key in self._broken:
                return None
            head = (0, GENESIS, str(case_id), case_id)
        count, previous, text, _ = head
        if version != count + 1:
            self._break(case_id, count + 1, count, f"version {count + 1} is missing")
            return None
        digest = _vouch(text, version, topic, state, previous) if _FAST else None
        if digest is None:
            try:
                digest = _check(case_id, version, topic, state, previous)
            except _Broken as broken:
                self._break(case_id, version, version, broken.reason)
                return None
        self._heads[key] = (version, digest, text, head[3])
        return digest

    def reports(self) -> list[ChainReport]:
        """One report per case seen, in the order the cases first appeared."""
        seen = dict.fromkeys([*self._heads, *self._broken])
        return [self._report(key) for key in seen]

    def report(self, case_id: UUID) -> ChainReport:
        return self._report(case_id.int)

    def _report(self, key: int) -> ChainReport:
        if key in self._broken:
            return self._broken[key]
        count, head, _, case_id = self._heads[key]
        return ChainReport(case_id, count, head, True, stream=self._stream(key))

    def _stream(self, key: int) -> str:
        return self._kinds.get(key, "case")

    def _break(self, case_id: UUID, version: int, count: int, reason: str) -> None:
        self._broken[case_id.int] = ChainReport(case_id, count, None, False, version, reason,
                                                self._stream(case_id.int))
        self._heads.pop(case_id.int, None)


# The reference path ----------------------------------------------------------------------


def _check(case_id: UUID, version: int, topic: str, state: bytes, previous: str) -> str:
    """The checks of ADR 0004 with Python's ``json``: the digest, or ``_Broken(reason)``."""
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
        version == 1 and document["originator_topic"] != _ORIGINATORS[topic]
    ):
        raise _Broken("event cannot be read: unexpected fields")
    try:
        encoded = _encode(document).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate written as an escape: not our encoding
        encoded = None
    # The library writes a time as ``isoformat()``, which ``fromisoformat`` reads back from
    # other spellings too (any separator for "T", for one): only its own spelling is ours.
    if encoded != bytes(state) or recorded_at.isoformat() != document["timestamp"]["_data_"]:
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
    if tuple(stamp) != ("_type_", "_data_") or stamp["_type_"] != "datetime_iso":
        raise ValueError("not a time")
    moment = datetime.fromisoformat(stamp["_data_"])
    if moment.tzinfo is None:
        raise ValueError("a time without a zone")
    return moment


# The fast path ---------------------------------------------------------------------------

_loads = orjson.loads
_dumps = orjson.dumps
_SORTED = orjson.OPT_SORT_KEYS
#: ``canonical_time``'s own output form: UTC, microseconds, ASCII digits only.
_CANONICAL_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{6}\+00:00"
)
#: ``isoformat`` leaves out a zero fraction, so such a text is never its own spelling.
_NO_FRACTION = ".000000+00:00"
#: A UTC time on a whole second as ``isoformat`` writes it (canonical_time adds the zeros).
_WHOLE_SECOND = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\+00:00")
_sha256 = hashlib.sha256


def _vouch(case_text: str, version: int, topic: str, state: bytes, previous: str) -> str | None:
    """The event's digest if every check of ADR 0004 passes with orjson, else None (which
    says nothing: the reference path then decides). Only vouches for events without floats,
    where orjson and ``json`` write the same bytes; ``case_text`` is ``str(case_id)``."""
    event_type = _EVENT_TOPICS.get(topic)
    if event_type is None:
        return None
    try:
        document = _loads(state)
    except orjson.JSONDecodeError:
        return None
    if type(document) is not dict or tuple(document) != (
        _CREATED_KEYS if version == 1 else _KEYS
    ):
        return None
    if (
        (version == 1 and document["originator_topic"] != _ORIGINATORS[topic])
        or document["prev_hash"] != previous
        or _dumps(document) != state
        # No float anywhere: the timestamp's two values are texts (``_timestamp``), the hashes
        # and the topic equal texts, these four are texts, and ``data`` holds none.
        or type(document["actor_id"]) is not str
        or type(document["actor_role"]) is not str
        or type(document["step_after"]) is not str
        or (document["step_before"] is not None and type(document["step_before"]) is not str)
        or type(document["data"]) is not dict
        or not _floatless(document["data"])
    ):
        return None
    try:
        moment = _timestamp(document)
    except (ValueError, TypeError, KeyError, AttributeError):
        return None
    # A text already in canonical_time's form (it parsed, so its fields are valid) is what
    # canonical_time would give back, and with a nonzero fraction also what ``isoformat``
    # writes; a whole second without a fraction is isoformat's, and canonical_time adds
    # ".000000" (both proved in tests/store/test_fast_verification.py); anything else is
    # converted and compared as the reference does.
    recorded_at = document["timestamp"]["_data_"]
    if _CANONICAL_TIME.fullmatch(recorded_at) and not recorded_at.endswith(_NO_FRACTION):
        pass
    elif _WHOLE_SECOND.fullmatch(recorded_at):  # isoformat's own spelling of a whole second
        recorded_at = recorded_at[:19] + _NO_FRACTION
    else:
        if moment.isoformat() != recorded_at:
            return None
        recorded_at = canonical_time(moment)
    content = _dumps(
        {
            "actor": {"id": document["actor_id"], "role": document["actor_role"]},
            "case_id": case_text,
            "data": document["data"],
            "prev_hash": previous,
            "recorded_at": recorded_at,
            "step_after": document["step_after"],
            "step_before": document["step_before"],
            "type": event_type,
            "version": version,
        },
        option=_SORTED,
    )
    digest = _sha256(content).hexdigest()
    return digest if digest == document["hash"] else None


def _floatless(value: Any) -> bool:
    """True if no float occurs anywhere in a decoded JSON value."""
    kind = type(value)
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return kind is not float
    for item in value:
        kind = type(item)
        if kind is float or ((kind is dict or kind is list) and not _floatless(item)):
            return False
    return True


def _reference_bytes(value: Any, *, sort_keys: bool = False) -> bytes:
    """What ADR 0004 means by the encoding: Python's ``json`` (tests compare against it)."""
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys
    ).encode("utf-8")


def _orjson_agrees() -> bool:
    """Does the installed orjson write these probes exactly as Python's ``json`` does? The
    probes cover escapes, non-BMP text, key order with and without sorting, 64-bit ints."""
    probes: list[Any] = [
        "\x00\x08\t\n\x0b\x0c\r\x1f\x7f\"\\/ é 议事 \u2028\u2029\ufeff\U0001f600",
        [2**63 - 1, -(2**63), 2**64 - 1, 0, -1, True, False, None, [], {}],
        {"b": 1, "a": {"\U0001f600": 1, "\uffff": 2, "Z": [{"y": 1, "x": 2}]}, "": None},
    ]
    return all(
        _dumps(probe) == _reference_bytes(probe)
        and _dumps(probe, option=_SORTED) == _reference_bytes(probe, sort_keys=True)
        and _loads(_reference_bytes(probe)) == probe
        for probe in probes
    )


#: The fast path is used only while the installed orjson passes the probes.
_FAST = _orjson_agrees()


# Reading the log -------------------------------------------------------------------------


def stored_rows(recorder: Any, page_size: int = 10_000) -> Iterator[Row]:
    """Every stored event in log order, straight from the events table in pages of
    ``page_size`` rows (keyset on the notification id), as ``(case id, version, topic,
    state)``. Stores without SQL (the in-memory one) go through the library's
    ``select_notifications``."""
    # Imported here: the auditor's commands use the walker above without any store.
    from eventsourcing.postgres import PostgresDatastore  # noqa: PLC0415
    from eventsourcing.sqlite import SQLiteDatastore  # noqa: PLC0415

    datastore = getattr(recorder, "datastore", None)
    if isinstance(datastore, PostgresDatastore):
        yield from _postgres_rows(datastore, recorder.events_table_name, page_size)
    elif isinstance(datastore, SQLiteDatastore):
        yield from _sqlite_rows(datastore, recorder.events_table_name, page_size)
    else:
        start = 1
        while page := recorder.select_notifications(start=start, limit=page_size):
            for row in page:
                yield UUID(str(row.originator_id)), row.originator_version, row.topic, row.state
            start = page[-1].id + 1


def _tuple_row(cursor: Any) -> Any:
    """psycopg's ``tuple_row`` (the domain layer does not import the driver)."""
    return tuple


def _postgres_rows(datastore: Any, table: str, page_size: int) -> Iterator[Row]:
    statement = (
        "SELECT notification_id, originator_id, originator_version, topic, state"
        f' FROM "{datastore.schema}"."{table}"'
        " WHERE notification_id > %s ORDER BY notification_id LIMIT %s"
    )

    def fetch(after: int) -> list[Any]:
        # Binary results: bytea arrives as is instead of as hex text to decode.
        with datastore.get_connection() as conn, conn.cursor(row_factory=_tuple_row) as curs:
            curs.execute(statement, (after, page_size), binary=True)
            rows: list[Any] = curs.fetchall()
            return rows

    # The next page is read in a thread while this one is checked (the wait for the server
    # overlaps with the checking).
    with ThreadPoolExecutor(1, thread_name_prefix="yishi-verify-read") as reader:
        ahead = reader.submit(fetch, 0)
        while True:
            page = ahead.result()
            if len(page) == page_size:
                ahead = reader.submit(fetch, page[-1][0])
            for _, case_id, version, topic, state in page:
                yield case_id, version, topic, state
            if len(page) < page_size:
                return


def _sqlite_rows(datastore: Any, table: str, page_size: int) -> Iterator[Row]:
    statement = (
        f'SELECT rowid, originator_id, originator_version, topic, state FROM "{table}"'
        " WHERE rowid > ? ORDER BY rowid LIMIT ?"
    )
    ids: dict[str, UUID] = {}
    after = 0
    while True:
        with datastore.transaction(commit=False) as curs:
            curs.execute(statement, (after, page_size))
            page = curs.fetchall()
        for _, raw_id, version, topic, state in page:
            case_id = ids.get(raw_id)
            if case_id is None:
                case_id = ids[raw_id] = UUID(raw_id)
            yield case_id, version, topic, state
        if len(page) < page_size:
            return
        after = page[-1][0]
