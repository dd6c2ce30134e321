"""Bounds on input (docs/adr/0041-bounds.md): every integer field has its range, every time
lies from 2000-01-01 to 2100-01-01 China time, texts refuse control characters, titles are
one line, codes match their pattern. The domain is the authority: these are checked by
``validate_data`` for every field of the catalogue, whatever the HTTP layer lets through."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from api.http.models import EXAMPLES as EXAMPLE_VALUES
from domain.bounds import (
    EARLIEST,
    JSON_SAFE_INTEGER,
    LATEST,
    check_code,
    clean_text,
    parse_time,
    printable,
)
from domain.catalogue import CATALOGUE, Field, Kind, validate_data
from domain.errors import InvalidEventData

INT_FIELDS = [
    (event, name, spec)
    for event, fields in CATALOGUE.items()
    for name, spec in fields.items()
    if spec.kind is Kind.INT
]
TIME_FIELDS = [
    (event, name)
    for event, fields in CATALOGUE.items()
    for name, spec in fields.items()
    if spec.kind is Kind.DATETIME
]
TEXT_FIELDS = [
    (event, name, spec)
    for event, fields in CATALOGUE.items()
    for name, spec in fields.items()
    if spec.kind is Kind.TEXT
]


def valid(event_type: str, **changes: Any) -> dict[str, Any]:
    data = dict(EXAMPLE_VALUES[event_type])
    data.update(changes)
    return data


def refused_field(event_type: str, data: dict[str, Any]) -> set[str]:
    with pytest.raises(InvalidEventData) as raised:
        validate_data(event_type, data)
    return set(raised.value.errors)


def test_every_integer_field_has_a_json_safe_range() -> None:
    assert INT_FIELDS, "the catalogue has integer fields"
    for event, name, spec in INT_FIELDS:
        assert spec.minimum is not None, (event, name)
        assert spec.maximum is not None, (event, name)
        assert -JSON_SAFE_INTEGER <= spec.minimum <= spec.maximum <= JSON_SAFE_INTEGER


@pytest.mark.parametrize(("event", "name", "spec"), INT_FIELDS, ids=lambda v: str(v)[:30])
def test_integers_outside_their_range_are_refused(event: str, name: str, spec: Field) -> None:
    assert spec.minimum is not None
    assert spec.maximum is not None
    # A meeting of no votes and nobody named holds any number of attendees (the figures
    # across fields, domain/rules.py FIGURES, are their own test).
    base = ({"votes": {"for": 0, "against": 0, "abstain": 0}, "outcome": "not_agreed",
             "attendee_ids": None} if event == "MeetingHeld" else {})
    validate_data(event, valid(event, **base, **{name: spec.maximum}))
    validate_data(event, valid(event, **base, **{name: spec.minimum}))
    for bad in (spec.maximum + 1, spec.minimum - 1, 2**64, -(2**64), 2**53):
        assert refused_field(event, valid(event, **base, **{name: bad})) == {name}


@given(st.sampled_from(["for", "against", "abstain"]), st.integers())
def test_votes_have_the_range_of_domain_md(which: str, count: int) -> None:
    votes = {"for": 0, "against": 0, "abstain": 0, which: count}
    data = valid("MeetingHeld", votes=votes, outcome="agreed" if votes["for"] > votes["against"]
                 else "not_agreed", attendees=100_000, attendee_ids=None)
    if 0 <= count <= 100_000:
        validate_data("MeetingHeld", data)
    else:
        assert refused_field("MeetingHeld", data) == {f"votes.{which}"}


# Times --------------------------------------------------------------------------------


offsets = st.integers(min_value=-(24 * 60 - 1), max_value=24 * 60 - 1).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)
any_time = st.datetimes(min_value=datetime.min, max_value=datetime.max, timezones=offsets)


@given(any_time, st.sampled_from(TIME_FIELDS))
def test_every_time_field_takes_exactly_the_bounded_interval(
    moment: datetime, field: tuple[str, str]
) -> None:
    event, name = field
    try:
        inside = EARLIEST <= moment <= LATEST
    except OverflowError:
        inside = False
    for form in (moment.isoformat(), moment):
        data = valid(event, **{name: form})
        if inside:
            assert validate_data(event, data)[name].startswith(
                moment.astimezone(UTC).isoformat()[:19]
            )
        else:
            assert refused_field(event, data) == {name}


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("2000-01-01T00:00:00+08:00", True),
        ("1999-12-31T16:00:00Z", True),
        ("1999-12-31T15:59:59.999999Z", False),
        ("2100-01-01T00:00:00+08:00", True),
        ("2100-01-01T00:00:00.000001+08:00", False),
        ("0001-01-01T00:00:00Z", False),
        ("9999-12-31T23:59:59-23:59", False),
        ("2026-01-01T00:00:00", False),
        ("yesterday", False),
    ],
)
def test_the_time_bounds_are_closed_and_in_china_time(text: str, ok: bool) -> None:
    if ok:
        assert parse_time(text).tzinfo is UTC
    else:
        with pytest.raises(ValueError, match=r"time|must lie"):
            parse_time(text)


# Texts and codes ----------------------------------------------------------------------


controls = st.sampled_from(
    [chr(c) for c in range(0x20) if chr(c) not in "\n\t\r"] + ["\x7f", "\x85", "\x9b"]
)


@given(st.text(max_size=20), controls, st.text(max_size=20))
def test_texts_refuse_control_characters(before: str, control: str, after: str) -> None:
    with pytest.raises(ValueError, match="control character"):
        clean_text(before.replace("\r", "") + control + after.replace("\r", ""))


@pytest.mark.parametrize(("event", "name", "spec"), TEXT_FIELDS, ids=lambda v: str(v)[:30])
def test_every_text_field_refuses_escape_sequences(event: str, name: str, spec: Field) -> None:
    assert refused_field(event, valid(event, **{name: "红色\x1b[31m警告"})) == {name}


def test_cr_and_crlf_become_newlines_and_titles_are_one_line() -> None:
    data = validate_data("CommentAdded", {"text": "第一行\r\n第二行\r第三行"})
    assert data["text"] == "第一行\n第二行\n第三行"
    for event in ("ProblemReported", "TopicFormed"):
        for bad in ("两\n行", "两\r\n行", "段\u2028落", "段\u2029落",
                    "\u202egnp.exe", "a\u2066b\u2069"):
            assert refused_field(event, valid(event, title=bad)) == {"title"}, bad


@given(st.text(max_size=40))
def test_codes_match_their_pattern(code: str) -> None:
    ok = 1 <= len(code) <= 32 and all(c.isascii() and (c.isalnum() or c in "_-") for c in code)
    data = valid("ProblemReported", compound_id=code)
    if ok:
        assert check_code(code) == code
        validate_data("ProblemReported", data)
    else:
        assert refused_field("ProblemReported", data) == {"compound_id"}


@given(st.text())
def test_printable_text_is_one_line_of_visible_characters(text: str) -> None:
    shown = printable(text)
    assert shown.isprintable()
    assert "\x1b" not in shown
    assert "\n" not in shown
    if text.isprintable() and not any(0x202A <= ord(c) <= 0x202E for c in text):
        assert shown == text or any(ord(c) in (0x61C, 0x200E, 0x200F) or
                                    0x2066 <= ord(c) <= 0x2069 for c in text)
