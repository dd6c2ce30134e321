"""``yishi projections run|rebuild|status`` on the command line."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from projections import store
from tests.projections.conftest import dump
from tests.projections.histories import play, random_history


def test_run_rebuild_and_status_from_the_command_line(
    app_factory: Callable[[str], Cases], sqlite_url: str, clock: ManualClock,
    capsys: pytest.CaptureFixture[str],
) -> None:
    app = app_factory(sqlite_url)
    play(app, clock, random_history(seed=31, length=80))
    head = app.head_position()

    assert main(["--database-url", sqlite_url, "projections", "status"]) == 0
    out = capsys.readouterr().out
    assert f"log head {head}" in out
    assert f"lag {head:>8}" in out
    points = [line for line in out.splitlines() if line.startswith("points ")]
    assert len(points) == 1, out
    assert points[0].split()[2] == "0", out  # never ran: all to do
    assert points[0].split()[-1] == str(head), out

    assert main(["--database-url", sqlite_url, "projections", "run", "--batch-size", "9",
                 "--exit-at-head"]) == 0
    followed = dump(app)
    assert main(["--database-url", sqlite_url, "projections", "status"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert sorted(line.split()[0] for line in lines[1:]) == sorted(
        [*store.PROJECTIONS, "providers", "log", "points"])
    assert all(line.split()[-1] == "0" for line in lines[1:]), lines  # the policy too

    assert main(["--database-url", sqlite_url, "projections", "rebuild"]) == 0
    assert f"rebuilt generation 2: {head} events" in capsys.readouterr().out
    assert store.current_generation(app.db) == 2
    assert dump(app) == followed


def test_a_bad_batch_size_is_one_line(sqlite_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--database-url", sqlite_url, "projections", "run", "--batch-size", "0"]) == 2
    assert capsys.readouterr().err.strip() == "yishi: --batch-size must be 1 or more"
