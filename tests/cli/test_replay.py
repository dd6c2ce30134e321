"""``yishi replay``: a case's history as an auditor reads it, and one-line errors."""

from __future__ import annotations

import time
from collections.abc import Callable
from uuid import UUID, uuid4

import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import People
from tests.stories import advance, open_case

AppFactory = Callable[[str], Cases]


@pytest.fixture
def closed_case(sqlite_url: str, app_factory: AppFactory, clock: ManualClock) -> UUID:
    app = app_factory(sqlite_url)
    case_id = open_case(app)
    advance(app, clock, case_id, Step.CLOSED)
    app.close()
    return case_id


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    status = main(list(argv))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def test_replay_prints_every_event_and_the_state_after_the_last(
    sqlite_url: str, app_factory: AppFactory, closed_case: UUID,
    capsys: pytest.CaptureFixture[str],
) -> None:
    history = app_factory(sqlite_url).history(closed_case)
    status, out, err = run(capsys, "--database-url", sqlite_url, "replay", str(closed_case))
    assert status == 0
    assert err == ""
    lines = out.splitlines()
    assert lines[0] == f"case {closed_case}"
    event_lines = [line for line in lines if line.startswith("v")]
    assert len(event_lines) == len(history) == 16
    for line, event in zip(event_lines, history, strict=True):
        assert line.startswith(f"v{event.version} ")
        assert event.recorded_at.isoformat(timespec="seconds") in line
        assert f"{event.actor_role}:{event.actor_id}" in line
        assert f"{event.step_before or '-'} -> {event.step_after}" in line
        assert f"{event.type}: " in line
        assert f"hash {event.hash[:16]}" in line
    assert "v1    2026-03-02T09:00:00+00:00  resident:resident-1  - -> collect  ProblemReported: " \
        "reported [facilities, wechat] in JX: 地下车库漏水" in out
    assert "supervise -> closed  CaseClosed: case closed: resolved" in out
    assert "state after version 16:" in out
    assert "  step: closed" in out
    assert "  resolution: resolved" in out
    assert "  reporter: sealed (personal data)" in out
    assert f"  head hash: {history[-1].hash}" in out
    assert "张三" not in out
    assert "13800000000" not in out


def test_replay_up_to_a_version_stops_there(
    sqlite_url: str, closed_case: UUID, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = run(capsys, "--database-url", sqlite_url, "replay", str(closed_case),
                         "--version", "5")
    assert status == 0
    event_lines = [line for line in out.splitlines() if line.startswith("v")]
    assert [line.split()[0] for line in event_lines] == ["v1", "v2", "v3", "v4", "v5"]
    assert "StakeholderConsulted" in event_lines[-1]
    assert "state after version 5:" in out
    assert "  step: pre-consult" in out
    assert "  resolution: -" in out


def one_line_error(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("yishi: ")
    return lines[0]


def test_replay_of_an_unknown_case_is_a_one_line_error(
    sqlite_url: str, closed_case: UUID, capsys: pytest.CaptureFixture[str]
) -> None:
    unknown = uuid4()
    status, out, err = run(capsys, "--database-url", sqlite_url, "replay", str(unknown))
    assert status == 2
    assert out == ""
    assert one_line_error(err) == f"yishi: case {unknown} not found"
    status, _, err = run(capsys, "--database-url", sqlite_url, "verify", str(unknown))
    assert status == 2
    assert one_line_error(err) == f"yishi: case {unknown} not found"


@pytest.mark.parametrize("command", ["replay", "verify"])
def test_a_malformed_case_id_is_refused_with_exit_status_2(
    sqlite_url: str, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--database-url", sqlite_url, command, "not-a-uuid"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'not-a-uuid' is not a case id (a UUID)" in one_line_error(err)


def test_a_version_below_one_is_a_one_line_error(
    sqlite_url: str, closed_case: UUID, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = run(capsys, "--database-url", sqlite_url, "replay", str(closed_case),
                           "--version", "0")
    assert status == 2
    assert out == ""
    assert one_line_error(err) == "yishi: --version must be 1 or more"


def test_replay_after_erasure_says_the_contact_is_erased(
    sqlite_url: str, app_factory: AppFactory, closed_case: UUID,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(sqlite_url)
    reporter = app.get_case(closed_case).reporter
    assert reporter is not None
    app.erase_subject(reporter["subject_id"], People.admin)
    status, out, _ = run(capsys, "--database-url", sqlite_url, "replay", str(closed_case))
    assert status == 0
    assert "  reporter: erased (personal data shredded)" in out


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://x", "yishi: unsupported database URL"),
        ("postgresql://postgres@127.0.0.1:5432/test?schema=Bad-Name", "yishi: schema"),
        ("sqlite://", "yishi: database URL 'sqlite://' names no file"),
    ],
)
@pytest.mark.parametrize("command", ["replay", "verify"])
def test_a_bad_database_url_is_a_one_line_error(
    capsys: pytest.CaptureFixture[str], url: str, message: str, command: str
) -> None:
    argv = ["--database-url", url, command]
    if command == "replay":
        argv.append(str(uuid4()))
    started = time.monotonic()
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert one_line_error(err).startswith(message)
    assert time.monotonic() - started < 10


@pytest.mark.parametrize(
    ("command", "url", "shown"),
    [
        ("verify", "postgresql://postgres@127.0.0.1:1/test",
         "postgresql://postgres@127.0.0.1:1/test"),
        ("replay", "postgresql://postgres:s3cret@127.0.0.1:1/test",
         "postgresql://postgres:***@127.0.0.1:1/test"),
    ],
)
def test_an_unreachable_postgres_is_a_one_line_error_without_the_password(
    capsys: pytest.CaptureFixture[str], command: str, url: str, shown: str
) -> None:
    argv = ["--database-url", url, command] + ([str(uuid4())] if command == "replay" else [])
    started = time.monotonic()
    status, out, err = run(capsys, *argv)
    assert status == 2
    assert out == ""
    assert one_line_error(err).startswith(f"yishi: cannot reach PostgreSQL at {shown}: ")
    assert "s3cret" not in err
    assert time.monotonic() - started < 10


def test_the_store_can_come_from_the_environment(
    sqlite_url: str, closed_case: UUID, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("YISHI_DATABASE_URL", sqlite_url)
    status, out, _ = run(capsys, "verify", str(closed_case))
    assert status == 0
    assert f"ok case {closed_case}: 16 events" in out


def test_replay_works_on_postgres_too(
    pg_url: str, app_factory: AppFactory, clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(pg_url)
    case_id = open_case(app)
    advance(app, clock, case_id, Step.PUBLISH)
    status, out, _ = run(capsys, "--database-url", pg_url, "replay", str(case_id))
    assert status == 0
    assert "state after version 7:" in out
    assert "  step: publish" in out
    assert ("negotiate -> publish  MeetingHeld: meeting held: agreed"
            " (18 for, 3 against, 2 abstaining)") in out
