"""Small HTTP helpers for the API tests: a client that speaks as one token at a time."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from uuid import UUID

import httpx

from tests.api.conftest import Token
from tests.conftest import report_data

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def is_problem(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """Assert the response is a problem+json of this status (and code); return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json"), response.headers
    body: dict[str, Any] = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == status
    if code is not None:
        assert body["code"] == code, body
    return body


def open_case(client: httpx.Client, who: Token, **overrides: object) -> UUID:
    response = client.post("/cases", json=report_data(**overrides), headers=who.headers)
    assert response.status_code == 201, response.text
    return UUID(response.json()["id"])


def append(
    client: httpx.Client,
    who: Token,
    case_id: UUID,
    event_type: str,
    data: dict[str, Any] | None = None,
    *,
    if_match: int | None = None,
    key: str | None = None,
) -> httpx.Response:
    headers = dict(who.headers)
    if if_match is not None:
        headers["If-Match"] = f'"{if_match}"'
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(
        f"/cases/{case_id}/events", json={"type": event_type, "data": data or {}}, headers=headers
    )


def version_of(client: httpx.Client, who: Token, case_id: UUID) -> int:
    response = client.get(f"/cases/{case_id}", headers=who.headers)
    assert response.status_code == 200, response.text
    return int(response.json()["version"])


def iso(moment: datetime) -> str:
    return moment.isoformat()
