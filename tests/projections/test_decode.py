"""The runner's direct JSON decoding reads exactly what the library's mapper decodes."""

from __future__ import annotations

from collections.abc import Callable

from domain.application import Cases
from domain.clock import ManualClock
from projections.fold import EventView
from projections.runner import decode
from tests.projections.histories import play, random_history


def test_direct_decoding_equals_the_library_mapper(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    play(app, clock, random_history(seed=5, length=120))
    notifications = [n for n in app.recorder.select_notifications(start=1, limit=10_000)
                     if n.topic.startswith("yishi:Case.")]  # not the directory's streams
    direct = decode(app, notifications)
    by_mapper = [(n.id, EventView.of(app.mapper.to_domain_event(n))) for n in notifications]
    assert len(direct) == len(notifications) > 50
    assert direct == by_mapper
