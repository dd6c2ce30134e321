"""Conditional requests as RFC 9110 section 13.1 says: If-Match on appends, If-None-Match
on reads.

If-Match compares the case version strongly (a weak tag never matches; lists and ``*``
work). Reads answer If-None-Match with 304 only under a tag that covers their whole body:
it changes when ``overdue`` turns with time, by reader (the contact), after an erasure,
and when the projections move, though the case version stays the same.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

import httpx
import pytest

from domain.clock import ManualClock
from domain.model import Role
from projections.service import ProjectionService
from tests.api.conftest import LiveServer, Token, make_tokens
from tests.api.helpers import is_problem, open_case, version_of


def _append(client: httpx.Client, who: Token, case_id: UUID, if_match: str) -> httpx.Response:
    return client.post(f"/cases/{case_id}/events",
                       json={"type": "CommentAdded", "data": {"text": "还在漏"}},
                       headers={**who.headers, "If-Match": if_match})


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_if_match_compares_the_version_strongly_with_lists_and_star(
    store: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    case_id = open_case(client, t.resident)
    is_problem(_append(client, t.grid_worker, case_id, 'W/"1"'), 412, "version_conflict")
    is_problem(_append(client, t.grid_worker, case_id, 'W/"1", W/"2"'), 412)
    assert version_of(client, t.auditor, case_id) == 1
    assert _append(client, t.grid_worker, case_id, '"1"').status_code == 201
    listed = _append(client, t.grid_worker, case_id, '"2", "7"')
    assert (listed.status_code, listed.headers["etag"]) == (201, '"3"')
    assert _append(client, t.grid_worker, case_id, 'W/"3", "3"').status_code == 201
    refused = is_problem(_append(client, t.grid_worker, case_id, '"5", "7"'), 412,
                         "version_conflict")
    assert refused["current_version"] == 4
    assert _append(client, t.grid_worker, case_id, "*").status_code == 201
    assert _append(client, t.grid_worker, case_id, '"",, "5"').status_code == 201
    for bad in ("yesterday", '"5', "5", 'W/5', '"a"b'):
        is_problem(_append(client, t.grid_worker, case_id, bad), 400, "invalid_if_match")
    assert version_of(client, t.auditor, case_id) == 6


def _read(client: httpx.Client, who: Token, path: str, tag: str | None = None,
          **params: Any) -> httpx.Response:
    headers = dict(who.headers)
    if tag is not None:
        headers["If-None-Match"] = tag
    return client.get(path, params=params, headers=headers)


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_a_case_read_is_not_modified_only_while_its_whole_body_is_the_same(
    store: str, request: pytest.FixtureRequest, client_for: Any, clock: ManualClock
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    case_id = open_case(client, t.resident)
    path = f"/cases/{case_id}"
    first = _read(client, t.community, path)
    tag = first.headers["etag"]
    assert first.headers["cache-control"] == "private"
    assert first.headers["vary"] == "Authorization"
    again = _read(client, t.community, path, tag)
    assert (again.status_code, again.content, again.headers["etag"]) == (304, b"", tag)
    assert again.headers["vary"] == "Authorization"
    assert _read(client, t.community, path, f"W/{tag}").status_code == 304
    assert _read(client, t.community, path, f'"other", {tag}').status_code == 304
    assert _read(client, t.community, path, "*").status_code == 304
    # Another reader sees the contact masked: another body, another tag.
    party = _read(client, t.party_branch, path, tag)
    assert party.status_code == 200
    assert party.json()["reporter"]["masked"] is True
    # Time passes: overdue turns, the version does not.
    clock.advance(timedelta(days=3))
    later = _read(client, t.community, path, tag)
    assert later.status_code == 200
    assert (later.json()["overdue"], later.json()["version"]) == (True, 1)
    tag = later.headers["etag"]
    # The contact is erased: same version, another body.
    subject = later.json()["reporter"]["subject_id"]
    assert client.post(f"/admin/subjects/{subject}/erase", headers=t.admin.headers).json()[
        "erased"] is True
    erased = _read(client, t.community, path, tag)
    assert erased.status_code == 200
    assert erased.json()["reporter"]["erased"] is True
    assert erased.json()["version"] == 1
    # Errors are not tagged.
    assert "etag" not in _read(client, t.community, f"/cases/{case_id}", version=9).headers


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_lists_figures_and_logs_answer_304_until_something_in_them_changes(
    store: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    auditor = make_tokens(server).inside[Role.AUDITOR]
    case_id = open_case(client, t.resident)
    ProjectionService(server.cases).catch_up()
    reads = [("/cases", {}), ("/audit", {}), ("/stats/closure", {"group_by": "compound"}),
             ("/stats/steps", {}), ("/stats/satisfaction", {}), ("/events", {}),
             (f"/cases/{case_id}/events", {}), (f"/cases/{case_id}/verify", {})]
    tags = {}
    for path, params in reads:
        first = _read(client, auditor, path, **params)
        assert first.status_code == 200, path
        tags[path] = first.headers["etag"]
        assert _read(client, auditor, path, tags[path], **params).status_code == 304, path
    assert _append(client, t.grid_worker, case_id, "*").status_code == 201
    ProjectionService(server.cases).catch_up()
    for path, params in reads:
        assert _read(client, auditor, path, tags[path], **params).status_code == 200, path
    # A CSV of figures the comment did not change is still the same body: 304.
    steps = _read(client, auditor, "/stats/steps", format="csv")
    assert _read(client, auditor, "/stats/steps", steps.headers["etag"],
                 format="csv").status_code == 304
