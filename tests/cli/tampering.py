"""Altering stored rows behind the application's back, as an attacker with database access."""

from __future__ import annotations

import sqlite3
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg

from tests.conftest import POSTGRES_BASE


def _pg_table(url: str) -> str:
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    return f'"{schema}"."yishi_events"'


def read_row(url: str, case_id: UUID, version: int) -> tuple[str, bytes]:
    """The stored topic and state of one event."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            row = conn.execute(
                "SELECT topic, state FROM stored_events"
                " WHERE originator_id = ? AND originator_version = ?",
                (case_id.hex, version),
            ).fetchone()
    else:
        with psycopg.connect(POSTGRES_BASE) as conn:
            row = conn.execute(
                f"SELECT topic, state FROM {_pg_table(url)}"
                " WHERE originator_id = %s AND originator_version = %s",
                (case_id, version),
            ).fetchone()
    assert row is not None
    return str(row[0]), bytes(row[1])


def write_row(url: str, case_id: UUID, version: int, topic: str, state: bytes) -> None:
    """Overwrite one stored event's topic and state in place."""
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            changed = conn.execute(
                "UPDATE stored_events SET topic = ?, state = ?"
                " WHERE originator_id = ? AND originator_version = ?",
                (topic, state, case_id.hex, version),
            ).rowcount
        conn.close()
    else:
        with psycopg.connect(POSTGRES_BASE) as conn:
            changed = conn.execute(
                f"UPDATE {_pg_table(url)} SET topic = %s, state = %s"
                " WHERE originator_id = %s AND originator_version = %s",
                (topic, state, case_id, version),
            ).rowcount
    assert changed == 1


def altered_byte(state: bytes, marker: bytes, offset: int = 0) -> bytes:
    """The state with the one byte ``offset`` after ``marker`` changed to another of its kind
    (a digit to another digit, a hex letter to another), so the JSON stays well formed."""
    index = state.index(marker) + len(marker) + offset
    old = chr(state[index])
    if old.isdigit():
        new = str((int(old) + 1) % 10)
    elif old in "abcdef":
        new = "f" if old != "f" else "e"
    else:
        new = "x" if old != "x" else "y"
    return state[:index] + new.encode() + state[index + 1:]
