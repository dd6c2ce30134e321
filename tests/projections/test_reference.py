"""The projections equal a plain fold of the raw events, for random histories of many cases.

Hypothesis plays random histories (every loop, reopenings, merges, withdrawals, ratings,
random times) through the real application on SQLite and on PostgreSQL, projects them in
small batches, half-way and at the end, and compares every figure with the reference.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import given

from domain.application import open_cases
from domain.clock import ManualClock
from domain.directory.csvfile import parse
from projections.service import ProjectionService
from tests.conftest import POSTGRES_BASE, START
from tests.district import OPERATOR, register_district
from tests.projections.checks import assert_equal_to_reference
from tests.projections.histories import GRID_UNITS, examples, moves, play


def _check(url: str, history: list[tuple[int, int, int]]) -> None:
    clock = ManualClock(START)
    app = register_district(open_cases(url, clock=clock))
    app.directory.apply_rows(parse(GRID_UNITS), OPERATOR)  # a second grid (HY-G1)
    try:
        service = ProjectionService(app, batch_size=7)
        half = len(history) // 2
        play(app, clock, history[:half])
        service.catch_up()
        play(app, clock, history[half:])
        service.catch_up()
        assert_equal_to_reference(app)
    finally:
        app.close()


@examples(25)
@given(history=moves)
def test_projections_on_sqlite_equal_the_reference(history: list[tuple[int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as folder:
        _check(f"sqlite:///{Path(folder) / 'yishi.db'}", history)


@pytest.mark.postgres
@examples(8)
@given(history=moves)
def test_projections_on_postgres_equal_the_reference(
    pg_schema_factory: Callable[[], str], history: list[tuple[int, int, int]]
) -> None:
    _check(f"{POSTGRES_BASE}?schema={pg_schema_factory()}", history)
