"""Awards from case events happen exactly once: across replays, rebuilds, lost positions
and concurrent policies, through SQLite and PostgreSQL (docs/adr/0101)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import Cases
from domain.clock import ManualClock
from projections import points_policy
from projections.points_policy import PointsPolicy
from projections.service import rebuild
from tests.points.stories import Story, awards, cast, play

stories = st.lists(st.builds(
    Story,
    reporter=st.integers(0, 2),
    channel=st.sampled_from(["wechat", "snapshot", "walk_in"]),
    reach=st.sampled_from(["collect", "topic", "meeting", "rated"]),
    attendees=st.lists(st.integers(0, 2), max_size=3).map(tuple),
), min_size=1, max_size=4)
#: What happens between policy batches: a batch, a lost position (a crash before the
#: position committed), a rebuild of the read models, a second policy at once.
interruptions = st.lists(st.sampled_from(["batch", "lose", "rebuild", "second"]),
                         min_size=1, max_size=6)
_examples = itertools.count()


def _set_position(app: Cases, position: int) -> None:
    app.db.execute(f"UPDATE {app.db.table(points_policy.TABLE)} SET position = %s",
                   (position,))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_awards_happen_exactly_once_whatever_interrupts_the_policy(
    kind: str, app_factory: Callable[[str], Cases], clock: ManualClock,
    request: pytest.FixtureRequest,
) -> None:
    app = app_factory(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url"))

    @settings(max_examples=12, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture,
                                     HealthCheck.too_slow])
    @given(plot=stories, steps=interruptions, batch=st.integers(1, 7))
    def check(plot: list[Story], steps: list[str], batch: int) -> None:
        PointsPolicy(app).catch_up()  # earlier examples' awards are done
        start = points_policy.read_position(app)
        who = cast(app, f"ex{next(_examples)}")
        expected = [award for story in plot for award in play(app, clock, who, story)]
        policy = PointsPolicy(app, batch_size=batch)
        for step in steps:
            if step == "batch":
                policy.run_batch()
            elif step == "lose":
                policy.run_batch()
                _set_position(app, start)  # as if the process died before it moved
            elif step == "rebuild":
                rebuild(app)
            else:
                PointsPolicy(app, batch_size=batch + 1).run_batch()
        policy.catch_up()
        _set_position(app, start)  # and once more from the start: nothing new
        PointsPolicy(app).catch_up()
        assert sorted(awards(app, who)) == sorted(expected)

    check()


def test_a_rebuild_never_runs_the_policy(app_factory: Callable[[str], Cases],
                                         clock: ManualClock, sqlite_url: str) -> None:
    app = app_factory(sqlite_url)
    who = cast(app, "rb")
    expected = play(app, clock, who, Story(0, "snapshot", "rated", (0, 1)))
    policy = PointsPolicy(app)
    assert policy.catch_up() == len(expected) == 4
    head = app.head_position()
    rebuild(app)
    assert app.head_position() == head  # no events: the rebuild awarded nothing
    assert PointsPolicy(app).catch_up() == 0
    assert sorted(awards(app, who)) == sorted(expected)


def test_an_award_is_dated_by_the_event_that_earned_it(
    app_factory: Callable[[str], Cases], clock: ManualClock, sqlite_url: str
) -> None:
    app = app_factory(sqlite_url)
    who = cast(app, "dt")
    play(app, clock, who, Story(0, "wechat", "topic"))
    formed = next(e for e in app.history(next(iter(app.case_ids())))
                  if e.type == "TopicFormed")
    PointsPolicy(app).catch_up()
    [(_p, award)] = [(p, e) for p, e in app.points.history(who.participants[0])
                     if type(e).__name__ == "PointsAwarded"]
    assert award.timestamp == formed.recorded_at
    assert award.data["earned_by"] == {"case_id": str(formed.case_id),
                                       "version": formed.version, "type": "TopicFormed"}
