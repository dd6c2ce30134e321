"""The served OpenAPI document is valid and usable (issue 9, part 8): it passes
``openapi-spec-validator``, ``openapi-python-client`` generates a client from it without a
warning, and that client takes a case through all eight steps, getting parsed answers.

The document is fetched from a running server, as a client author would fetch it.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tests.api.conftest import LiveServer, Tokens, make_tokens
from tests.district import register_district

#: Every integer must be readable exactly by any JSON implementation (issue 9, part 3).
SAFE_INTEGER = 2**53 - 1

#: The README's session: who appends what, in order, from report to close.
STEPS: list[tuple[str, str, dict[str, Any]]] = [
    ("grid_worker", "ProblemCollected", {"category": "facilities",
                                         "description": "核实: 地库顶板渗水"}),
    ("grid_worker", "TopicFormed", {"title": "地库防水维修", "question": "维修费用如何分摊?",
                                    "parties": ["业委会", "物业"]}),
    ("party_branch", "TopicApproved", {"opinion": "同意列入议题"}),
    ("community", "StakeholderConsulted", {"party": "物业", "opinion": "愿意承担一半"}),
    ("community", "MeetingScheduled", {"scheduled_at": "2026-12-01T19:00:00+08:00",
                                       "venue": "社区议事厅"}),
    ("owners_committee", "MeetingHeld", {"attendees": 23, "outcome": "agreed",
                                         "votes": {"for": 18, "against": 3, "abstain": 2}}),
    ("community", "DecisionPublished", {"channels": ["公告栏", "微信群"],
                                        "notice": "公示协商结果", "publicity_days": 0}),
    ("community", "PublicityClosed", {}),
    ("community", "ImplementationAssigned", {"assignee_role": "property_company",
                                             "assignee": "绿城物业",
                                             "due_at": "2026-12-31T00:00:00+08:00"}),
    ("property_company", "ImplementationAccepted", {}),
    ("property_company", "ImplementationCompleted", {"summary": "防水层重做",
                                                    "cost_fen": 1200000}),
    ("party_branch", "SupervisionRecorded", {"verdict": "passed"}),
    ("resident", "ResidentRated", {"satisfaction": "satisfied", "source": "resident"}),
    ("community", "CaseClosed", {"resolution": "resolved"}),
]


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[LiveServer, Tokens]]:
    from domain.clock import ManualClock  # noqa: PLC0415
    from tests.conftest import START  # noqa: PLC0415

    clock = ManualClock(START)
    url = f"sqlite:///{tmp_path_factory.mktemp('openapi') / 'yishi.db'}"
    from api.http.settings import Settings  # noqa: PLC0415

    server = LiveServer(Settings(database_url=url, clock=clock, projections=False)).start()
    try:
        register_district(server.cases)
        yield server, make_tokens(server)
    finally:
        server.stop()


@pytest.fixture(scope="module")
def document(served: tuple[LiveServer, Tokens]) -> dict[str, Any]:
    answer = httpx.get(served[0].url + "/openapi.json", timeout=30)
    assert answer.status_code == 200
    spec: dict[str, Any] = answer.json()
    return spec


@pytest.fixture(scope="module")
def generated(document: dict[str, Any], tmp_path_factory: pytest.TempPathFactory,
              ) -> Iterator[ModuleType]:
    """The client ``openapi-python-client`` generates from the served document."""
    work = tmp_path_factory.mktemp("client")
    (work / "openapi.json").write_text(json.dumps(document), encoding="utf-8")
    (work / "config.yml").write_text(
        "project_name_override: yishi-client\npackage_name_override: yishi_client\n"
        "post_hooks: []\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", "openapi.json",
         "--config", "config.yml", "--meta", "none", "--output-path", "yishi_client"],
        check=False, cwd=work, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "warning" not in (result.stdout + result.stderr).lower(), result.stdout
    sys.path.insert(0, str(work))
    try:
        yield importlib.import_module("yishi_client")
    finally:
        sys.path.remove(str(work))
        for name in [n for n in sys.modules if n.split(".")[0] == "yishi_client"]:
            del sys.modules[name]


def schemas_in(node: Any, where: str = "#") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema-like object in the document, with its JSON pointer."""
    if isinstance(node, dict):
        yield where, node
        for key, value in node.items():
            yield from schemas_in(value, f"{where}/{key}")
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from schemas_in(value, f"{where}/{index}")


def integer_bounds(spec: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    return {where: (node.get("minimum"), node.get("maximum"))
            for where, node in schemas_in(spec) if node.get("type") == "integer"}


def test_the_served_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)  # raises with the first error (an unresolved $ref among them)


