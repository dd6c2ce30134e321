"""The fast verification path (orjson) vouches only where the reference path (Python's
``json``, ADR 0004) agrees, and never decides a verdict or a reason on its own.

1. For every value the catalogue allows (texts in any Unicode, integers, booleans, null,
   nested lists and objects) orjson writes exactly the bytes of ``json.dumps(...,
   separators=(",", ":"), ensure_ascii=False)``, with ``OPT_SORT_KEYS`` those of
   ``sort_keys=True``, and reads them back to the same value.
2. Values outside it (floats, integers beyond 64 bits, lone surrogates) are never vouched
   for: the reference path decides.
3. Arbitrary changes to real stored events (from the demo district): whatever the fast path
   vouches for, the reference path accepts with the same digest, and a walker with the fast
   path gives the same reports (verdict, version, reason) as one without.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain import verification
from domain.application import Cases, open_cases
from domain.chain import GENESIS
from domain.clock import ManualClock
from domain.verification import ChainWalker, Row, _Broken, _check, _vouch, stored_rows
from simulation.driver import generate
from tests.district import register_district

NOW = datetime(2026, 11, 1, tzinfo=UTC)

texts = st.text(st.characters(codec="utf-8"))  # every code point but lone surrogates
integers = st.integers(min_value=-(2**63), max_value=2**64 - 1)
scalars = st.none() | st.booleans() | integers | texts
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=6) | st.dictionaries(texts, inner, max_size=6),
    max_leaves=40,
)


def reference(value: Any, *, sort_keys: bool = False) -> bytes:
    return json.dumps(
        value, separators=(",", ":"), ensure_ascii=False, sort_keys=sort_keys
    ).encode("utf-8")


# 1. The same bytes for every value the catalogue allows --------------------------------


@settings(max_examples=1500, deadline=None)
@given(values)
def test_orjson_writes_the_reference_bytes_and_reads_them_back(value: Any) -> None:
    assert orjson.dumps(value) == reference(value)
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == reference(value, sort_keys=True)
    encoded = reference(value)
    assert orjson.loads(encoded) == value
    assert orjson.dumps(orjson.loads(encoded)) == encoded  # types too (True is not 1)


@settings(max_examples=500, deadline=None)
@given(st.dictionaries(texts, integers, min_size=2, max_size=12))
def test_orjson_sorts_keys_by_code_point_as_python_does(value: dict[str, int]) -> None:
    assert orjson.dumps(value, option=orjson.OPT_SORT_KEYS) == reference(value, sort_keys=True)


def test_the_probe_passes_with_the_installed_orjson() -> None:
    assert verification._orjson_agrees()
    assert verification._FAST


# 2. Values outside the catalogue go to the reference path -------------------------------


def forged(data: dict[str, Any], *, encode: Any = reference) -> tuple[UUID, bytes]:
    """A first event with ``data``, hashed as the attacker's encoder would."""
    case_id = UUID("12345678-1234-5678-1234-567812345678")
    stamp = "2026-03-02T09:00:00.123456+00:00"  # as the library writes it (isoformat)
    content = encode({
        "actor": {"id": "r1", "role": "resident"}, "case_id": str(case_id), "data": data,
        "prev_hash": GENESIS, "recorded_at": stamp, "step_after": "collect",
        "step_before": None, "type": "ProblemReported", "version": 1,
    }, sort_keys=True)
    state = {
        "timestamp": {"_type_": "datetime_iso", "_data_": stamp},
        "originator_topic": "yishi:Case", "actor_id": "r1", "actor_role": "resident",
        "step_before": None, "step_after": "collect", "data": data, "prev_hash": GENESIS,
        "hash": hashlib.sha256(content).hexdigest(),
    }
    return case_id, encode(state)


def orjson_encode(value: Any, *, sort_keys: bool = False) -> bytes:
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS if sort_keys else 0)


TOPIC = "yishi:Case.ProblemReported"


@pytest.mark.parametrize(
    "data",
    [{"n": 1.5}, {"n": [1, {"m": 1e16}]}, {"n": 10**30}, {"n": -(10**25)}, {"n": 0.1}],
    ids=["float", "nested-float-exponent", "big-int", "big-negative", "tenth"],
)
def test_floats_and_integers_beyond_64_bits_are_left_to_the_reference(
    data: dict[str, Any]
) -> None:
    case_id, state = forged(data)
    assert _vouch(str(case_id), 1, TOPIC, state, GENESIS) is None
    # The reference path still decides (json writes these, so the event is valid to it).
    assert _check(case_id, 1, TOPIC, state, GENESIS)


