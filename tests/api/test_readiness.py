"""Readiness tells the truth (docs/adr/0042-readiness.md): ``/readyz`` is 503 with the lag
while the read models this process serves lag the log by more than the configured lag, and
``/readyz?for=writes`` asks the database only; ``yishi demo`` leaves the projections at the
head, so a server started after it is ready with the whole district."""

from __future__ import annotations

from typing import Any

from api.cli import main
from domain.application import open_cases
from projections import store
from projections.service import ProjectionService
from tests.api.conftest import ServerFactory
from tests.conftest import People, report_data
from tests.district import register_district


def _fill(url: str, cases: int) -> int:
    app = register_district(open_cases(url))
    try:
        for _ in range(cases):
            app.report_problem(People.resident, report_data())
        return app.head_position()
    finally:
        app.close()


def test_a_server_without_projections_is_not_ready_while_the_tracked_positions_lag(
    server_factory: ServerFactory, sqlite_url: str, client_for: Any,
) -> None:
    head = _fill(sqlite_url, 5)
    server = server_factory(sqlite_url, ready_max_lag=2)
    client = client_for(server)
    answer = client.get("/readyz")
    assert answer.status_code == 503
    assert answer.headers["content-type"] == "application/problem+json"
    assert answer.headers["retry-after"]
    body = answer.json()
    assert body["code"] == "not_ready"
    assert body["head"] == head
    assert body["projections"][0]["lag"] == head
    assert body["projections"][0]["tracked_by"] == "database"
    writes = client.get("/readyz", params={"for": "writes"})
    assert writes.status_code == 200, writes.text
    assert writes.json()["for"] == "writes"
    assert client.get("/readyz", params={"for": "nothing"}).status_code == 422

    ProjectionService(server.cases).catch_up()  # as `yishi projections run` would
    ready = client.get("/readyz")
    assert ready.status_code == 200, ready.text
    assert ready.json()["projections"][0]["lag"] == 0


def test_a_lag_within_the_configured_lag_is_ready(
    server_factory: ServerFactory, sqlite_url: str, client_for: Any,
) -> None:
    head = _fill(sqlite_url, 3)
    client = client_for(server_factory(sqlite_url, ready_max_lag=head))
    assert client.get("/readyz").status_code == 200


def test_the_demo_ends_with_the_projections_at_the_head(sqlite_url: str) -> None:
    assert main(["demo", "--cases", "30", "--seed", "2", "--database-url", sqlite_url]) == 0
    app = open_cases(sqlite_url)
    try:
        _generation, positions = store.positions(app.db)
        assert positions
        assert set(positions.values()) == {app.head_position()}
    finally:
        app.close()
