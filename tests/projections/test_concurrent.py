"""Four writers append 2,000 events while the projection follows; it ends equal to the reference."""

from __future__ import annotations

import threading
from collections.abc import Callable
from uuid import UUID

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections.service import ProjectionService
from tests.projections.checks import assert_equal_to_reference
from tests.projections.histories import play, random_history

pytestmark = pytest.mark.postgres

WRITERS = 4
EVENTS = 2000


def test_projection_following_four_concurrent_writers_equals_the_reference(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    service = ProjectionService(app, batch_size=50, interval=0.02)
    service.start()
    errors: list[BaseException] = []
    positions_seen: list[int] = []

    def write(seed: int) -> None:
        own: list[UUID] = []
        done = 0
        chunk = 0
        try:
            while done < EVENTS // WRITERS:
                moves = random_history(seed * 1000 + chunk, EVENTS // WRITERS - done)
                done += play(app, clock, moves, own)
                chunk += 1
        except BaseException as error:  # reported below, not swallowed
            errors.append(error)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(WRITERS)]
    for thread in threads:
        thread.start()
    while any(t.is_alive() for t in threads):
        positions_seen.append(service.position())
        threading.Event().wait(0.05)
    for thread in threads:
        thread.join()
    assert not errors, errors
    head = app.head_position()
    assert head >= EVENTS
    assert service.wait_for(head, timeout=60)
    service.stop()
    assert service.status()["error"] is None
    # It followed while they wrote, rather than only catching up at the end.
    assert any(0 < p < head for p in positions_seen)
    assert_equal_to_reference(app)
