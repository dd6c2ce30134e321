"""Changing the stores behind yishi's back, as a DBA or an intruder would (the tamper
catalogue of the audit-log design)."""

from __future__ import annotations

import json
import sqlite3
from typing import Any
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg

from domain.chain import canonical_bytes
from domain.verification import _EVENT_TOPICS, _timestamp
from tests.conftest import POSTGRES_BASE


def _sqlite(url: str) -> bool:
    return url.startswith("sqlite:")


def sql(url: str, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Run one statement on the store; ``{events}`` and ``{log_*}`` name its tables."""
    if _sqlite(url):
        names = {"events": "stored_events", "pos": "rowid"}
        names |= {f"log_{t}": f"yishi_tlog_{t}" for t in
                  ("state", "leaves", "tiles", "entries", "checkpoints")}
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        with conn:
            rows = conn.execute(statement.format(**names).replace("%s", "?"), params).fetchall()
        conn.close()
        return rows
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    names = {"events": f'"{schema}".yishi_events', "pos": "notification_id"}
    names |= {f"log_{t}": f'"{schema}".yishi_tlog_{t}' for t in
              ("state", "leaves", "tiles", "entries", "checkpoints")}
    with psycopg.connect(POSTGRES_BASE) as pg:
        cur = pg.execute(statement.format(**names), params)
        return cur.fetchall() if cur.description else []


def sid(url: str, case_id: UUID) -> Any:
    return case_id.hex if _sqlite(url) else case_id


def row(url: str, case_id: UUID, version: int) -> tuple[int, str, bytes]:
    found = sql(url, "SELECT {pos}, topic, state FROM {events}"
                " WHERE originator_id = %s AND originator_version = %s",
                (sid(url, case_id), version))
    return int(found[0][0]), str(found[0][1]), bytes(found[0][2])


def set_state(url: str, case_id: UUID, version: int, state: bytes) -> None:
    sql(url, "UPDATE {events} SET state = %s WHERE originator_id = %s"
        " AND originator_version = %s", (state, sid(url, case_id), version))


def delete(url: str, case_id: UUID, *versions: int) -> None:
    for version in versions:
        sql(url, "DELETE FROM {events} WHERE originator_id = %s AND originator_version = %s",
            (sid(url, case_id), version))


def rehash(case_id: UUID, version: int, topic: str, state: bytes, prev_hash: str) -> bytes:
    """The state with its prev_hash set and its hash recomputed (docs/adr/0004)."""
    document = json.loads(state)
    document["prev_hash"] = prev_hash
    content = canonical_bytes(
        case_id=case_id, version=version, event_type=_EVENT_TOPICS[topic],
        recorded_at=_timestamp(document), actor_id=document["actor_id"],
        actor_role=document["actor_role"], step_before=document["step_before"],
        step_after=document["step_after"], data=document["data"], prev_hash=prev_hash)
    import hashlib  # noqa: PLC0415

    document["hash"] = hashlib.sha256(content).hexdigest()
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode()
