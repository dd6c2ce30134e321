"""Logging in and out of the pages (登录): a token pasted once, a session cookie after.

``POST /dashboard/login`` takes a form (``token``, ``next``) and answers 303 to ``next``
(a /dashboard path only, never another site) with the session cookie; a bad token answers
the form again with 401 and nothing is set. ``POST /dashboard/logout`` ends the session.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from api.i18n import text
from api.pages.access import sessions_of
from api.pages.render import page_language, render, url_for_lang
from api.pages.sessions import COOKIE, COOKIE_PATH, LIFETIME_SECONDS

router = APIRouter(prefix="/dashboard", include_in_schema=False)


def safe_next(value: str | None) -> str:
    """Only a path of the dashboard: no scheme, no host, no ``//`` (an open redirect)."""
    if value and value.startswith("/dashboard") and "//" not in value and "\\" not in value:
        return value
    return "/dashboard"


@router.get("/login", response_class=HTMLResponse)
def login_form(request: Request) -> HTMLResponse:
    lang = page_language(request)
    notice = request.query_params.get("notice")
    message = text("login.out", lang) if notice == "out" else (
        text("login.expired", lang) if notice == "expired" else None)
    return render(request, "login.html", next=safe_next(request.query_params.get("next")),
                  message=message, error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    lang = page_language(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    target = safe_next((form.get("next") or [""])[0])
    opened = await run_in_threadpool(sessions_of(request).open, token)
    if opened is None:
        return render(request, "login.html", status=401, next=target, message=None,
                      error=text("login.bad", lang))
    session_id, _actor = opened
    if lang == "en" and "lang=" not in target:
        target = url_for_lang("en", target)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE, session_id, max_age=LIFETIME_SECONDS, path=COOKIE_PATH, httponly=True,
        samesite="strict", secure=request.url.scheme == "https",
    )
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    lang = page_language(request)
    await run_in_threadpool(sessions_of(request).close, request.cookies.get(COOKIE))
    response = RedirectResponse(url_for_lang(lang, "/dashboard/login", notice="out"),
                                status_code=303)
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response