def test_the_validator_would_notice_an_undefined_schema(document: dict[str, Any]) -> None:
    broken = json.loads(json.dumps(document))
    broken["components"]["schemas"].pop("AppendedOut")
    with pytest.raises(Exception, match="AppendedOut"):
        validate(broken)


def test_every_error_answer_is_documented_as_problem_json(document: dict[str, Any]) -> None:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for status, response in operation["responses"].items():
                if status[0] in "45" and "content" in response:
                    assert set(response["content"]) == {"application/problem+json"}, (
                        method, path, status)


def test_integer_bounds_are_whole_numbers_in_order(document: dict[str, Any]) -> None:
    bounds = integer_bounds(document)
    assert bounds, "the document has integer fields"
    for where, (low, high) in bounds.items():
        for bound in (low, high):
            assert bound is None or (type(bound) is int), (where, bound)
        if low is not None and high is not None:
            assert low <= high, where


def sent_integers(spec: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """The bounds of every integer a client sends: query and path parameters, and every
    schema a request body reaches through ``$ref`` (responses are the server's to bound)."""
    found: dict[str, tuple[Any, Any]] = {}
    seen: set[str] = set()

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref not in seen:
                seen.add(ref)
                target: Any = spec
                for part in ref.removeprefix("#/").split("/"):
                    target = target[part]
                walk(target, ref)
            if node.get("type") == "integer":
                found[where] = (node.get("minimum"), node.get("maximum"))
            for key, value in node.items():
                if key != "$ref":
                    walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            walk(operation.get("parameters", []), where + " parameters")
            walk(operation.get("requestBody", {}), where + " body")
    return found


def test_every_integer_a_client_sends_has_both_bounds_within_the_exact_json_range(
    document: dict[str, Any],
) -> None:
    bounds = sent_integers(document)
    assert any("attendees" in where for where in bounds), bounds.keys()
    for where, (low, high) in bounds.items():
        assert low is not None, where
        assert high is not None, where
        assert -SAFE_INTEGER <= low <= high <= SAFE_INTEGER, (where, low, high)


def test_a_generated_client_takes_a_case_through_the_eight_steps(
    generated: ModuleType, served: tuple[LiveServer, Tokens],
) -> None:
    server, tokens = served
    client_module = importlib.import_module("yishi_client.client")
    models = importlib.import_module("yishi_client.models")
    report = importlib.import_module("yishi_client.api.cases.report_problem_cases_post")
    append = importlib.import_module(
        "yishi_client.api.events.append_event_cases_case_id_events_post")
    get_case = importlib.import_module("yishi_client.api.cases.get_case_cases_case_id_get")

    with contextlib.ExitStack() as stack:
        clients = {role: stack.enter_context(client_module.AuthenticatedClient(
            base_url=server.url, token=getattr(tokens, role).token, timeout=60))
            for role in {"resident", "community", *(role for role, _, _ in STEPS)}}
        walk_through(models, report, append, get_case, clients.__getitem__)


def walk_through(models: Any, report: Any, append: Any, get_case: Any, client: Any) -> None:
    """The README's session with the generated client: report, a refusal, the eight steps
    to closure, and the case read back, each answer parsed into its model."""
    opened = report.sync(client=client("resident"), body=models.ProblemReportedData.from_dict({
        "compound_id": "JX", "community_id": "C1", "title": "地下车库漏水",
        "description": "3号楼地库下雨就漏水", "category": "facilities", "channel": "wechat",
        "reporter": {"name": "张三", "phone": "13800000000"}}))
    assert isinstance(opened, models.CaseOut), opened
    case_id = opened.id

    refused = append.sync(case_id, client=client("community"),
                          body=models.CaseClosedAppend.from_dict(
                              {"type": "CaseClosed", "data": {"resolution": "resolved"}}))
    assert isinstance(refused, models.ProblemOut)
    assert refused.code == "invalid_transition"

    steps = []
    for role, event_type, data in STEPS:
        body = getattr(models, f"{event_type}Append").from_dict({"type": event_type, "data": data})
        answer = append.sync(case_id, client=client(role), body=body)
        assert isinstance(answer, models.AppendedOut), (event_type, answer)
        assert answer.type_ == event_type
        steps.append(answer.step_after)
    assert steps[-1] == "closed"
    assert {"collect", "topic", "review", "pre-consult", "negotiate", "publish", "implement",
            "supervise"} <= {"collect", *steps}

    final = get_case.sync(case_id, client=client("community"))
    assert isinstance(final, models.CaseOut)
    assert (final.step.value, final.status.value, final.version) == ("closed", "closed",
                                                                     len(STEPS) + 1)
