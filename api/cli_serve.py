"""``yishi serve``: the HTTP server (服务), with the background services unless told not."""

from __future__ import annotations

import argparse
import logging
import socket
from dataclasses import replace
from typing import Any

from api.cli import CommandError


def port_number(text: str) -> int:
    """A TCP port, 1 to 65535 (argparse type: anything else is one line and exit 2)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"port must be 1 to 65535, not {port}")
    return port


def check_listen(host: str, port: int) -> None:
    """``CommandError`` (exit 2, one line) when ``host:port`` cannot be listened on: in
    use, or an address this machine does not have. Checked before the store is touched."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                           ) from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as error:
            raise CommandError(f"cannot listen on {host}:{port}: {error.strerror or error}"
                               ) from None


def register(subparsers: Any) -> None:
    serve = subparsers.add_parser(
        "serve",
        help="run the HTTP API server",
        description="Serve the HTTP API on the store of --database-url or $YISHI_DATABASE_URL "
        "(default: the SQLite file ./yishi.db). OpenAPI at /openapi.json, docs at /docs.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=8000,
                       help="port to listen on, 1 to 65535 (8000)")
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

    check_listen(args.host, args.port)
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
