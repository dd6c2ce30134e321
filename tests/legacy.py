"""Events as earlier versions of yishi stored them, written without today's checks.

Reads must keep their promises over what is already in a store: a title with a line break
(accepted before titles were one line) or a merge recorded before ``ReportMerged`` carried
its count. These helpers write such events through the aggregate's own event classes, so
the chain is valid, but without the catalogue's validation of today.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.case import Case
from domain.model import Actor, Step
from domain.rules import OPENING_EVENT


def report_unchecked(app: Cases, case_id: UUID, data: Mapping[str, Any], actor: Actor) -> None:
    """Store a ProblemReported with ``data`` as given (no validation), at the clock's now."""
    at = app.clock.now()
    clean = {k: v for k, v in data.items() if k != "reporter"}  # no contact: nothing sealed
    content = Case._content(case_id, 1, OPENING_EVENT, clean, actor, at, None, Step.COLLECT)
    case = Case._create(Case.ProblemReported, id=case_id, timestamp=at, **content)
    app.save(case)


def merge_as_before(app: Cases, duplicate_id: UUID, target_id: UUID, actor: Actor) -> None:
    """Merge as yishi did before ReportMerged carried ``reports``: the target's event names
    the duplicate only, and the aggregate counted it as one report."""
    duplicate = app.get_case(duplicate_id)
    target = app.get_case(target_id)
    at = app.clock.now()
    duplicate.record("CaseMerged", {"into_case_id": str(target_id)}, actor, at)
    target.record("ReportMerged", {"source_case_id": str(duplicate_id)}, actor, at)
    app.save(duplicate, target)
