"""Time limits of the steps, and when a case is overdue (时限).

Each open step has a limit counted from when the case entered it. Two steps take their
deadline from the case instead: publish from the end of the publicity period once the
decision is published, implement from the assignment's due date once assigned. A case
also has an overall deadline for on-time closure, counted from its report.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.catalogue import parse_datetime
from domain.model import Step

if TYPE_CHECKING:
    from domain.case import Case

DEFAULT_STEP_LIMITS: dict[Step, timedelta] = {
    Step.COLLECT: timedelta(days=2),
    Step.TOPIC: timedelta(days=3),
    Step.REVIEW: timedelta(days=3),
    Step.PRE_CONSULT: timedelta(days=7),
    Step.NEGOTIATE: timedelta(days=7),
    Step.PUBLISH: timedelta(days=7),
    Step.IMPLEMENT: timedelta(days=30),
    Step.SUPERVISE: timedelta(days=7),
}


@dataclass(frozen=True)
class TimeLimits:
    steps: dict[Step, timedelta] = field(default_factory=lambda: dict(DEFAULT_STEP_LIMITS))
    overall: timedelta = timedelta(days=60)
    response: timedelta = timedelta(hours=24)

    def step_deadline(self, case: Case) -> datetime | None:
        """When the case's current step is due; None for a closed case."""
        step = case.step
        if not step.is_open:
            return None
        if step is Step.PUBLISH and case.publicity_ends_at is not None:
            return case.publicity_ends_at
        if step is Step.IMPLEMENT and case.assignment is not None:
            return parse_datetime(case.assignment["due_at"])
        return case.step_entered_at + self.steps[step]

    def is_overdue(self, case: Case, now: datetime) -> bool:
        deadline = self.step_deadline(case)
        return deadline is not None and now > deadline

    def overall_deadline(self, case: Case) -> datetime:
        return case.reported_at + self.overall
