"""The log's follower: exactly once across a SIGKILL mid-batch, the root of a plain
recursive RFC 9162 computation for random histories (Hypothesis), tiles that cross their
256-hash boundaries, and erasure that changes no leaf and no checkpoint."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from uuid import UUID

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.model import Step
from domain.storage import Database
from domain.tlog.note import Signer
from domain.tlog.tree import leaf_hash, range_nodes
from projections import tlog_store as ls
from projections.service import rebuild
from projections.tlog_service import LogStep
from projections.tlog_signer import latest_checkpoint
from tests.conftest import START, People
from tests.district import DISTRICT_EVENTS, register_district
from tests.stories import advance, open_case
from tests.tlog.test_tree import mth

ROOT = Path(__file__).resolve().parents[2]
FOLLOW = """
import sys
from domain.application import open_cases
from projections.tlog_store import LogFollower
LogFollower(open_cases(sys.argv[1]), batch_size=40).catch_up()
"""


def events_root(app: Cases) -> tuple[int, bytes]:
    refs = ls.read_events(app, 0, 10**6)
    return len(refs), mth([r.leaf() for r in refs])


def test_a_follower_killed_mid_batch_resumes_to_the_same_tree(
    sqlite_url: str, app_factory: Callable[[str], Cases], clock: ManualClock
) -> None:
    app = app_factory(sqlite_url)
    for _ in range(12):
        advance(app, clock, open_case(app), Step.CLOSED)  # 192 case events
    total = DISTRICT_EVENTS + 192  # 6 batches of 40
    ls.ensure_tables(app.db)
    env = {**os.environ, "YISHI_LOG_SLOWDOWN": "0.4", "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-c", FOLLOW, sqlite_url], env=env, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while ls.read_state(app.db).size < 80 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.2)  # inside the next batch's transaction
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    state = ls.read_state(app.db)
    assert 80 <= state.size < total
    assert state.size % 40 == 0, "a batch is all or nothing"
    ls.LogFollower(app, batch_size=40).catch_up()
    size, root = events_root(app)
    assert ls.read_state(app.db).size == size == total
    assert ls.root_at(app.db, size) == root
    rows = app.db.execute(f"SELECT COUNT(*), COUNT(DISTINCT position) FROM "
                          f"{ls.table(app.db, 'leaves')}")
    assert rows[0] == (total, total)


def _refs(count: int) -> list[ls.EventRef]:
    return [ls.EventRef(i * 3 + 1, "2b1f3c1e-4a5b-4c6d-8e7f-0123456789ab", i + 1,
                        f"{i:064x}") for i in range(count)]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.integers(1, 700), min_size=1, max_size=6), st.data())
def test_the_stored_tree_is_the_rfc_tree_for_any_batching(
    batches: list[int], draw: st.DataObject
) -> None:
    db = Database(None)
    ls.ensure_tables(db)
    refs = _refs(sum(batches))
    size = 0
    for count in batches:
        with db.transaction() as cur:
            size = ls.append_leaves(db, cur, size, refs[size : size + count])
    leaves = [r.leaf() for r in refs]
    assert ls.root_at(db, size) == mth(leaves)
    at = draw.draw(st.integers(1, size))
    assert ls.root_at(db, at) == mth(leaves[:at])
    index = draw.draw(st.integers(0, at - 1))
    hashes = ls.load_hashes(db, range_nodes(index, index + 1))
    assert next(iter(hashes.values())) == leaf_hash(leaves[index])


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                 HealthCheck.function_scoped_fixture])
@given(st.lists(st.sampled_from(["report", "advance", "comment"]), min_size=1, max_size=12))
def test_for_random_histories_the_root_is_the_recursive_rfc_root(steps: list[str]) -> None:
    clock = ManualClock(START)
    app = register_district(open_cases("memory:", clock=clock))
    opened: list[UUID] = []
    for what in steps:
        if what == "report" or not opened:
            opened.append(open_case(app))
        elif what == "advance":
            advance(app, clock, opened[-1], Step.TOPIC)
        else:
            app.add_comment(opened[-1], People.resident, text="还在漏")
    follower = ls.LogFollower(app, batch_size=7)
    follower.catch_up()
    size, root = events_root(app)
    assert ls.read_state(app.db).size == size
    assert ls.root_at(app.db, size) == root
    app.close()


def test_erasure_changes_no_leaf_and_no_checkpoint(
    sqlite_url: str, app_factory: Callable[[str], Cases], clock: ManualClock, log_key: Signer
) -> None:
    app = app_factory(sqlite_url)
    case = open_case(app)
    advance(app, clock, case, Step.CLOSED)
    step = LogStep(app)
    while step():
        pass
    before = latest_checkpoint(app.db)
    entries = app.db.execute(f"SELECT data FROM {ls.table(app.db, 'entries')}")
    assert app.erase_subject(f"resident:{People.resident.id}", People.admin)
    ls.LogFollower(app).catch_up()
    assert latest_checkpoint(app.db) == before
    assert app.db.execute(f"SELECT data FROM {ls.table(app.db, 'entries')}") == entries
    assert before is not None
    assert ls.root_at(app.db, before[0]) == before[1]
    reopened = open_cases(sqlite_url)
    assert events_root(reopened)[1] == before[1]
    reopened.close()


def test_projections_rebuild_never_touches_the_log(
    sqlite_url: str, app_factory: Callable[[str], Cases], clock: ManualClock, log_key: Signer
) -> None:
    app = app_factory(sqlite_url)
    advance(app, clock, open_case(app), Step.CLOSED)
    step = LogStep(app)
    while step():
        pass

    def log_tables() -> list[object]:
        return [app.db.execute(f"SELECT * FROM {ls.table(app.db, name)}")
                for name in ("state", "leaves", "tiles", "entries", "checkpoints")]

    before = log_tables()
    rebuild(app)
    assert log_tables() == before
