"""Every dependency of every route is ``async def`` (or a security scheme, which is):
FastAPI runs a plain ``def`` dependency in a worker thread, and such a hand-over per
dependency per request was most of an append's CPU (docs/adr/0015-request-cost.md).
Endpoints stay plain ``def``: they call the synchronous application."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security.base import SecurityBase

from api.http.app import ROUTERS


def dependencies(dependant: Dependant) -> Iterator[Dependant]:
    for sub in dependant.dependencies:
        yield sub
        yield from dependencies(sub)


def runs_on_the_event_loop(call: Any) -> bool:
    if isinstance(call, SecurityBase):
        return inspect.iscoroutinefunction(type(call).__call__)
    return inspect.iscoroutinefunction(call)


def test_no_route_hands_a_dependency_to_a_worker_thread() -> None:
    routes = [route for router in ROUTERS for route in router.routes
              if isinstance(route, APIRoute)]
    checked = {
        f"{sorted(route.methods or ())} {route.path}: {getattr(dep.call, '__name__', dep.call)}"
        for route in routes for dep in dependencies(route.dependant)
    }
    threaded = sorted(
        f"{sorted(route.methods or ())} {route.path}: {getattr(dep.call, '__name__', dep.call)}"
        for route in routes for dep in dependencies(route.dependant)
        if not runs_on_the_event_loop(dep.call)
    )
    assert len(checked) > 20  # the walk sees the dependencies at all
    assert threaded == []


def test_a_plain_def_dependency_would_be_noticed() -> None:
    def blocking() -> int:
        return 1

    assert not runs_on_the_event_loop(blocking)
