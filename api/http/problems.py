"""Every error as RFC 9457 problem details (application/problem+json) with a stable code.

Domain refusals map to one status each (docs/adr/0011-error-codes.md); framework errors
(404, 405, validation) are rewritten into the same shape; anything unexpected is a 500
problem without a trace. Routes raise ``Problem`` for errors of their own.
"""

from __future__ import annotations

import logging
from typing import Any

import orjson
from eventsourcing.persistence import InterfaceError, OperationalError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.i18n import Lang, accepted, problem_text
from api.i18n.refusals import refusal_zh
from domain.errors import (
    CaseNotFound,
    CommunityMismatch,
    DirectoryRefused,
    DomainError,
    InvalidEventData,
    InvalidTransition,
    OutOfScope,
    PermissionDenied,
    RuleViolated,
    SubjectOutOfScope,
    UnknownEventType,
    UnknownUnit,
    VersionConflict,
)
from projections.queries import QueryError

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://yishi.example/problems/"
log = logging.getLogger("yishi.http")

TITLES: dict[int, str] = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    412: "Precondition failed",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    500: "Internal server error",
    503: "Service unavailable",
}

#: One status per domain refusal. OutOfScope is 403 on writes; reads turn it into 404.
DOMAIN_STATUS: dict[type[DomainError], int] = {
    CaseNotFound: 404,
    UnknownEventType: 422,
    InvalidEventData: 422,
    InvalidTransition: 409,
    RuleViolated: 409,
    PermissionDenied: 403,
    OutOfScope: 403,
    VersionConflict: 412,
    UnknownUnit: 422,
    CommunityMismatch: 422,
    DirectoryRefused: 422,
    SubjectOutOfScope: 404,
}


class FastJSONResponse(JSONResponse):
    """JSON rendered by orjson: the same compact UTF-8 bytes as Starlette's JSONResponse
    for the JSON-native bodies we answer with, in a fraction of the time."""

    def render(self, content: Any) -> bytes:
        return orjson.dumps(content)


class Problem(Exception):
    """An error answer: status, stable code, detail and extension members."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        **extra: Any,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {
            "type": TYPE_BASE + self.code,
            "title": TITLES.get(self.status, "Error"),
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
            **self.extra,
        }

    def response(self, lang: Lang = "en") -> JSONResponse:
        body, headers = localized(self.body(), self.headers, lang)
        return FastJSONResponse(
            body, status_code=self.status, headers=headers, media_type=PROBLEM_JSON
        )


def localized(body: dict[str, Any], headers: dict[str, str], lang: Lang
              ) -> tuple[dict[str, Any], dict[str, str]]:
    """A problem's body and headers for a reader of ``lang``: English as raised; in Chinese
    the title, and the detail from the code's message and the refusal's ``rule`` or
    ``reason`` (api/i18n), with ``Content-Language``. Works on a stored body too, so a
    replayed refusal reads in the language of whoever asks now."""
    if lang == "en":
        return body, headers
    reason = body.get("rule") or body.get("reason") or _translated_error(body)
    title, detail = problem_text(str(body.get("code", "")), int(body.get("status", 0)),
                                 str(body.get("detail", "")), lang,
                                 reason if isinstance(reason, str) else None)
    return {**body, "title": title, "detail": detail}, {**headers, "Content-Language": lang}


def _translated_error(body: dict[str, Any]) -> str | None:
    """The first field message of a 422 that the refusals' catalogue translates (a figure
    that cannot be, domain/rules.py ``FIGURES``), as a reason; None for the others, whose
    detail stays the code's message."""
    for item in body.get("errors") or ():
        message = item.get("message") if isinstance(item, dict) else None
        if isinstance(message, str) and refusal_zh(message) is not None:
            return message
    return None


def language_of(request: Request) -> Lang:
    """The problem's language: zh when ``Accept-Language`` prefers it, else English."""
    return accepted(request.headers.get("accept-language")) or "en"


def problem_of(error: DomainError) -> Problem:
    """The problem a domain refusal answers with."""
    status = next(
        (s for cls, s in DOMAIN_STATUS.items() if isinstance(error, cls)), 409
    )
    extra: dict[str, Any] = {}
    if isinstance(error, InvalidEventData):
        extra = {"errors": _field_errors_from_domain(error.errors)}
    elif isinstance(error, UnknownEventType):
        extra = {"known": list(error.known)}
    elif isinstance(error, InvalidTransition):
        extra = {"event_type": error.event_type, "step": str(error.step),
                 "allowed": list(error.allowed)}
    elif isinstance(error, RuleViolated):
        extra = {"event_type": error.event_type, "rule": error.rule}
        if error.step is not None:  # streams without steps (fees, providers) name none
            extra = {"event_type": error.event_type, "step": str(error.step),
                     "rule": error.rule}
    elif isinstance(error, PermissionDenied):
        extra = {"event_type": error.event_type, "role": str(error.role), "reason": error.reason}
    elif isinstance(error, UnknownUnit):
        extra = {"errors": [{"field": error.field, "message": str(error)}], "hint": error.hint}
    elif isinstance(error, CommunityMismatch):
        extra = {"errors": [{"field": "community_id", "message": str(error)}],
                 "community_id": error.registered}
    elif isinstance(error, DirectoryRefused):
        extra = {"errors": error.errors}
    elif isinstance(error, VersionConflict):
        extra = {"expected_version": error.expected, "current_version": error.current}
    headers = {"ETag": f'"{error.current}"'} if isinstance(error, VersionConflict) else None
    return Problem(status, error.code, str(error), headers, **extra)


