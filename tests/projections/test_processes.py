"""``yishi projections run`` as its own process on PostgreSQL: crashes and a lost database."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import store
from projections.service import rebuild
from tests.conftest import POSTGRES_BASE
from tests.projections.conftest import case_events, dump
from tests.projections.histories import play, random_history

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.postgres


def _yishi(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
         "--database-url", url, *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


def _position(app: Cases) -> int:
    return min(store.positions(app.db)[1].values(), default=0)


def _wait_until(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_projector_killed_mid_batch_resumes_and_ends_as_an_uninterrupted_run(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    play(app, clock, random_history(seed=11, length=400))
    head = app.head_position()
    store.ensure_base(app.db)
    slow = _yishi(pg_url, "projections", "run", "--batch-size", "10", "--interval", "0.05",
                  env={"YISHI_PROJECTION_SLOWDOWN": "0.05"})
    try:
        _wait_until(lambda: _position(app) >= head // 3)
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.communicate(timeout=10)
    assert slow.returncode == -signal.SIGKILL
    killed_at = _position(app)
    assert 0 < killed_at < head
    # Only whole batches were committed: the audit rows stop exactly at the position.
    rows = dump(app)["audit"]
    assert len(rows) == case_events(app, killed_at)
    assert rows[-1][0] == killed_at

    again = _yishi(pg_url, "projections", "run", "--batch-size", "10", "--exit-at-head")
    _out, err = again.communicate(timeout=60)
    assert again.returncode == 0, err
    resumed = dump(app)
    assert _position(app) == head

    rebuild(app)  # an uninterrupted run from the first event
    assert dump(app) == resumed


def test_the_projector_exits_with_one_line_when_the_database_goes_away(
    app_factory: Callable[[str], Cases], pg_url: str, clock: ManualClock
) -> None:
    app = app_factory(pg_url)
    play(app, clock, random_history(seed=12, length=30))
    store.ensure_base(app.db)
    name = f"yishi-test-{uuid.uuid4().hex[:8]}"
    runner = _yishi(pg_url, "projections", "run", "--interval", "0.1",
                    env={"PGAPPNAME": name})
    try:
        _wait_until(lambda: _position(app) == app.head_position())
        time.sleep(0.3)
        with psycopg.connect(POSTGRES_BASE, autocommit=True) as conn:
            conn.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE application_name = %s", (name,)
            )
        _out, err = runner.communicate(timeout=20)
    finally:
        if runner.poll() is None:
            runner.kill()
            runner.communicate(timeout=10)
    assert runner.returncode != 0
    # Without a log key on PostgreSQL the log's follower says once that it cannot sign.
    lines = [line for line in err.strip().splitlines()
             if not line.startswith("log checkpoints: the log is not signed")]
    assert len(lines) == 1, err
    assert lines[0].startswith("yishi: lost the database: ")