def test_an_event_forged_with_orjson_floats_is_refused_as_the_reference_refuses_it() -> None:
    """1e-05 is "0.00001" to orjson and "1e-05" to json: bytes written and hashed with orjson
    must fail exactly as before (stored bytes differ), not pass on the fast path."""
    case_id, state = forged({"n": 1e-05}, encode=orjson_encode)
    assert b"0.00001" in state
    assert _vouch(str(case_id), 1, TOPIC, state, GENESIS) is None
    with pytest.raises(_Broken, match="stored bytes differ"):
        _check(case_id, 1, TOPIC, state, GENESIS)


def test_a_lone_surrogate_is_left_to_the_reference_which_names_the_bytes() -> None:
    case_id, state = forged({"title": "x"})
    state = state.replace(b'"title":"x"', b'"title":"\\ud800"')
    assert _vouch(str(case_id), 1, TOPIC, state, GENESIS) is None
    with pytest.raises(_Broken, match="stored bytes differ"):
        _check(case_id, 1, TOPIC, state, GENESIS)


def test_an_extra_field_in_the_timestamp_is_caught_on_both_paths() -> None:
    case_id, state = forged({"title": "x"})
    state = state.replace(b'+00:00"}', b'+00:00","x":1}', 1)
    assert _vouch(str(case_id), 1, TOPIC, state, GENESIS) is None
    with pytest.raises(_Broken, match="event cannot be read"):
        _check(case_id, 1, TOPIC, state, GENESIS)


# 3. Tampering with real stored events ----------------------------------------------------


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> list[Row]:
    """The rows of a small demo district (every kind of event, Chinese text; the sealed
    contacts differ from run to run, so draws must not depend on the bytes)."""
    path = tmp_path_factory.mktemp("district") / "yishi.db"
    app = register_district(open_cases(f"sqlite:///{path}", clock=ManualClock(NOW)))
    generate(app, cases=12, seed=3, now=NOW)
    rows = list(stored_rows(app.recorder))
    app.close()
    return rows


def walk(rows: list[Row], *, fast: bool) -> list[Any]:
    saved = verification._FAST
    verification._FAST = fast
    try:
        walker = ChainWalker()
        for row in rows:
            walker.feed(*row)
        return walker.reports()
    finally:
        verification._FAST = saved


def test_the_district_verifies_on_the_fast_path_alone(
    district: list[Row], monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: Any) -> str:
        raise AssertionError("the reference path was needed")

    monkeypatch.setattr(verification, "_check", refuse)
    reports = walk(district, fast=True)
    assert all(report.valid for report in reports)
    assert sum(report.events for report in reports) == len(district)


#: Positions are drawn from a fixed range and taken modulo the lengths: the district's sealed
#: contacts differ from run to run, so no draw may depend on its bytes (and no example is
#: kept between runs: it would point elsewhere).
ANYWHERE = st.integers(min_value=0, max_value=10**6)

changes = st.tuples(
    st.sampled_from(["replace", "insert", "delete"]),
    st.integers(min_value=0, max_value=10**6),
    st.binary(min_size=1, max_size=3),
)


def changed(state: bytes, change: tuple[str, int, bytes]) -> bytes:
    kind, at, payload = change
    at %= len(state)
    if kind == "replace":
        return state[:at] + payload + state[at + len(payload):]
    if kind == "insert":
        return state[:at] + payload + state[at:]
    return state[:at] + state[at + len(payload):]


@settings(max_examples=600, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data(), st.lists(changes, min_size=1, max_size=3))
def test_whatever_the_fast_path_vouches_for_the_reference_accepts(
    district: list[Row], data: st.DataObject, edits: list[tuple[str, int, bytes]]
) -> None:
    index = data.draw(ANYWHERE) % len(district)
    case_id, version, topic, state = district[index]
    previous = GENESIS
    if version > 1:
        previous = next(json.loads(s)["hash"] for c, v, _, s in district
                        if c == case_id and v == version - 1)
    for edit in edits:
        state = changed(state, edit)
    vouched = _vouch(str(case_id), version, topic, state, previous)
    try:
        checked: str | None = _check(case_id, version, topic, state, previous)
    except _Broken:
        checked = None
    if vouched is not None:
        assert vouched == checked
    # And the whole walk reports the same with and without the fast path.
    rows = [*district[:index], (case_id, version, topic, state), *district[index + 1:]]
    assert walk(rows, fast=True) == walk(rows, fast=False)


