"""Who is reading a page: the session cookie's actor, or a redirect to the login."""

from __future__ import annotations

import threading
from typing import Annotated

from fastapi import Depends, Request
from starlette.concurrency import run_in_threadpool

from api.pages.sessions import COOKIE, Sessions
from domain.application import Cases
from domain.model import Actor


class LoginRequired(Exception):
    """No live session: the page answers 303 to the login (api.pages.install)."""


_LOCK = threading.Lock()


def sessions_of(request: Request) -> Sessions:
    """The app's session table, opened on first use (after the lifespan opened the store)."""
    state = request.app.state
    sessions: Sessions | None = getattr(state, "page_sessions", None)
    if sessions is None:
        with _LOCK:
            sessions = getattr(state, "page_sessions", None)
            if sessions is None:
                sessions = state.page_sessions = Sessions(state.cases.db, state.credentials)
    return sessions


async def page_actor(request: Request) -> Actor:
    """The actor of the request's session cookie; LoginRequired without a live one."""
    session_id = request.cookies.get(COOKIE)
    if not session_id:
        raise LoginRequired
    actor = await run_in_threadpool(sessions_of(request).actor, session_id)
    if actor is None:
        raise LoginRequired
    return actor


def cases_of(request: Request) -> Cases:
    cases: Cases = request.app.state.cases
    return cases


PageActor = Annotated[Actor, Depends(page_actor)]
