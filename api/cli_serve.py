"""``yishi serve``: the HTTP server (服务), with the background services unless told not."""

from __future__ import annotations

import argparse
import logging
from dataclasses import replace
from typing import Any


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP API server",
        description="Serve the HTTP API on the store of --database-url or $YISHI_DATABASE_URL "
        "(default: the SQLite file ./yishi.db). OpenAPI at /openapi.json, docs at /docs.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    serve.add_argument("--no-projections", action="store_true",
                       help="do not run the projections in this process")
    serve.add_argument("--access-log", action="store_true", help="log every request")
    serve.set_defaults(run=run_serve)


def run_serve(args: argparse.Namespace) -> int:
    # Imported here so that the other subcommands do not pay for the web stack.
    import uvicorn  # noqa: PLC0415

    from api.cli_store import open_or_create  # noqa: PLC0415
    from api.http.app import create_app  # noqa: PLC0415
    from api.http.settings import Settings  # noqa: PLC0415

    settings = Settings()
    if args.database_url:
        settings = replace(settings, database_url=args.database_url)
    # A bad URL or an unreachable store is one line on stderr, before uvicorn starts.
    open_or_create(settings.database_url).close()
    settings = replace(settings, projections=not args.no_projections)
    # yishi's own messages (the projections' catch-up, store faults) beside uvicorn's.
    logging.basicConfig(level=logging.INFO, format="%(levelname)s:     %(name)s: %(message)s")
    uvicorn.run(create_app(settings), host=args.host, port=args.port, ws="none",
                log_level="info", access_log=args.access_log, proxy_headers=False)
    return 0
