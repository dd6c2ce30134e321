"""The log's key and commands: keygen, a missing key with checkpoints (signing stops, no
new key), a refused inconsistent tree, export that never creates a store, the auditor's
exit statuses, events deleted behind a snapshot, and the follower in ``projections run``."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from domain.tlog.note import Signer, Verifier, open_checkpoint
from projections import tlog_store as ls
from projections.service import follow
from projections.tlog_service import LogStep
from projections.tlog_signer import (
    LogInconsistent,
    LogSigner,
    SigningStopped,
    checkpoint_count,
    latest_checkpoint,
    write_key,
)
from tests.conftest import People
from tests.district import DISTRICT_EVENTS
from tests.stories import advance, open_case
from tests.tlog.conftest import Logged
from tests.tlog.tampering import delete, sql

Cap = pytest.CaptureFixture[str]


def test_keygen_writes_a_0600_key_and_prints_its_verifier_key(tmp_path: Path, capsys: Cap
                                                               ) -> None:
    path = tmp_path / "k"
    assert main(["log", "keygen", "--origin", "yishi.example/jiedao-1", "--out", str(path)]) == 0
    vkey = Verifier.parse(capsys.readouterr().out)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert Signer.parse(path.read_text()).verifier == vkey
    assert main(["log", "keygen", "--origin", "x", "--out", str(path)]) == 2
    assert "a key is never overwritten" in capsys.readouterr().err
    assert main(["log", "keygen", "--origin", "has space", "--out", str(tmp_path / "j")]) == 2


def test_a_missing_key_with_checkpoints_stops_signing_and_makes_no_new_key(
    sqlite_url: str, app_factory: Callable[[str], Cases], clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch, capsys: Cap,
) -> None:
    monkeypatch.delenv("YISHI_LOG_KEY_FILE", raising=False)
    monkeypatch.delenv("YISHI_LOG_ORIGIN", raising=False)
    app = app_factory(sqlite_url)
    open_case(app)
    step = LogStep(app)
    step()
    key = Path(sqlite_url.removeprefix("sqlite:///") + ".log-key")
    assert key.exists()
    assert checkpoint_count(app.db) == 1
    key.unlink()
    open_case(app)
    fresh = LogStep(app)
    fresh()
    assert fresh.signing_error is not None
    assert "is missing and 1 checkpoint(s) exist: signing stopped" in fresh.signing_error
    assert not key.exists()
    assert checkpoint_count(app.db) == 1
    assert main(["--database-url", sqlite_url, "log", "checkpoint"]) == 2
    assert "signing stopped" in capsys.readouterr().err
    assert not key.exists()


def test_postgres_needs_the_key_settings(pg_url: str, app_factory: Callable[[str], Cases],
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("YISHI_LOG_KEY_FILE", raising=False)
    app = app_factory(pg_url)
    open_case(app)
    ls.LogFollower(app).catch_up()
    with pytest.raises(SigningStopped, match="required on PostgreSQL"):
        LogSigner(app).sign()


def test_the_signer_refuses_a_tree_that_does_not_extend_the_last(logged: Logged,
                                                                 app_factory: Callable[[str], Cases]
                                                                 ) -> None:
    app = app_factory(logged.url)
    sql(logged.url, "UPDATE {log_tiles} SET data = %s WHERE level = 0 AND idx = 0",
        (b"\x00" * 32 * logged.size,))
    open_case(app)
    ls.LogFollower(app).catch_up()
    with pytest.raises(LogInconsistent,
                       match=f"no longer has the root signed at size {logged.size}"):
        LogSigner(app).sign()
    assert latest_checkpoint(app.db)[0] == logged.size  # type: ignore[index]


def test_export_never_creates_a_store(tmp_path: Path, capsys: Cap) -> None:
    url = f"sqlite:///{tmp_path / 'none.db'}"
    assert main(["--database-url", url, "export", "--all", "--out", str(tmp_path / "b")]) == 2
    assert "no store at" in capsys.readouterr().err
    assert not (tmp_path / "none.db").exists()


def test_the_auditors_exit_statuses(logged: Logged, capsys: Cap) -> None:
    assert main(["audit", "verify", str(logged.tmp / "nothing"), "--key", logged.vkey]) == 2
    junk = logged.tmp / "junk.json"
    junk.write_text("[1, 2")
    assert main(["audit", "verify", str(junk), "--key", logged.vkey]) == 2
    assert main(["audit", "verify", str(junk), "--key", "not-a-key"]) == 2
    other = Signer.generate("yishi.test/jiedao-1").verifier.text()
    bundle = logged.tmp / "case.json"
    assert main(["--database-url", logged.url, "export", "--case", str(logged.victim),
                 "--out", str(bundle)]) == 0
    assert main(["audit", "verify", str(bundle), "--key", other]) == 1
    assert "not signed by" in capsys.readouterr().out


def test_events_deleted_behind_a_snapshot(durable_url: str, app_factory: Callable[[str], Cases],
                                          clock: ManualClock, log_key: Signer, capsys: Cap,
                                          tmp_path: Path) -> None:
    app = app_factory(durable_url)
    case = open_case(app)
    advance(app, clock, case, Step.TOPIC)
    while app.get_case(case).version < 105:  # a snapshot at version 100
        app.add_comment(case, People.resident, text="还在漏")
    step = LogStep(app)
    while step():
        pass
    step.signer.sign()
    assert latest_checkpoint(app.db)[0] == DISTRICT_EVENTS + 105  # type: ignore[index]
    delete(durable_url, case, *range(2, 60))
    assert app.get_case(case, reader=People.community).version == 105  # reads still work
    status = main(["--database-url", durable_url, "verify"])
    out = capsys.readouterr().out
    assert status == 1
    assert f"BROKEN log: case {case} version 2 (leaf {DISTRICT_EVENTS + 1}" in out
    bundle = tmp_path / "log.jsonl"
    assert main(["--database-url", durable_url, "export", "--all", "--out", str(bundle)]) == 0
    capsys.readouterr()
    assert main(["audit", "verify", str(bundle), "--key", log_key.verifier.text()]) == 1
    assert (f"FAILED: case {case} version 2 (leaf {DISTRICT_EVENTS + 1}, position"
            f" {DISTRICT_EVENTS + 2}): the event is missing") in capsys.readouterr().out


def test_projections_run_follows_the_log_on_postgres(
    pg_url: str, app_factory: Callable[[str], Cases], clock: ManualClock, log_key: Signer
) -> None:
    app = app_factory(pg_url)
    advance(app, clock, open_case(app), Step.CLOSED)
    follow(app, exit_at_head=True, interval=0.05)
    assert ls.read_state(app.db).size == DISTRICT_EVENTS + 16
    note = latest_checkpoint(app.db)
    assert note is not None
    assert open_checkpoint(note[2], log_key.verifier).size == DISTRICT_EVENTS + 16


def test_a_rotation_signs_with_both_keys_and_each_verifier_accepts(
    sqlite_url: str, app_factory: Callable[[str], Cases], log_key: Signer, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(sqlite_url)
    open_case(app)
    step = LogStep(app)
    step()
    new = Signer.generate(log_key.name)
    write_key(tmp_path / "new.key", new)
    monkeypatch.setenv("YISHI_LOG_KEY_FILE",
                       f"{tmp_path / 'new.key'}{os.pathsep}{tmp_path / 'log.key'}")
    open_case(app)
    ls.LogFollower(app).catch_up()
    made = LogSigner(app).sign()
    assert made is not None
    assert made.note.count("\n\u2014 ") == 2
    assert open_checkpoint(made.note, new.verifier).size == DISTRICT_EVENTS + 2
    assert open_checkpoint(made.note, log_key.verifier).size == DISTRICT_EVENTS + 2
    monkeypatch.setenv("YISHI_LOG_KEY_FILE", str(tmp_path / "new.key"))
    open_case(app)
    ls.LogFollower(app).catch_up()
    assert LogSigner(app).sign() is not None  # the new key alone, once it has signed
    stranger = Signer.generate(log_key.name)
    write_key(tmp_path / "stranger.key", stranger)
    monkeypatch.setenv("YISHI_LOG_KEY_FILE", str(tmp_path / "stranger.key"))
    with pytest.raises(SigningStopped, match="did not sign the log's latest checkpoint"):
        LogSigner(app).sign()
