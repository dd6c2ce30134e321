"""The OpenAPI document: the append body lists exactly the domain's event types, each with
its data schema from the catalogue, discriminated on ``type``; the documents are served."""

from __future__ import annotations

from typing import Any

from api.http.app import ROUTERS, create_app
from api.http.models import APPEND_EXAMPLES, DATA_MODELS, EXAMPLES
from api.http.settings import Settings
from domain.catalogue import CATALOGUE, validate_data
from domain.rules import OPENING_EVENT


def document() -> dict[str, Any]:
    spec: dict[str, Any] = create_app(Settings(database_url="memory:")).openapi()
    return spec


def test_the_append_body_is_a_union_of_exactly_the_domain_event_types_but_the_opening() -> None:
    spec = document()
    body = spec["paths"]["/cases/{case_id}/events"]["post"]["requestBody"]["content"][
        "application/json"]["schema"]
    assert body["discriminator"]["propertyName"] == "type"
    listed = set(body["discriminator"]["mapping"])
    assert listed == set(CATALOGUE) - {OPENING_EVENT}
    assert len(body["oneOf"]) == len(CATALOGUE) - 1
    schemas = spec["components"]["schemas"]
    for name in listed:
        data_schema = schemas[f"{name}Data"]
        assert set(data_schema["properties"]) == set(CATALOGUE[name]), name
        required = {f for f, s in CATALOGUE[name].items() if s.required}
        assert set(data_schema.get("required", [])) == required, name
        assert data_schema["additionalProperties"] is False


def test_post_cases_takes_the_problem_reported_fields_and_the_docs_speak_chinese() -> None:
    spec = document()
    body = spec["paths"]["/cases"]["post"]["requestBody"]["content"]["application/json"]
    ref = body["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][ref]["properties"]) == set(CATALOGUE[OPENING_EVENT])
    assert "八步工作法" in spec["info"]["description"]
    assert "公示期" in str(spec["components"]["schemas"]["DecisionPublishedData"])


def test_every_example_is_valid_for_the_domain_and_shown() -> None:
    assert set(EXAMPLES) == set(CATALOGUE) == set(DATA_MODELS)
    for name, data in EXAMPLES.items():
        validate_data(name, data)
        DATA_MODELS[name].model_validate(data)
    spec = document()
    shown = spec["paths"]["/cases/{case_id}/events"]["post"]["requestBody"]["content"][
        "application/json"]["examples"]
    assert set(shown) == set(APPEND_EXAMPLES)


def test_adding_a_router_is_one_line() -> None:
    paths = set(document()["paths"])
    assert {"/cases", "/cases/{case_id}", "/cases/{case_id}/events", "/cases/{case_id}/verify",
            "/events", "/healthz", "/readyz", "/admin/subjects/{subject_id}/erase",
            "/audit", "/stats/closure", "/stats/steps", "/stats/satisfaction"} <= paths
    served = {route.path.replace(":path}", "}")  # type: ignore[attr-defined]
              for router in ROUTERS for route in router.routes}  # OpenAPI: {p:path} as {p}
    assert served == paths
