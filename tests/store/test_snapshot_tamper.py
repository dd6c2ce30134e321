"""Snapshots shortcut reads of long cases; verification checks them against the events."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import People
from tests.stories import advance, open_case


def test_an_altered_snapshot_is_reported_at_its_version(
    tmp_path: Path, app_factory: Callable[[str], Cases], clock: ManualClock
) -> None:
    path = tmp_path / "long.db"
    app = app_factory(f"sqlite:///{path}")
    case_id = open_case(app)
    advance(app, clock, case_id, Step.IMPLEMENT)
    for n in range(110):
        app.add_comment(case_id, People.grid, text=f"note {n}")
    assert app.verify(case_id).valid

    with sqlite3.connect(path) as conn:
        version, state = conn.execute(
            "SELECT originator_version, state FROM stored_snapshots"
        ).fetchone()
        altered = bytes(state).replace(b'"support_count":1', b'"support_count":9')
        assert altered != bytes(state)
        conn.execute(
            "UPDATE stored_snapshots SET state = ? WHERE originator_version = ?", (altered, version)
        )

    reopened = app_factory(f"sqlite:///{path}")
    assert reopened.get_case(case_id).support_count == 9  # the snapshot is what reads use
    report = reopened.verify(case_id)
    assert not report.valid
    assert report.broken_at == version == 100
    assert report.reason == "the snapshot at this version differs from the events"
