"""Bad page input as a page (输入有误): a browser that asks a dashboard page with a value
the page cannot use gets an HTML page (status 422 kept) in the page's language that names
each field and says what it takes, not the API's JSON problem document.

Only requests that accept HTML and are not downloads: ``.csv`` addresses, programs and
anything without ``text/html`` in ``Accept`` keep the problem+json answer of
api.http.problems (tests/api/test_page_inputs.py). docs/adr/0086-page-input-errors.md.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.responses import Response

from api.i18n import Lang, label, text
from api.pages.access import LoginRequired, page_actor
from api.pages.render import page_language, render
from projections.scope import QueryError

Handler = Callable[[Request, Any], Response | Awaitable[Response]]

#: What a field takes, by its name in the address (a catalogue key, see api.i18n.catalogue).
ALLOWED = {
    "month": "input.allowed.month", "year": "input.allowed.year",
    "from": "input.allowed.day", "to": "input.allowed.day",
    "page": "input.allowed.page", "after": "input.allowed.after",
    "group_by": "input.allowed.group_by", "overdue": "input.allowed.boolean",
}
#: Fields whose allowed values are a vocabulary with names (``label(kind, value)``).
VOCABULARY = {"step": "step", "category": "category", "channel": "channel", "role": "role",
              "actor_role": "role", "type": "event", "event_type": "event"}


def _htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def wants_page(request: Request) -> bool:
    """A dashboard page asked by a browser: not a download, ``text/html`` accepted (or a
    filter form's htmx request)."""
    path = request.url.path
    return (path.startswith("/dashboard") and not path.endswith(".csv")
            and ("text/html" in request.headers.get("accept", "") or _htmx(request)))


def _allowed(field: str, values: tuple[str, ...], lang: Lang) -> str:
    kind = VOCABULARY.get(field)
    if field in ALLOWED:
        return text(ALLOWED[field], lang)
    if values:
        shown = [f"{label(kind, v, lang)} ({v})" if kind and label(kind, v, lang) != v else v
                 for v in values]
        return text("input.allowed.one_of", lang, values="、".join(shown) if lang == "zh"
                    else ", ".join(shown))
    return text(ALLOWED.get(field, "input.allowed.other"), lang)


def validation_fields(exc: RequestValidationError, request: Request,
                      lang: Lang) -> list[dict[str, str]]:
    """Each refused field of the address: its name, the value given, what it takes."""
    found: list[dict[str, str]] = []
    for item in exc.errors():
        loc = [str(part) for part in item.get("loc", ())]
        field = loc[-1] if loc else ""
        if field in {f["field"] for f in found}:
            continue
        values: tuple[str, ...] = ()
        expected = item.get("ctx", {}).get("expected")
        if item.get("type") == "literal_error" and isinstance(expected, str):
            values = tuple(v.strip().strip("'") for v in expected.replace(" or ", ",").split(","))
        found.append({"field": field, "value": request.query_params.get(field, ""),
                      "allowed": _allowed(field, values, lang)})
    return found


def query_fields(exc: QueryError, request: Request, lang: Lang) -> list[dict[str, str]]:
    field = exc.field or ""
    allowed = (_allowed(field, exc.allowed, lang) if exc.field
               else text("input.allowed.other", lang))
    value = request.query_params.get(field, "") if field else ""
    return [{"field": field or "?", "value": value, "allowed": allowed}]


async def refusal_page(request: Request, fields: list[dict[str, str]]) -> Response:
    try:
        actor = await page_actor(request)
    except LoginRequired:
        actor = None
    lang = page_language(request)
    answer = render(request, "invalid.html", status=422, actor=actor, fields=fields,
                    field_name=lambda name: _field_name(name, lang), back=request.url.path)
    if _htmx(request):
        # htmx swaps no 4xx answer: it loads the address as a page instead (HX-Redirect is
        # followed whatever the status), and the browser then gets this page.
        query = f"?{request.url.query}" if request.url.query else ""
        answer.headers["HX-Redirect"] = request.url.path + query
    return answer


def _field_name(name: str, lang: Lang) -> str:
    key = f"input.field.{name}"
    try:
        return text(key, lang)
    except KeyError:
        return name


def install(app: FastAPI) -> None:
    """Wrap the problem handlers (api.http.problems, installed first) for page requests."""
    validation: Handler = app.exception_handlers[RequestValidationError]
    query: Handler = app.exception_handlers[QueryError]

    async def _fallback(handler: Handler, request: Request, exc: Exception) -> Response:
        answer = handler(request, exc)
        return await answer if isinstance(answer, Awaitable) else answer

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> Response:
        if not wants_page(request):
            return await _fallback(validation, request, exc)
        return await refusal_page(request, validation_fields(exc, request,
                                                             page_language(request)))

    @app.exception_handler(QueryError)
    async def _query(request: Request, exc: QueryError) -> Response:
        if not wants_page(request):
            return await _fallback(query, request, exc)
        return await refusal_page(request, query_fields(exc, request, page_language(request)))
