"""``GET /cases`` pages by cursor over HTTP: ``next_after`` back as ``?after=``, the same
rows as one long page, and a cursor that is not one (or of another sort) is 422."""

from __future__ import annotations

from typing import Any

import pytest

from projections.service import ProjectionService
from tests.api.conftest import LiveServer, make_tokens
from tests.api.helpers import is_problem, open_case


@pytest.mark.parametrize("store", ["sqlite_server", "pg_server"])
def test_walking_the_case_list_by_cursor_gives_the_whole_list_once(
    store: str, request: pytest.FixtureRequest, client_for: Any
) -> None:
    server: LiveServer = request.getfixturevalue(store)
    client = client_for(server)
    t = make_tokens(server)
    for i in range(7):
        open_case(client, t.resident, title=f"路灯不亮 {i}")
    ProjectionService(server.cases).catch_up()
    headers = t.auditor.headers
    for sort in ("-reported_at", "deadline", "-support_count"):
        whole = client.get("/cases", params={"sort": sort, "limit": 100},
                           headers=headers).json()
        seen: list[str] = []
        params: dict[str, Any] = {"sort": sort, "limit": 3}
        while True:
            page = client.get("/cases", params=params, headers=headers).json()
            assert page["count"] == 7
            seen += [r["id"] for r in page["data"]]
            if page["next_after"] is None:
                break
            params["after"] = page["next_after"]
        assert seen == [r["id"] for r in whole["data"]]
    cursor = client.get("/cases", params={"limit": 1}, headers=headers).json()["next_after"]
    is_problem(client.get("/cases", params={"after": cursor, "sort": "deadline"},
                          headers=headers), 422, "invalid_query")
    is_problem(client.get("/cases", params={"after": "x!"}, headers=headers), 422,
               "invalid_query")
    is_problem(client.get("/cases", params={"after": cursor, "offset": 2}, headers=headers),
               422, "invalid_query")
