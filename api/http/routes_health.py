"""Liveness and readiness (健康检查).

``/readyz`` is what a load balancer asks before sending reads: 503 while the database does
not answer, or while the read models this process serves lag the log by more than
``Settings.ready_max_lag`` events (docs/adr/0042-readiness.md). A process that runs the
projections itself reports its own; one started with ``--no-projections`` reads the
positions the projection process tracks in the database. ``/readyz?for=writes`` asks the
database only, so that writes keep flowing to a server whose read models are rebuilding.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request

from api.http.auth import CasesDep, SettingsDep
from api.http.problems import Problem
from projections import store

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get(
    "/readyz",
    summary="Readiness: the database answers and the read models are caught up",
    responses={503: {"description": "database_unreachable, or not_ready with the lag of "
                                    "each read model (problem+json)"}},
)
def readyz(
    request: Request,
    cases: CasesDep,
    settings: SettingsDep,
    for_: Annotated[Literal["reads", "writes"], Query(
        alias="for", description="writes: the database only; reads (default): also the "
        "read models' lag")] = "reads",
) -> dict[str, Any]:
    try:
        cases.db.execute("SELECT 1")
        head = cases.head_position()
    except Exception:
        raise Problem(503, "database_unreachable", "the database does not answer",
                      {"Retry-After": "5"}) from None
    if for_ == "writes":
        return {"status": "ready", "for": "writes", "database": "ok", "head": head}
    followers = _followers(request, cases, head)
    lagging = [f for f in followers if f["lag"] > settings.ready_max_lag]
    body = {"for": "reads", "database": "ok", "head": head, "max_lag": settings.ready_max_lag,
            "projections": followers}
    if lagging:
        names = ", ".join(f"{f['name']} {f['lag']:,} events behind" for f in lagging)
        raise Problem(503, "not_ready", f"the read models are catching up: {names}",
                      {"Retry-After": "2"}, **body)
    return {"status": "ready", **body}


def _followers(request: Request, cases: Any, head: int) -> list[dict[str, Any]]:
    """Each read model's position and lag: this process's own services, else the
    positions tracked in the database (a ``--no-projections`` server)."""
    followers = []
    for service in request.app.state.services:
        position = getattr(service, "position", None)
        if callable(position):
            at = int(position())
            followers.append({"name": getattr(service, "name", type(service).__name__),
                              "position": at, "lag": max(head - at, 0)})
    if not followers:
        try:
            _generation, known = store.positions(cases.db)
        except Exception:  # no projection has ever run on this store
            known = {}
        at = min(known.values(), default=0)
        followers.append({"name": "projections", "position": at, "lag": max(head - at, 0),
                          "tracked_by": "database"})
    return followers
