"""Group commit (docs/adr/0030) on the real stores: concurrent commands share transactions
and keep the semantics of one save per command."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.application import ProcessingEvent
from eventsourcing.persistence import IntegrityError

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.errors import VersionConflict
from domain.groupcommit import GroupCommitter
from domain.model import Actor, Role
from tests.conftest import People
from tests.district import register_district
from tests.stories import open_case

THREADS = 16


def writer(n: int) -> Actor:
    return Actor(f"grid-{n}", Role.GRID_WORKER, frozenset({"JX"}))


@pytest.fixture
def gc_factory(clock: ManualClock) -> Any:
    opened: list[Cases] = []

    def make(url: str, **kwargs: Any) -> Cases:
        app = register_district(open_cases(url, clock=clock, group_commit=True, **kwargs))
        opened.append(app)
        return app

    yield make
    for app in opened:
        app.close()


def at_once(n: int, work: Callable[[int], Any]) -> list[Any]:
    """Run work(0..n-1) in n threads released together; results or exceptions."""
    start = threading.Barrier(n)

    def run(i: int) -> Any:
        start.wait()
        try:
            return work(i)
        except Exception as error:
            return error

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(run, range(n)))


def test_sixteen_threads_on_sixteen_cases_all_land_in_shared_transactions(
    durable_url: str, gc_factory: Any
) -> None:
    app = gc_factory(durable_url, extra_env={"GROUP_COMMIT_MAX_WAIT_MS": "20"})
    assert app.committer is not None
    ids = [open_case(app) for _ in range(THREADS)]
    per_thread = 5
    before = app.committer.stats.largest

    def work(i: int) -> list[int]:
        return [
            app.record(ids[i], "CommentAdded", {"text": f"{i}/{k}"}, writer(i)).event.version
            for k in range(per_thread)
        ]

    results = at_once(THREADS, work)
    assert results == [list(range(2, 2 + per_thread))] * THREADS
    assert app.committer.stats.largest > max(before, 1)  # commands shared a transaction
    positions: list[int] = []
    fresh = open_cases(durable_url)
    try:
        for i, case_id in enumerate(ids):
            history = fresh.history(case_id)
            assert [e.version for e in history] == list(range(1, 2 + per_thread))
            assert [e.data["text"] for e in history[1:]] == [f"{i}/{k}" for k in range(per_thread)]
            assert fresh.verify(case_id).valid
            positions += [e.position for e in history if e.position is not None]
    finally:
        fresh.close()
    assert len(set(positions)) == THREADS * (1 + per_thread)


def test_returned_positions_are_the_stored_ones(durable_url: str, gc_factory: Any) -> None:
    app = gc_factory(durable_url)
    ids = [open_case(app) for _ in range(4)]
    recorded = at_once(4, lambda i: app.add_comment(ids[i], People.grid, text=f"c{i}"))
    for i, result in enumerate(recorded):
        stored = app.history(ids[i])[-1]
        assert result.event == stored
        assert result.event.position == app.positions(ids[i])[2]
        assert result.case.version == 2


def test_sixteen_conditional_appends_on_one_case_exactly_one_wins(
    pg_url: str, gc_factory: Any
) -> None:
    app = gc_factory(pg_url)
    case_id = open_case(app)
    for version in (1, 2):
        def append(n: int, v: int = version) -> Any:
            return app.record(case_id, "CommentAdded", {"text": f"writer {n}"}, writer(n),
                              expected_version=v)

        results = at_once(THREADS, append)
        won = [r for r in results if not isinstance(r, Exception)]
        lost = [r for r in results if isinstance(r, Exception)]
        assert len(won) == 1
        assert won[0].event.version == version + 1
        assert all(isinstance(r, VersionConflict) and r.expected == version for r in lost)
    assert [e.version for e in app.history(case_id)] == [1, 2, 3]
    assert app.verify(case_id).valid


def test_sixteen_appends_on_the_head_of_one_case_all_land(pg_url: str, gc_factory: Any) -> None:
    app = gc_factory(pg_url)
    case_id = open_case(app)
    results = at_once(THREADS, lambda n: app.record(
        case_id, "CommentAdded", {"text": f"writer {n}"}, writer(n)))
    assert not [r for r in results if isinstance(r, Exception)]
    assert sorted(r.event.version for r in results) == list(range(2, THREADS + 2))
    history = app.history(case_id)
    assert [e.version for e in history] == list(range(1, THREADS + 2))
    assert app.verify(case_id).valid


def test_a_conflict_from_another_process_fails_alone(pg_url: str, gc_factory: Any) -> None:
    """The batch's transaction fails; each unit is then saved alone, and only the
    conflicting one fails."""
    app = gc_factory(pg_url)
    other = open_cases(pg_url)  # another process: no group commit, its own cache
    try:
        ids = [open_case(app) for _ in range(3)]
        cases = [app.get_case(case_id) for case_id in ids]
        other.add_comment(ids[1], People.grid, text="first")  # takes version 2 of case 1
        units = []
        for case in cases:
            case.record("CommentAdded", {"text": "batched"}, People.grid, app.clock.now())
            unit: ProcessingEvent[UUID] = ProcessingEvent()
            unit.collect_events(case)
            units.append(unit)
        committer = GroupCommitter(app._record, max_wait=30)
        try:
            with committer.deciding():  # hold the writer until all three are queued
                pool = ThreadPoolExecutor(3)
                futures = [pool.submit(committer.commit, u) for u in units]
                while committer.stats.submitted < 3:
                    threading.Event().wait(0.001)
            outcomes: list[Any] = [f.exception() or f.result() for f in futures]
            pool.shutdown()
        finally:
            committer.close()
        assert committer.stats.fallbacks == 1
        assert isinstance(outcomes[1], IntegrityError)
        assert [r.domain_event.originator_version for r in outcomes[0]] == [2]
        assert [r.domain_event.originator_version for r in outcomes[2]] == [2]
        assert [e.data["text"] for e in app.history(ids[0])[1:]] == ["batched"]
        assert [e.data["text"] for e in app.history(ids[1])[1:]] == ["first"]
        assert all(app.verify(case_id).valid for case_id in ids)
    finally:
        other.close()


def test_two_units_of_one_case_never_share_a_batch() -> None:
    """The second unit at the same version waits for the next batch and fails there
    without a round trip; a unit at the next version succeeds."""
    recorded: list[list[int]] = []

    def record(pe: ProcessingEvent[Any]) -> list[Any]:
        recorded.append([e.originator_version for e in pe.events])
        return [type("R", (), {"domain_event": e})() for e in pe.events]

    class E:
        def __init__(self, oid: str, v: int) -> None:
            self.originator_id, self.originator_version = oid, v

    def unit(*events: E) -> ProcessingEvent[Any]:
        pe: ProcessingEvent[Any] = ProcessingEvent()
        pe.events.extend(events)
        return pe

    committer = GroupCommitter(record, max_wait=30)
    try:
        with committer.deciding():
            pool = ThreadPoolExecutor(4)
            futures = [pool.submit(committer.commit, u) for u in (
                unit(E("a", 2)), unit(E("b", 2)), unit(E("a", 2)), unit(E("a", 3)))]
            while committer.stats.submitted < 4:
                threading.Event().wait(0.001)
        assert futures[0].result()
        assert futures[1].result()
        assert futures[3].result()
        assert isinstance(futures[2].exception(), IntegrityError)
        pool.shutdown()
    finally:
        committer.close()
    assert recorded == [[2, 2], [3]]


def test_merges_stay_atomic_under_group_commit(durable_url: str, gc_factory: Any) -> None:
    app = gc_factory(durable_url)
    target = open_case(app)
    duplicates = [open_case(app, title=f"dup {i}") for i in range(4)]
    results = at_once(8, lambda i: (
        app.merge_case(duplicates[i], target, People.grid, note="同一漏点") if i < 4
        else app.add_comment(target, People.grid, text=f"c{i}")))
    assert not [r for r in results if isinstance(r, Exception)]
    history = app.history(target)
    assert [e.version for e in history] == list(range(1, len(history) + 1))
    assert len(history) == 1 + 4 + 4
    for duplicate in duplicates:
        merged = app.history(duplicate)[-1]
        assert merged.type == "CaseMerged"
        joined = [e for e in history if e.type == "ReportMerged"
                  and e.data["source_case_id"] == str(duplicate)]
        assert len(joined) == 1
        # the two events of one merge are adjacent in the log: one unit, one insert
        assert merged.position is not None
        assert joined[0].position is not None
        assert abs(joined[0].position - merged.position) == 1
    assert app.verify(target).valid


def test_idle_single_caller_is_not_delayed(pg_url: str, gc_factory: Any) -> None:
    """Nobody else deciding: the caller records its unit itself, at once."""
    app = gc_factory(pg_url, extra_env={"GROUP_COMMIT_MAX_WAIT_MS": "500"})
    assert app.committer is not None
    case_id = open_case(app)
    inline = app.committer.stats.inline
    started = time.perf_counter()
    for k in range(5):
        app.add_comment(case_id, People.grid, text=str(k))
    assert time.perf_counter() - started < 2.0
    assert app.committer.stats.inline == inline + 5
    assert [e.version for e in app.history(case_id)] == list(range(1, 7))


def test_off_by_default(sqlite_url: str) -> None:
    app = open_cases(sqlite_url)
    try:
        assert app.committer is None
    finally:
        app.close()
