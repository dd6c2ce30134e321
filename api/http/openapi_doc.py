"""The OpenAPI document as served (OpenAPI 3.1): FastAPI's, with two corrections.

- Every error answer (4xx, 5xx) is documented as ``application/problem+json`` (RFC 9457),
  the media type the server sends, with the schema FastAPI generated: no schema reference
  is written by hand (an unresolved one made the document invalid, issue 9).
- FastAPI's document model types ``minimum``, ``maximum`` and ``multipleOf`` as floats, so
  ``ge=0`` on an integer field reads ``"minimum": 0.0``. Integer schemas get whole numbers
  back; exact, since every bound lies within ±(2^53 - 1), where a float is exact.

tests/api/test_openapi_client.py validates the result and generates a client from it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from api.http.problems import PROBLEM_JSON

_BOUNDS = ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")


def corrected(generate: Callable[[], dict[str, Any]]) -> Callable[[], dict[str, Any]]:
    """Wrap ``FastAPI.openapi`` (which caches its result) so that the document it returns
    has been corrected once."""
    done: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        spec = generate()
        if done.get("spec") is not spec:
            problem_media_type(spec)
            whole_bounds(spec)
            done["spec"] = spec
        return spec

    return openapi


def problem_media_type(spec: dict[str, Any]) -> None:
    """Document error answers as ``application/problem+json`` only. FastAPI files their
    model under the route's own media type (``application/json``, or ``text/plain`` for a
    route answering plain text); the schema is kept, the media type replaced."""
    for operations in spec.get("paths", {}).values():
        for operation in operations.values():
            for status, response in operation.get("responses", {}).items():
                content = response.get("content", {})
                if str(status)[0] in "45" and content and set(content) != {PROBLEM_JSON}:
                    media = content.get("application/json") or next(iter(content.values()))
                    response["content"] = {PROBLEM_JSON: media}


def whole_bounds(node: Any) -> None:
    """Give every integer schema under ``node`` whole-number bounds."""
    if isinstance(node, dict):
        if node.get("type") == "integer":
            for key in _BOUNDS:
                value = node.get(key)
                if isinstance(value, float) and value.is_integer():
                    node[key] = int(value)
        for value in node.values():
            whole_bounds(value)
    elif isinstance(node, list):
        for value in node:
            whole_bounds(value)
