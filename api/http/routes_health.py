"""Liveness and readiness (健康检查)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from api.http.auth import CasesDep
from api.http.problems import Problem

router = APIRouter(tags=["health"])


@router.get("/healthz", summary="Liveness: the process answers")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: the database answers; projection positions",
            responses={503: {"description": "The database is not reachable (problem+json)"}})
def readyz(request: Request, cases: CasesDep) -> dict[str, Any]:
    try:
        cases.db.execute("SELECT 1")
        head = cases.head_position()
    except Exception:
        raise Problem(503, "database_unreachable", "the database does not answer",
                      {"Retry-After": "5"}) from None
    projections = []
    for service in request.app.state.services:
        position = getattr(service, "position", None)
        if callable(position):
            at = int(position())
            projections.append({"name": getattr(service, "name", type(service).__name__),
                                "position": at, "lag": max(head - at, 0)})
    return {"status": "ready", "database": "ok", "head": head, "projections": projections}
