"""The follower's pipelined catch-up: batches prepared in memory while the one before is
written give the very rows that batch-by-batch appends give, a rival follower that moves
the log meanwhile makes it start again from the stored state (never a leaf twice), and the
tile fold straight from a tile's bytes is RFC 9162's."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.tlog import tiles as tl
from projections import tlog_batch
from projections import tlog_store as ls
from tests.conftest import START
from tests.district import register_district
from tests.stories import open_case
from tests.tlog.test_tree import mth

TABLES = ("leaves", "tiles", "entries", "state")


@settings(max_examples=300, deadline=None)
@given(st.integers(0, 8).flatmap(
    lambda k: st.lists(st.binary(min_size=32, max_size=32), min_size=1 << k, max_size=1 << k)))
def test_the_fold_from_bytes_is_the_pairwise_fold(hashes: list[bytes]) -> None:
    assert tlog_batch.fold(b"".join(hashes)) == tl.fold(hashes)


def _app(cases: int) -> Cases:
    app = register_district(open_cases("memory:", clock=ManualClock(START)))
    for _ in range(cases):
        open_case(app)
    return app


def _rows(app: Cases) -> dict[str, list[Any]]:
    return {name: sorted(app.db.execute(f"SELECT * FROM {ls.table(app.db, name)}"))
            for name in TABLES}


def _reset(app: Cases) -> None:
    for name in ("leaves", "tiles", "entries"):
        app.db.execute(f"DELETE FROM {ls.table(app.db, name)}")
    app.db.execute(f"UPDATE {ls.table(app.db, 'state')} SET size = 0, position = 0")


@settings(max_examples=8, deadline=None)
@given(st.integers(1, 300))
def test_the_pipelined_catch_up_writes_what_batch_by_batch_appends_write(batch: int) -> None:
    app = _app(25)
    appended = ls.LogFollower(app, batch_size=batch).catch_up()
    piped = _rows(app)
    _reset(app)
    follower = ls.LogFollower(app, batch_size=batch)
    while follower.run_batch().leaves:
        pass
    assert appended == ls.read_state(app.db).size == app.head_position()
    assert piped == _rows(app)
    leaves = [bytes(e) for _idx, _w, data in piped["entries"]
              for e in tl.decode_entries(bytes(data))]
    assert ls.root_at(app.db, len(leaves)) == mth(leaves)
    app.close()


def test_a_rival_follower_moving_the_log_makes_the_catch_up_start_again() -> None:
    app = _app(30)
    total = app.head_position()
    follower = ls.LogFollower(app, batch_size=25)
    rival = ls.LogFollower(app, batch_size=10)
    commit = follower._commit
    moved: list[int] = []

    def commit_after_a_rival(start: ls.LogState, batch: tlog_batch.Batch) -> bool:
        if len(moved) < 2:  # the rival appends first, twice: these writes must be refused
            moved.append(rival.run_batch().leaves)
        return commit(start, batch)

    follower._commit = commit_after_a_rival  # type: ignore[method-assign]
    appended = follower.catch_up()
    assert moved == [10, 10]  # two batches of ours were refused and prepared again
    state = ls.read_state(app.db)
    assert appended == state.size - 20
    assert state.size == app.head_position() == total
    rows = app.db.execute(f"SELECT COUNT(*), COUNT(DISTINCT position), MAX(leaf_index)"
                          f" FROM {ls.table(app.db, 'leaves')}")
    assert rows[0] == (state.size, state.size, state.size - 1)
    leaves = [bytes(e) for _idx, _w, data in _rows(app)["entries"]
              for e in tl.decode_entries(bytes(data))]
    assert ls.root_at(app.db, state.size) == mth(leaves)
    app.close()
