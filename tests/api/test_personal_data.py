"""No personal data is stored anywhere in a readable form outside the sealed envelope.

The flows a resident's contact goes through, on both stores: a report with a contact and
an Idempotency-Key, its keyed replay, reads by every role (the case, its stream, the list,
the global log, the audit trail and its CSV), the erasure of the subject, and the replay
again. Then every table of the store, and everything the server logged, is searched for
the phone number and the name: not one plaintext copy. Before this, the idempotency table
held both in its stored answers, and a replay after the erasure showed them again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import psycopg
import pytest

from api.http.models import ProblemReportedData, wire_data
from domain.model import Role
from tests.api.conftest import LiveServer, ServerFactory, Token, issue
from tests.conftest import POSTGRES_BASE, report_data

PHONE = "13912345678"
NAME = "欧阳小明"


@pytest.fixture(params=["sqlite", "postgres"])
def url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url"))


@pytest.fixture
def server_log() -> Iterator[list[str]]:
    """Every record any logger of the process emits while the test runs."""
    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(self.format(record))

    handler = Keep(logging.DEBUG)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield lines
    root.removeHandler(handler)
    root.setLevel(level)


def every_cell(url: str) -> list[tuple[str, str]]:
    """(table, text of the row) for every row of every table of the store."""
    found: list[tuple[str, str]] = []
    if url.startswith("sqlite:"):
        conn = sqlite3.connect(url.removeprefix("sqlite:///"))
        try:
            tables = [r[0] for r in conn.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table'")]
            for table in tables:
                for row in conn.execute(f'SELECT * FROM "{table}"'):
                    found.append((table, " ".join(
                        bytes(v).decode("utf-8", "replace") if isinstance(v, bytes) else str(v)
                        for v in row)))
        finally:
            conn.close()
        return found
    schema = parse_qs(urlsplit(url).query)["schema"][0]
    with psycopg.connect(POSTGRES_BASE) as pg:
        tables = [r[0] for r in pg.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s",
            (schema,))]
        for table in tables:
            for (text,) in pg.execute(f'SELECT t::text FROM "{schema}"."{table}" t'):
                found.append((table, bytes.fromhex(text[2:]).decode("utf-8", "replace")
                              if text.startswith("\\x") else text))
    return found


def erase_completely(client: httpx.Client, admin: Token, subject: str) -> None:
    """Erase, and (when older transactions elsewhere made it pending) poll until done."""
    erased = client.post(f"/admin/subjects/{subject}/erase", headers=admin.headers)
    assert erased.status_code in (200, 202), erased.text
    state = erased.json()["state"]
    if erased.status_code == 202:
        assert state == "pending"
        assert erased.headers["Location"] == f"/admin/erasures/{subject}"
    deadline = time.monotonic() + 120
    while state != "complete":
        assert time.monotonic() < deadline, "the erasure never completed"
        time.sleep(0.5)
        state = client.get(f"/admin/erasures/{subject}", headers=admin.headers).json()["state"]


def _raw(path: str) -> bytes:
    data = b""
    for suffix in ("", "-wal"):
        try:
            with open(path + suffix, "rb") as handle:
                data += handle.read()
        except FileNotFoundError:
            pass
    return data


def test_after_the_flows_and_the_erasure_no_table_and_no_log_holds_the_contact(
    url: str, server_factory: ServerFactory, client_for: Callable[[LiveServer], httpx.Client],
    server_log: list[str],
) -> None:
    server = server_factory(url, projections=True)
    client = client_for(server)
    admin = issue(server, Role.ADMIN)
    resident = issue(server, Role.RESIDENT, compounds=["JX"], name="居民")
    staff = {role: issue(server, role, compounds=["JX"]) for role in Role
             if role not in (Role.RESIDENT, Role.ADMIN)}
    contact = {"name": NAME, "phone": PHONE}

    def report(who: Token, key: str) -> httpx.Response:
        return client.post("/cases", json=report_data(reporter=contact),
                           headers={**who.headers, "Idempotency-Key": key})

    first = report(resident, "k-resident")
    assert first.status_code == 201, first.text
    assert first.json()["reporter"]["phone"] == PHONE  # the reporter sees her own contact
    replay = report(resident, "k-resident")
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json() == first.json()
    by_grid = report(staff[Role.GRID_WORKER], "k-grid")
    assert by_grid.status_code == 201, by_grid.text
    case_ids = [first.json()["id"], by_grid.json()["id"]]

    head = server.cases.head_position()
    for token in [resident, *staff.values()]:
        for case_id in case_ids:
            for path in (f"/cases/{case_id}", f"/cases/{case_id}/events"):
                assert client.get(path, headers=token.headers).status_code in (200, 404)
        # The projections' reads wait for the head; the raw feed reads the log itself.
        for path in ("/cases?", "/audit?", "/audit?format=csv&", "/events?"):
            wait = f"min_position={head}" if path != "/events?" else ""
            response = client.get(f"{path}{wait}", headers=token.headers)
            assert response.status_code == 200, (path, response.text)

    for subject in (f"resident:{resident.actor.id}", f"report:{case_ids[1]}"):
        erase_completely(client, admin, subject)

    again = report(resident, "k-resident")
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json()["reporter"]["erased"] is True
    assert PHONE not in again.text
    assert NAME not in again.text
    grid_again = report(staff[Role.GRID_WORKER], "k-grid")
    assert grid_again.headers["Idempotent-Replayed"] == "true"
    assert PHONE not in grid_again.text
    listed = client.get("/admin/credentials", headers=admin.headers).json()
    assert next(c for c in listed if c["id"] == resident.actor.id)["name_erased"] is True

    copies = [(table, text) for table, text in every_cell(url)
              if PHONE in text or NAME in text or "居民" in text]
    assert copies == []
    assert not [line for line in server_log if PHONE in line or NAME in line]
    if url.startswith("sqlite:"):
        raw = _raw(url.removeprefix("sqlite:///"))
        assert PHONE.encode() not in raw
        assert NAME.encode() not in raw


def test_a_fingerprint_is_keyed_not_a_plain_digest_of_the_body(
    sqlite_server: LiveServer, client_for: Callable[[LiveServer], httpx.Client],
) -> None:
    client = client_for(sqlite_server)
    grid = issue(sqlite_server, Role.GRID_WORKER, compounds=["JX"])
    body = report_data(reporter={"name": NAME, "phone": PHONE})
    response = client.post("/cases", json=body, headers={**grid.headers, "Idempotency-Key": "f"})
    assert response.status_code == 201
    rows: list[Any] = sqlite_server.cases.db.execute(
        'SELECT fingerprint FROM "yishi_commands" WHERE idem_key IS NOT NULL')
    (stored,) = [r[0] for r in rows]
    data = wire_data(ProblemReportedData.model_validate(body))
    plain = json.dumps(("POST", "/cases", data), sort_keys=True, ensure_ascii=False, default=str)
    assert stored.startswith("h1:")
    assert hashlib.sha256(plain.encode()).hexdigest() not in stored
