"""Services that run beside the HTTP server for its whole life (后台服务).

The lifespan starts each service after the application is built and stops them in reverse
order at shut-down, unless the server runs with ``--no-projections``. The projection runner
plugs in here: return it from ``background_services``. A service that also has
``position() -> int`` is reported by ``GET /readyz``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from projections.points_policy import PointsPolicyService
from projections.service import ProjectionService
from projections.tlog_service import LogService

if TYPE_CHECKING:
    from api.http.settings import Settings
    from domain.application import Cases


class Service(Protocol):
    def start(self) -> None: ...

    def stop(self) -> None: ...


def background_services(cases: Cases, settings: Settings) -> list[Service]:
    """The services to run beside the server: the projections and the verifiable log's
    follower (which signs checkpoints when it has a key), and the points policy (awards
    that follow case events, docs/adr/0101), each in a background thread."""
    return [ProjectionService(cases), LogService(cases), PointsPolicyService(cases)]