def query_problem(error: QueryError) -> Problem:
    """A read's bad filter: 422 ``invalid_query`` with the ``field`` and, for a value from a
    list, the values ``allowed`` (a value of a format, such as a period, names the format
    in its detail and has no list)."""
    extra: dict[str, Any] = {"field": error.field} if error.field else {}
    if error.field and error.allowed:
        extra["allowed"] = list(error.allowed)
    return Problem(422, "invalid_query", str(error), **extra)


def not_found(case_id: object) -> Problem:
    return Problem(404, CaseNotFound.code, f"case {case_id} not found")


def _field_errors_from_domain(errors: dict[str, str]) -> list[dict[str, str]]:
    return [{"field": name, "message": message} for name, message in errors.items()]


def _validation_problem(error: RequestValidationError) -> Problem:
    fields: list[dict[str, str]] = []
    for item in error.errors():
        kind = str(item.get("type", ""))
        loc = [str(part) for part in item.get("loc", ())]
        if kind == "json_invalid":
            return Problem(400, "malformed_json", "the request body is not valid JSON")
        if kind == "union_tag_invalid":
            tag = item.get("ctx", {}).get("tag", "")
            return Problem(
                422, UnknownEventType.code, f"unknown event type {tag!r}",
                errors=[{"field": "type", "message": "not an event type of the catalogue"}],
            )
        # Hide the model name pydantic puts in the location of union members.
        loc = [part for part in loc if not part[:1].isupper() or part in ("type",)]
        fields.append({"field": ".".join(loc), "message": str(item.get("msg", "invalid"))})
    names = ", ".join(sorted({f["field"] for f in fields})) or "the request"
    return Problem(422, "invalid_data", f"invalid: {names}", errors=fields)


def _unreadable_body(exc: StarletteHTTPException) -> Problem | None:
    """The problem of a body FastAPI could not parse for a reason other than its syntax
    (FastAPI answers those 400 "There was an error parsing the body" with the parser's
    error as the cause): well-formed JSON that no field can hold is 422 ``invalid_data``,
    like any other out-of-range value (ADR 0041). The kinds: an integer of more digits than
    Python converts (4,300; any field's bound is far below), nesting deeper than the parser
    recurses, and text that is not UTF-8. None for any other error."""
    cause = exc.__cause__
    if exc.status_code != 400 or cause is None:
        return None
    if isinstance(cause, RecursionError):
        message = "the body nests arrays or objects deeper than any field allows"
    elif isinstance(cause, UnicodeDecodeError):
        return Problem(400, "malformed_json", "the request body is not UTF-8 JSON")
    elif isinstance(cause, ValueError):
        message = "a number in the body has more digits than any field allows"
    else:
        return None
    return Problem(422, "invalid_data", message,
                   errors=[{"field": "body", "message": message}])


def install(app: FastAPI) -> None:
    """Register the handlers that turn every error into a problem."""

    @app.exception_handler(Problem)
    def _problem(request: Request, exc: Problem) -> JSONResponse:
        return exc.response(language_of(request))

    @app.exception_handler(DomainError)
    def _domain(request: Request, exc: DomainError) -> JSONResponse:
        return problem_of(exc).response(language_of(request))

    @app.exception_handler(RequestValidationError)
    def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return _validation_problem(exc).response(language_of(request))

    @app.exception_handler(StarletteHTTPException)
    def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        codes = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized"}
        code = codes.get(exc.status_code, "http_error")
        detail = exc.detail if isinstance(exc.detail, str) else TITLES.get(exc.status_code, "")
        if exc.status_code == 404:
            detail = f"no resource at {request.url.path}"
        headers = dict(exc.headers or {})
        unreadable = _unreadable_body(exc)
        if unreadable is not None:
            return unreadable.response(language_of(request))
        return Problem(exc.status_code, code, detail, headers).response(language_of(request))

    @app.exception_handler(QueryError)
    def _query(request: Request, exc: QueryError) -> JSONResponse:
        # A read's bad filter, wherever it is asked (the API's routes raise this themselves;
        # the pages rely on it): 422 with the field and the values allowed.
        return query_problem(exc).response(language_of(request))

    @app.exception_handler(InterfaceError)
    @app.exception_handler(OperationalError)
    def _store_down(request: Request, exc: Exception) -> JSONResponse:
        # The store did not answer (restarting, unreachable, busy past its lock timeout).
        # Appends never get here: they resolve their outcome first (api/http/idempotency.py).
        log.warning("store unavailable on %s %s: %s", request.method, request.url.path,
                    str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return Problem(503, "store_unavailable", "the store is unavailable; retry later",
                       {"Retry-After": "2"}).response()

    @app.exception_handler(Exception)
    def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return Problem(500, "internal_error", "an unexpected error occurred").response(
            language_of(request))
