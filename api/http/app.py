"""The app factory (应用): ``create_app(settings)`` wires one ``Cases`` per process.

Nothing is built at import time. The lifespan opens the store, the credential and
idempotency tables, and starts the background services (projections) unless told not to;
at shut-down it stops them and closes the store. Adding a router is one line in ROUTERS.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import APIRouter, Depends, FastAPI

from api import pages
from api.credentials import Credentials
from api.http import (
    openapi_doc,
    problems,
    routes_admin,
    routes_cases,
    routes_directory,
    routes_events,
    routes_fees,
    routes_health,
    routes_log,
    routes_meetings,
    routes_points,
    routes_projections,
    routes_providers,
)
from api.http.background import Service, background_services
from api.http.erasure import Purger
from api.http.guard import BodyGuard
from api.http.idempotency import IdempotencyStore
from api.http.query_names import known_query_parameters
from api.http.routes_events import ScopeCache
from api.http.settings import Settings, get_settings
from api.version import package_version
from domain.application import open_cases
from domain.config import parse_database_url

#: Every router of the API; projection routes (GET /cases, /audit, /stats) go here too.
ROUTERS: list[APIRouter] = [
    routes_cases.router,
    routes_events.router,
    routes_admin.router,
    routes_health.router,
    routes_projections.router,
    routes_log.router,
    routes_directory.router,
    routes_points.router,  # participation points (积分制)
    routes_fees.router,  # fee collection (docs/adr/0110)
    routes_meetings.router,  # joint meetings (docs/adr/0113)
    routes_providers.router,  # issue 13: providers and the red/black list
]

DESCRIPTION = """\
Cases through the eight-step deliberation method (八步工作法): 收集问题 collect, 形成议题
topic, 审核议题 review, 会前沟通 pre-consult, 会议协商 negotiate, 决策公布 publish,
组织实施 implement, 民主监督 supervise. Every change is an event appended to the case's
immutable, hash-chained stream.

Authenticate with `Authorization: Bearer <token>` (from `yishi token create`). Every error is
`application/problem+json` with a stable `code`.
"""


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    settings: Settings = app.state.settings
    store_kind = parse_database_url(settings.database_url).kind
    cases = open_cases(settings.database_url, clock=settings.clock,
                       group_commit=settings.group_commit_for(store_kind),
                       outcome_seconds=settings.outcome_seconds)
    app.state.cases = cases
    app.state.credentials = Credentials(cases.db, cache_seconds=settings.token_cache_seconds)
    app.state.idempotency = IdempotencyStore(cases.commands)
    app.state.case_scopes = ScopeCache()
    app.state.purger = Purger(cases, settings.erasure_wait_seconds)
    if cases.keys.pending():
        app.state.purger.kick()  # erasures a stopped server left pending
    services: list[Service] = background_services(cases, settings) if settings.projections else []
    started: list[Service] = []
    app.state.services = started
    try:
        for service in services:
            service.start()
            started.append(service)
        yield
    finally:
        for service in reversed(started):
            service.stop()
        app.state.purger.stop()
        cases.close()


def create_app(settings: Settings | None = None) -> FastAPI:
    """A new app for these settings (default: the environment's)."""
    settings = settings or get_settings()
    app = FastAPI(
        title="yishi (议事) API",
        # The API is versioned with the package: the document says which build serves it.
        version=package_version() or "0+unknown",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # /docs and /redoc are served from vendored assets (api.pages)
        redoc_url=None,
    )
    app.state.settings = settings
    app.openapi = openapi_doc.corrected(app.openapi)  # type: ignore[method-assign]
    problems.install(app)
    for router in ROUTERS:
        app.include_router(router, dependencies=[Depends(known_query_parameters)])
    pages.install(app)
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes,
                       max_depth=settings.max_json_depth)
    return app

