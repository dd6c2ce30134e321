"""Property-based fuzzing from the app's own OpenAPI document (schemathesis 4).

Every operation gets generated requests, valid and invalid; case ids point at a real case so
the append path reaches the domain. Whatever comes in: never a 500, and every error answer
is application/problem+json with type, title, status, detail and code.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error

from api.http.app import create_app
from api.http.settings import Settings
from domain.clock import ManualClock
from tests.api.conftest import LiveServer
from tests.conftest import START, People, report_data
from tests.district import register_district

PROBLEM_KEYS = {"type", "title", "status", "detail", "code"}


def errors_are_problems(ctx: Any, response: Any, case: Any) -> bool | None:
    if response.status_code < 400:
        return None
    content_type = response.headers.get("content-type", [""])
    content_type = content_type[0] if isinstance(content_type, list) else content_type
    assert content_type.startswith("application/problem+json"), (response.status_code,
                                                                 content_type)
    body = response.json()
    assert set(body) >= PROBLEM_KEYS, body
    assert body["status"] == response.status_code
    assert "Traceback" not in response.text
    return None


def _document() -> dict[str, Any]:
    """The app's own OpenAPI document (building it needs no store)."""
    document: dict[str, Any] = create_app(Settings(database_url="memory:")).openapi()
    return document


schema = schemathesis.openapi.from_dict(_document())


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A server on a fresh SQLite file, a community token and one real case."""
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'fuzz.db'}"
    clock = ManualClock(START)
    server = LiveServer(Settings(database_url=url, clock=clock, projections=False)).start()
    register_district(server.cases)
    try:
        token = server.credentials.create("community", communities=["C1"], name="fuzz")
        case_id = server.cases.report_problem(People.resident, report_data()).case.id
        yield {"url": server.url, "headers": {"Authorization": f"Bearer {token}"},
               "case_id": str(case_id)}
    finally:
        server.stop()


@schema.parametrize()
@settings(max_examples=12, deadline=None, derandomize=True, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_500_and_every_error_is_a_problem(case: Any, live: dict[str, Any]) -> None:
    if case.path_parameters and "case_id" in case.path_parameters:
        case.path_parameters["case_id"] = live["case_id"]
    case.call_and_validate(
        base_url=live["url"], headers=live["headers"],
        checks=[not_a_server_error, errors_are_problems],
    )
