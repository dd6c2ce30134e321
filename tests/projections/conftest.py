"""Helpers for the projection tests: whole read-model tables, row for row."""

from __future__ import annotations

from typing import Any

from domain.application import Cases
from projections import store
from projections.cells import Cell


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
        "cells": cells(app, gen),
        "positions": sorted(store.positions(app.db, gen)[1].items()),
    }


def cells(app: Cases, generation: int) -> list[tuple[Any, ...]]:
    """A generation's figure cells, decoded: per cell its cases' rows and stays, by case id.

    The order of rows inside a cell depends on how the log was cut into batches, so each
    case's row and its stays are listed under its id, sorted.
    """
    rows = app.db.execute(
        f"SELECT {store.CELL_COLUMNS} FROM {store.cells_table(app.db, generation)}"
        " ORDER BY compound_id, community_id, month"
    )
    out = []
    for compound, community, month, ids, cases, stays, settled, exact in rows:
        cell = Cell.decoded((compound, community, month), ids, cases, stays, settled, exact)
        per_case = sorted(
            (case_id, [v.tolist() if hasattr(v, "tolist") else v for v in cell.cases[i].item()],
             sorted((int(s["step"]), int(s["duration"])) for s in cell.stays
                    if int(s["case"]) == i))
            for i, case_id in enumerate(cell.ids)
        )
        out.append((cell.key, per_case, cell.settled, cell.exact))
    return out


def case_events(app: Cases, up_to: int | None = None) -> int:
    """How many events of the log up to a position are case events (the audit trail's
    rows): the directory's unit events share the log but are not cases'."""
    return sum(1 for n in app.recorder.select_notifications(start=1, limit=10**9)
               if n.topic.startswith("yishi:Case.") and (up_to is None or n.id <= up_to))