@settings(max_examples=300, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(ANYWHERE, ANYWHERE, st.integers(min_value=1, max_value=255))
def test_one_changed_byte_anywhere_breaks_the_chain_at_that_event_with_the_same_reason(
    district: list[Row], which: int, where: int, delta: int
) -> None:
    index = which % len(district)
    case_id, version, topic, state = district[index]
    at = where % len(state)
    tampered = state[:at] + bytes([(state[at] + delta) % 256]) + state[at + 1:]
    rows = [*district[:index], (case_id, version, topic, tampered), *district[index + 1:]]
    fast, slow = walk(rows, fast=True), walk(rows, fast=False)
    assert fast == slow
    broken = [report for report in fast if not report.valid]
    assert [(r.case_id, r.broken_at) for r in broken] == [(case_id, version)]


# Reading the log ---------------------------------------------------------------------------


def test_stored_rows_are_the_librarys_notifications_in_order(
    durable_url: str, tmp_path: Path
) -> None:
    app: Cases = open_cases(durable_url, clock=ManualClock(NOW))
    try:
        generate(app, cases=5, seed=2, now=NOW)
        expected = [
            (UUID(str(n.originator_id)), n.originator_version, n.topic, n.state)
            for n in app.recorder.select_notifications(start=1, limit=10_000)
        ]
        assert list(stored_rows(app.recorder, page_size=7)) == expected
        assert list(stored_rows(app.recorder)) == expected
        reports = list(app.verify_all(page_size=7))
        assert all(report.valid for report in reports)
        assert sum(report.events for report in reports) == len(expected)
    finally:
        app.close()


@pytest.mark.parametrize("separator", [b"(", b" ", b"a"])
def test_a_time_spelt_otherwise_than_the_library_writes_it_breaks_the_chain(
    district: list[Row], separator: bytes
) -> None:
    # fromisoformat() reads "2026-04-29(00:22:04+00:00" as the same moment: the decoded
    # content and hash would agree, so only the spelling check catches this changed byte.
    index = next(i for i, row in enumerate(district) if row[1] == 3)
    case_id, version, topic, state = district[index]
    at = state.index(b'"_data_":"') + len(b'"_data_":"') + len("2026-04-29")
    assert state[at:at + 1] == b"T"
    tampered = state[:at] + separator + state[at + 1:]
    rows = [*district[:index], (case_id, version, topic, tampered), *district[index + 1:]]
    for fast in (True, False):
        broken = [report for report in walk(rows, fast=fast) if not report.valid]
        assert [(r.case_id, r.broken_at, r.reason) for r in broken] == [
            (case_id, version, "stored bytes differ from the event's encoding")
        ]


# The fast path's shortcut for times ------------------------------------------------------

digits = st.text(st.sampled_from("0123456789"), min_size=1, max_size=1)


@settings(max_examples=2000, deadline=None)
@given(st.lists(digits, min_size=26, max_size=26).map("".join))
def test_a_canonical_time_with_a_fraction_is_its_own_isoformat(number: str) -> None:
    # _vouch compares a time's text with isoformat() only when it is not in canonical_time's
    # form or has a zero fraction: for every other text that parses, the two agree.
    text = (f"{number[0:4]}-{number[4:6]}-{number[6:8]}T{number[8:10]}:{number[10:12]}:"
            f"{number[12:14]}.{number[14:20]}+00:00")
    assert verification._CANONICAL_TIME.fullmatch(text)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return  # _timestamp refuses it on both paths before any comparison
    fraction = not text.endswith(verification._NO_FRACTION)
    assert (moment.isoformat() == text) == fraction
    assert verification.canonical_time(moment) == text
    # The same time on its whole second, spelt without a fraction: isoformat's own spelling,
    # and canonical_time's with six zeros.
    whole = f"{text[:19]}+00:00"
    assert verification._WHOLE_SECOND.fullmatch(whole)
    second = datetime.fromisoformat(whole)
    assert second.isoformat() == whole
    assert verification.canonical_time(second) == text[:19] + verification._NO_FRACTION


@pytest.mark.parametrize("fraction", [".000000", ".000001", ".5", ""])
def test_a_time_with_a_zero_or_short_fraction_decides_as_the_reference_does(
    district: list[Row], fraction: str
) -> None:
    index = next(i for i, row in enumerate(district) if row[1] == 1)
    case_id, version, topic, state = district[index]
    start = state.index(b'"_data_":"') + len(b'"_data_":"')
    end = state.index(b'"', start)
    stamp = state[start:end].decode()
    base = stamp[:19]  # YYYY-MM-DDTHH:MM:SS
    respelt = state[:start] + f"{base}{fraction}+00:00".encode() + state[end:]
    rows = [*district[:index], (case_id, version, topic, respelt), *district[index + 1:]]
    assert walk(rows, fast=True) == walk(rows, fast=False)


def test_feed_answers_the_hash_the_stored_bytes_carry(district: list[Row]) -> None:
    walker = ChainWalker()
    for case_id, version, topic, state in district:
        assert walker.feed(case_id, version, topic, state) == json.loads(state)["hash"]
    case_id, version, topic, state = district[0]
    assert walker.feed(case_id, version, topic, state) is None  # not the next version
