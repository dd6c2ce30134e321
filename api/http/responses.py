"""The problem responses each route documents in OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi.responses import Response

from api.http.models import ProblemOut
from api.http.problems import FastJSONResponse
from projections.queries import figures_csv

_WHAT = {
    400: "Malformed request: JSON, If-Match or Idempotency-Key (problem+json)",
    401: "No valid bearer token (problem+json)",
    403: "The token's role or scope does not allow this (problem+json)",
    404: "No such case, or not in the token's scope (problem+json)",
    409: "invalid_transition or rule_violated: the step or a rule refuses the event",
    412: "version_conflict: If-Match names another version; current_version in the body",
    413: "The request body is larger than the limit (problem+json)",
    422: "The payload breaks the schema; errors name the fields (problem+json)",
}


def problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The routes' ``responses`` for these problem statuses. FastAPI documents a model
    under ``application/json``; ``api.http.openapi_doc`` moves it to problem+json."""
    return {status: {"model": ProblemOut, "description": _WHAT[status]} for status in statuses}


def figures_answer(payload: dict[str, Any], format: str, name: str, bom: bool = False,
                   headers: dict[str, str] | None = None) -> Response:
    """A figures payload as JSON, or with ``format == "csv"`` as ``<name>.csv``: one row per
    group, dotted JSON paths as the header (``bom``: after a UTF-8 byte order mark, for
    spreadsheets). ``headers`` go on either."""
    headers = dict(headers or {})
    if format == "csv":
        return Response(("\ufeff" if bom else "") + figures_csv(payload),
                        media_type="text/csv; charset=utf-8",
                        headers={**headers,
                                 "Content-Disposition": f'attachment; filename="{name}.csv"'})
    return FastJSONResponse(payload, headers=headers)
