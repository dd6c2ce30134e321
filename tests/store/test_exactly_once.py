"""Exactly once, deterministically (docs/adr/0040-exactly-once.md): faults injected at the
recorder, on SQLite and the real PostgreSQL. Whatever fails (before the COMMIT, after it,
several times in a row), a command is recorded once, its row commits with its events, and a
command whose outcome cannot be learned in time raises rather than guessing."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import IntegrityError, OperationalError

from domain.application import Cases
from domain.commands import Command, KeyTaken, OutcomeUnknown, StoreUnavailable
from tests.conftest import People, report_data

Insert = Callable[..., Any]


@pytest.fixture
def app(app_factory: Callable[[str], Cases], durable_url: str) -> Iterator[Cases]:
    app = app_factory(durable_url)
    app.outcome_seconds = 1.0
    return app


def faulty(app: Cases, monkeypatch: pytest.MonkeyPatch,
           fault: Callable[[Insert, tuple[Any, ...], dict[str, Any]], Any]) -> list[Any]:
    """Route the recorder's inserts through ``fault``; returns the calls made, each as the
    (stream, version) of its events and the ids of its commands."""
    original: Insert = app.recorder.insert_events
    calls: list[Any] = []

    def insert(*args: Any, **kwargs: Any) -> Any:
        stored, commands = args[0], kwargs.get("commands", ())
        calls.append(([(e.originator_id, e.originator_version) for e in stored],
                      [c.id for c in commands]))
        return fault(original, args, kwargs)

    monkeypatch.setattr(app.recorder, "insert_events", insert)
    return calls


def comments(app: Cases, case_id: UUID, text: str) -> int:
    return sum(1 for e in app.history(case_id) if e.data.get("text") == text)


def test_a_commit_whose_answer_is_lost_is_recorded_once(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id
    lost = [True]

    def commit_then_lose_the_answer(insert: Insert, args: tuple[Any, ...],
                                    kwargs: dict[str, Any]) -> Any:
        result = insert(*args, **kwargs)
        if lost and lost.pop():
            raise OperationalError("server closed the connection unexpectedly")
        return result

    calls = faulty(app, monkeypatch, commit_then_lose_the_answer)
    command = Command()
    recorded = app.record(case_id, "CommentAdded", {"text": "once"}, People.community,
                          command=command)
    # The same insert again (same events, same command), never a newly decided one.
    assert len(calls) >= 2
    assert all(call == calls[0] for call in calls), calls
    assert calls[0] == ([(case_id, 2)], [command.id])
    assert recorded.event.version == 2
    assert recorded.event.position is not None
    assert comments(app, case_id, "once") == 1
    assert app.get_case(case_id).version == 2
    row = app.commands.find(command.id)
    assert row is not None
    assert (row.stream_id, row.version) == (case_id, 2)


def test_a_new_case_whose_answer_is_lost_is_one_case(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    lost = [True]

    def commit_then_lose(insert: Insert, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        result = insert(*args, **kwargs)
        if lost and lost.pop():
            raise OperationalError("connection reset")
        return result

    faulty(app, monkeypatch, commit_then_lose)
    recorded = app.report_problem(People.resident, report_data(title="只一个"))
    assert recorded.case.version == 1
    assert sum(1 for _ in app.case_ids()) == 1


def test_failures_before_the_commit_are_retried_until_it_is_recorded(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id
    failures = [1, 2, 3]

    def fail_first(insert: Insert, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        if failures:
            failures.pop()
            raise OperationalError("could not connect")
        return insert(*args, **kwargs)

    calls = faulty(app, monkeypatch, fail_first)
    app.record(case_id, "CommentAdded", {"text": "retried"}, People.community)
    assert len(calls) >= 4
    assert all(call == calls[0] for call in calls), calls
    assert comments(app, case_id, "retried") == 1


def test_an_outcome_that_cannot_be_learned_in_time_is_unknown_and_nothing_is_guessed(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id

    def never(insert: Insert, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise OperationalError("server closed the connection unexpectedly")

    faulty(app, monkeypatch, never)
    with pytest.raises(OutcomeUnknown):
        app.record(case_id, "CommentAdded", {"text": "lost"}, People.community)
    monkeypatch.undo()
    assert comments(app, case_id, "lost") == 0


def test_a_store_that_stays_busy_is_known_to_have_recorded_nothing(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id

    def locked(insert: Insert, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        raise OperationalError("database is locked")

    faulty(app, monkeypatch, locked)
    with pytest.raises(StoreUnavailable):
        app.record(case_id, "CommentAdded", {"text": "busy"}, People.community)


def test_two_commands_with_one_key_record_once_and_the_other_learns_the_winner(
    app: Cases,
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id
    results: list[Any] = []
    barrier = threading.Barrier(4)

    def send(n: int) -> None:
        barrier.wait()
        try:
            results.append(app.record(
                case_id, "CommentAdded", {"text": "keyed"}, People.community,
                command=Command(credential_id="cr_1", key="k-1", fingerprint="f")))
        except KeyTaken as taken:
            results.append(taken.row)

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert comments(app, case_id, "keyed") == 1
    winners = [r for r in results if not hasattr(r, "command_id")]
    assert len(winners) + len(results) - len(winners) == 4
    assert len(winners) >= 1
    row = app.commands.find_key("cr_1", "k-1")
    assert row is not None
    assert row.version == 2
    # Every winner saw the same recording: only one command took the key.
    assert {w.event.version for w in winners} == {2}


def test_a_genuine_conflict_is_re_decided_with_the_same_command(
    app: Cases, monkeypatch: pytest.MonkeyPatch
) -> None:
    case_id = app.report_problem(People.resident, report_data()).case.id
    raced = [True]

    def another_writer_first(insert: Insert, args: tuple[Any, ...],
                             kwargs: dict[str, Any]) -> Any:
        if raced and raced.pop():
            monkeypatch.undo()
            app.record(case_id, "CommentAdded", {"text": "other"}, People.grid)
            faulty(app, monkeypatch, another_writer_first)
        return insert(*args, **kwargs)

    faulty(app, monkeypatch, another_writer_first)
    command = Command()
    recorded = app.record(case_id, "CommentAdded", {"text": "mine"}, People.community,
                          command=command)
    assert recorded.event.version == 3
    assert comments(app, case_id, "mine") == 1
    assert comments(app, case_id, "other") == 1
    found = app.commands.find(command.id)
    assert found is not None
    assert found.version == 3
    with pytest.raises(IntegrityError):  # the ledger itself refuses a second row per id
        app.commands.record_memory([command])
