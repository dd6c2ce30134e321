"""Who is calling: the bearer token's actor, and the dependency aliases routes use.

The dependencies are ``async def`` and do no I/O on the event loop: FastAPI runs every
plain ``def`` dependency in a worker thread, and each such hand-over cost more CPU than the
append itself. Only a token not in the credentials' cache is looked up in the database, in
a worker thread (docs/adr/0014-token-cache.md); the endpoints stay plain ``def``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from api.credentials import Credentials
from api.http.idempotency import IdempotencyStore
from api.http.problems import Problem
from api.http.settings import Settings
from domain.application import Cases
from domain.model import Actor, Role

_bearer = HTTPBearer(
    auto_error=False,
    description="A token from `yishi token create` (令牌). Its role and scope decide access.",
)


async def get_cases(request: Request) -> Cases:
    cases: Cases = request.app.state.cases
    return cases


async def get_credentials(request: Request) -> Credentials:
    credentials: Credentials = request.app.state.credentials
    return credentials


async def get_idempotency(request: Request) -> IdempotencyStore:
    store: IdempotencyStore = request.app.state.idempotency
    return store


async def get_app_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def unauthorized(detail: str) -> Problem:
    return Problem(401, "unauthorized", detail, {"WWW-Authenticate": 'Bearer realm="yishi"'})


async def get_actor(
    request: Request,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Actor:
    """The actor of a live bearer token; 401 otherwise (there is no anonymous access)."""
    if bearer is None or bearer.scheme.lower() != "bearer":
        raise unauthorized("a bearer token is required")
    credentials: Credentials = request.app.state.credentials
    token = bearer.credentials
    actor = credentials.remembered(token)
    if actor is None:
        actor = await run_in_threadpool(credentials.authenticate, token)
    if actor is None:
        raise unauthorized("the token is unknown or revoked")
    # The scope names units; the directory says what they cover now (docs/adr/0070).
    directory = request.app.state.cases.directory
    if directory.stale:  # one request brings it up to date; the others go on
        await run_in_threadpool(directory.refresh_if_stale)
    resolved: Actor = directory.resolve(actor)
    return resolved


async def get_admin(actor: Annotated[Actor, Depends(get_actor)]) -> Actor:
    """Credentials, the directory and erasure are the admin's (管理员); the domain checks
    erasure and the directory's scope itself."""
    if actor.role is not Role.ADMIN:
        raise Problem(403, "forbidden_role", "only an admin may do this (credentials, the"
                      " directory, erasure)", role=actor.role)
    return actor


CasesDep = Annotated[Cases, Depends(get_cases)]
CredentialsDep = Annotated[Credentials, Depends(get_credentials)]
IdempotencyDep = Annotated[IdempotencyStore, Depends(get_idempotency)]
SettingsDep = Annotated[Settings, Depends(get_app_settings)]
ActorDep = Annotated[Actor, Depends(get_actor)]
AdminDep = Annotated[Actor, Depends(get_admin)]
