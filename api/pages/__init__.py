"""The pages people look at (页面): the district dashboard and the residents' notice board.

Server-rendered by the API's own FastAPI application (Jinja2 templates, htmx, ECharts),
with every script and style sheet shipped in ``api/pages/static`` (vendored from npm, see
static/vendor/README.md): nothing is fetched from another host. ``install(app)`` adds

- ``/dashboard`` … the staff pages, behind a session cookie (api.pages.sessions);
- ``/board/<compound>`` … the notice board, public;
- ``/`` … a browser is sent to the login, a program gets a short JSON index;
- ``/docs`` and ``/redoc`` … Swagger UI and ReDoc from the vendored copies;
- ``/static`` … the assets.

Every figure is read with the query functions the API's routes call, with the reader's
scope: a page never shows a number the API would not give the same token.
docs/adr/0080-pages.md.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from api.pages import refusals as page_refusals
from api.pages import (
    routes_audit,
    routes_board,
    routes_cases,
    routes_fees,
    routes_figures,
    routes_login,
    routes_points,
    routes_providers,
)
from api.pages.access import LoginRequired
from api.pages.render import STATIC, page_language, url_for_lang

ROUTERS = (routes_login.router, routes_figures.router, routes_cases.router,
           routes_audit.router, routes_board.router,
           routes_points.router,  # participation points (积分制)
           routes_fees.router,  # fees and joint meetings (issue 14)
           routes_providers.router)  # issue 13: the red/black list (红黑榜)


#: The docs pages may load nothing from another host: the browser itself refuses (ReDoc's
#: sidebar would otherwise fetch its logo from a CDN). Their own HTML has inline scripts.
DOCS_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; "
    "connect-src 'self'; frame-ancestors 'none'"
)


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_POLICY
    return page


def _resources(app: FastAPI) -> list[str]:
    """Every address the OpenAPI document describes, sorted: the index never falls behind."""
    return sorted(app.openapi()["paths"])


def install(app: FastAPI) -> None:
    """Add the pages, the offline docs and the root to an app created with
    ``docs_url=None, redoc_url=None``."""
    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    for router in ROUTERS:
        app.include_router(router)
    page_refusals.install(app)  # bad input: a page for a browser, a problem otherwise

    @app.exception_handler(LoginRequired)
    def _login(request: Request, exc: LoginRequired) -> Response:
        lang = page_language(request)
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(url_for_lang(lang, "/dashboard/login", next=target),
                                status_code=303)

    @app.get("/", include_in_schema=False)
    def root(request: Request) -> Response:
        """A browser goes to the login; anything else gets a short index of the API."""
        if "text/html" in request.headers.get("accept", ""):
            return RedirectResponse("/dashboard/login", status_code=303)
        return JSONResponse({
            "name": "yishi (议事)",
            "version": app.version,
            "openapi": "/openapi.json",
            "docs": "/docs",
            "redoc": "/redoc",
            "dashboard": "/dashboard",
            "notice_board": "/board/{compound_id}",
            "health": "/healthz",
            "resources": _resources(app),
        })

    @app.get("/docs", include_in_schema=False)
    def docs() -> HTMLResponse:
        return _offline(get_swagger_ui_html(
            openapi_url="/openapi.json", title=f"{app.title} — Swagger UI",
            swagger_js_url="/static/vendor/swagger-ui/swagger-ui-bundle.js",
            swagger_css_url="/static/vendor/swagger-ui/swagger-ui.css",
            swagger_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
            swagger_ui_parameters={"validatorUrl": None},
        ))

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return _offline(get_redoc_html(
            openapi_url="/openapi.json", title=f"{app.title} — ReDoc",
            redoc_js_url="/static/vendor/redoc/redoc.standalone.js",
            redoc_favicon_url="/static/vendor/swagger-ui/favicon-32x32.png",
            with_google_fonts=False,
        ))


__all__ = ["install"]
