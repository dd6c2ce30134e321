"""Helpers for the projection tests: whole read-model tables, row for row."""

from __future__ import annotations

from typing import Any

from domain.application import Cases
from projections import store


def dump(app: Cases, generation: int | None = None) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of a generation's tables (the current one by default), in key order."""
    gen = store.current_generation(app.db) if generation is None else generation
    return {
        "cases": app.db.execute(
            f"SELECT * FROM {store.cases_table(app.db, gen)} ORDER BY case_id"
        ),
        "audit": app.db.execute(
            f"SELECT * FROM {store.audit_table(app.db, gen)} ORDER BY position"
        ),
        "positions": sorted(store.positions(app.db, gen)[1].items()),
    }
