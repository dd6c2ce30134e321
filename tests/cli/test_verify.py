"""``yishi verify`` finds one altered byte in the stored events, on SQLite and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from uuid import UUID

import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.cli.tampering import altered_byte, read_row, write_row
from tests.stories import advance, open_case

AppFactory = Callable[[str], Cases]
MIDDLE = 8  # DecisionPublished, in a case taken to closure along the straight path
CONTENT = "hash does not match the event's content"
LINK = "previous-hash link does not match"
UNREADABLE = "event cannot be read"


def two_closed_cases(url: str, app_factory: AppFactory, clock: ManualClock) -> tuple[UUID, UUID]:
    app = app_factory(url)
    victim, bystander = open_case(app), open_case(app, title="另一件事")
    advance(app, clock, victim, Step.CLOSED)
    advance(app, clock, bystander, Step.CLOSED)
    assert app.history(victim)[MIDDLE - 1].type == "DecisionPublished"
    app.close()
    return victim, bystander


def verify(url: str, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["--database-url", url, "verify", *args])
    return status, capsys.readouterr().out


def test_untampered_stores_verify(
    durable_url: str, app_factory: AppFactory, clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    victim, _ = two_closed_cases(durable_url, app_factory, clock)
    status, out = verify(durable_url, capsys)
    assert status == 0
    assert "checked 2 case(s), 32 event(s): 2 valid, 0 broken" in out
    status, out = verify(durable_url, capsys, str(victim))
    assert status == 0
    assert f"ok case {victim}: 16 events" in out


@pytest.mark.parametrize(
    ("marker", "offset", "reason"),
    [
        pytest.param(b'"publicity_days":', 0, CONTENT, id="data"),
        pytest.param(b'"notice":"', 0, UNREADABLE, id="data-inside-a-chinese-character"),
        pytest.param(b'"hash":"', 17, CONTENT, id="own-hash"),
        pytest.param(b'"prev_hash":"', 63, LINK, id="previous-hash"),
        pytest.param(b'"_data_":"2026-03-', 0, CONTENT, id="timestamp-day"),
        pytest.param(b'"_data_":"2026-03-0', 5, CONTENT, id="timestamp-minutes"),
        pytest.param(b'"actor_role":"', 0, CONTENT, id="actor"),
        pytest.param(b'"step_after":"', 1, CONTENT, id="step"),
        pytest.param(b"", 0, UNREADABLE, id="first-byte-of-the-json"),
    ],
)
def test_one_altered_byte_in_a_middle_event_is_named_by_case_and_version(
    durable_url: str, app_factory: AppFactory, clock: ManualClock,
    capsys: pytest.CaptureFixture[str], marker: bytes, offset: int, reason: str,
) -> None:
    victim, bystander = two_closed_cases(durable_url, app_factory, clock)
    topic, state = read_row(durable_url, victim, MIDDLE)
    tampered = altered_byte(state, marker, offset)
    assert tampered != state
    assert len(tampered) == len(state)
    write_row(durable_url, victim, MIDDLE, topic, tampered)

    status, out = verify(durable_url, capsys)
    assert status != 0
    assert f"BROKEN case {victim} at version {MIDDLE}: {reason}" in out
    assert str(bystander) not in out
    assert "1 valid, 1 broken" in out

    status, out = verify(durable_url, capsys, str(victim))
    assert status != 0
    assert f"BROKEN case {victim} at version {MIDDLE}:" in out

    status, out = verify(durable_url, capsys, str(bystander))
    assert status == 0
    assert f"ok case {bystander}" in out


@pytest.mark.parametrize(
    ("new_topic", "reason"),
    [
        ("yishi:Case.CommentAdded", CONTENT),
        ("yishi:Case.NoSuchEvent", UNREADABLE),
        ("domain.case:Case.DecisionPublished", "event cannot be read: unknown topic"),
    ],
)
def test_an_altered_topic_breaks_the_chain_at_that_event(
    durable_url: str, app_factory: AppFactory, clock: ManualClock,
    capsys: pytest.CaptureFixture[str], new_topic: str, reason: str,
) -> None:
    victim, _ = two_closed_cases(durable_url, app_factory, clock)
    _topic, state = read_row(durable_url, victim, MIDDLE)
    write_row(durable_url, victim, MIDDLE, new_topic, state)
    status, out = verify(durable_url, capsys, str(victim))
    assert status != 0
    assert f"BROKEN case {victim} at version {MIDDLE}: {reason}" in out


def test_a_deleted_middle_event_is_found_missing(
    sqlite_url: str, app_factory: AppFactory, clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    victim, _ = two_closed_cases(sqlite_url, app_factory, clock)
    with sqlite3.connect(sqlite_url.removeprefix("sqlite:///")) as conn:
        conn.execute("DELETE FROM stored_events WHERE originator_id = ? AND originator_version = ?",
                     (victim.hex, MIDDLE))
    status, out = verify(sqlite_url, capsys, str(victim))
    assert status != 0
    assert f"BROKEN case {victim} at version {MIDDLE}: version {MIDDLE} is missing" in out


def test_verify_on_an_empty_store_succeeds(
    sqlite_url: str, app_factory: AppFactory, capsys: pytest.CaptureFixture[str]
) -> None:
    app_factory(sqlite_url)  # the store exists, with no events
    status, out = verify(sqlite_url, capsys)
    assert status == 0
    assert "checked 0 case(s), 0 event(s): 0 valid, 0 broken" in out
