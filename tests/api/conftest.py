"""A real uvicorn server in a thread on 127.0.0.1, and one token for each role (HTTP tests).

Tests speak HTTP to it with httpx, like any client. The server's app is in the same process,
so a test can also reach its ``Cases`` (for set-up with the domain) and its credentials.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from api.credentials import Credentials
from api.http.app import create_app
from api.http.settings import Settings
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Actor, Role
from tests.conftest import START
from tests.district import register_district


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveServer:
    """uvicorn serving ``create_app(settings)`` in a background thread."""

    def __init__(self, settings: Settings) -> None:
        self.app: FastAPI = create_app(settings)
        self.port = free_port()
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, ws="none", lifespan="on",
            log_level="warning", access_log=False, limit_concurrency=200,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.url = f"http://127.0.0.1:{self.port}"

    def start(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=30)

    @property
    def cases(self) -> Cases:
        cases: Cases = self.app.state.cases
        return cases

    @property
    def credentials(self) -> Credentials:
        credentials: Credentials = self.app.state.credentials
        return credentials


@dataclass
class Token:
    token: str
    actor: Actor

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


@dataclass
class Tokens:
    """One token per role in compound JX (community C1), and one per role elsewhere."""

    inside: dict[Role, Token] = field(default_factory=dict)
    outside: dict[Role, Token] = field(default_factory=dict)
    neighbour: Token | None = None

    def __getattr__(self, name: str) -> Token:
        try:
            return self.inside[Role(name)]
        except ValueError:
            raise AttributeError(name) from None


def issue(server: LiveServer, role: Role, **scope: Any) -> Token:
    token = server.credentials.create(role, **scope)
    actor = server.credentials.authenticate(token)
    assert actor is not None
    return Token(token, actor)


def make_tokens(server: LiveServer) -> Tokens:
    tokens = Tokens()
    for role in Role:
        if role is Role.COMMUNITY:
            scope: dict[str, Any] = {"communities": ["C1"], "name": "社区工作人员"}
        elif role in (Role.AUDITOR, Role.ADMIN):
            scope = {"communities": ["C1"]} if role is Role.AUDITOR else {}
        else:
            scope = {"compounds": ["JX"], "name": f"{role.value} of JX"}
        tokens.inside[role] = issue(server, role, **scope)
        tokens.outside[role] = issue(server, role, compounds=["OTHER"], communities=["C9"])
    tokens.neighbour = issue(server, Role.RESIDENT, compounds=["JX"], name="邻居")
    return tokens


ServerFactory = Callable[[str], LiveServer]


@pytest.fixture
def server_factory(clock: ManualClock) -> Iterator[ServerFactory]:
    started: list[LiveServer] = []

    def make(url: str, **overrides: Any) -> LiveServer:
        settings = Settings(database_url=url, clock=clock, **{"projections": False, **overrides})
        server = LiveServer(settings).start()
        started.append(server)
        register_district(server.cases)
        return server

    yield make
    for server in started:
        server.stop()


@pytest.fixture
def pg_server(server_factory: ServerFactory, pg_url: str) -> LiveServer:
    return server_factory(pg_url)


@pytest.fixture
def sqlite_server(server_factory: ServerFactory, sqlite_url: str) -> LiveServer:
    return server_factory(sqlite_url)


@pytest.fixture
def client_for() -> Iterator[Callable[[LiveServer], httpx.Client]]:
    clients: list[httpx.Client] = []

    def make(server: LiveServer) -> httpx.Client:
        client = httpx.Client(base_url=server.url, timeout=60)
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()


__all__ = ["START", "LiveServer", "Token", "Tokens", "free_port", "issue", "make_tokens"]
