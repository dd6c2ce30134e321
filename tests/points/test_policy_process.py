"""The policy in ``yishi projections run``, killed with SIGKILL mid-batch: the awards it
had committed stay, the restarted process awards the rest, and nothing twice."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import points_policy
from tests.points.stories import Story, awards, cast, play

ROOT = Path(__file__).resolve().parents[2]


def _yishi(url: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", "import sys; from api.cli import main; sys.exit(main())",
         "--database-url", url, *args],
        cwd=ROOT, env={**os.environ, **(env or {})}, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_policy_killed_mid_batch_awards_each_thing_exactly_once(
    kind: str, app_factory: Callable[[str], Cases], clock: ManualClock,
    request: pytest.FixtureRequest,
) -> None:
    url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
    app = app_factory(url)
    who = cast(app, "kill", people=3, linked=3)
    expected = []
    for n in range(24):
        expected += play(app, clock, who, Story(n % 3, "snapshot" if n % 2 else "wechat",
                                                "meeting" if n % 4 == 0 else "topic",
                                                (0, 1, 2)))
    head = app.head_position()
    slow = _yishi(url, "projections", "run", "--interval", "0.05",
                  env={points_policy.SLOWDOWN_ENV: "0.05"})
    try:
        deadline = time.monotonic() + 60
        while len(awards(app, who)) < 6:
            assert time.monotonic() < deadline, "the policy did not start awarding"
            assert slow.poll() is None, slow.communicate()
            time.sleep(0.02)
    finally:
        os.kill(slow.pid, signal.SIGKILL)
        slow.communicate(timeout=10)
    assert slow.returncode == -signal.SIGKILL
    done = len(awards(app, who))
    assert 6 <= done < len(expected)
    # Killed inside its batch: the awards committed, the position had not moved past them.
    assert points_policy.read_position(app) < head

    again = _yishi(url, "projections", "run", "--exit-at-head")
    _out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    assert sorted(awards(app, who)) == sorted(expected)
    assert points_policy.read_position(app) >= head
