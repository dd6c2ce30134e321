"""Orders and what became of them, folded from the case events (派单台账): pure.

Each ``ImplementationAssigned`` opens an *order*; the order stays the case's current one
until the next ``ImplementationAssigned`` supersedes it, and the case events recorded while
it is current are its outcomes: acceptance (领单), completion, supervisions (督单), closings,
reopenings and residents' ratings (评单). metrics.md ("Providers") counts these by the
month of dispatch. ``OrderBook.apply`` folds one case event; it keeps the changed orders
and cases so a projection can write just those (projections/providers.py). Times are
integer microseconds since the epoch (UTC).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

from domain.catalogue import parse_datetime
from domain.providers.attribution import CHINA


def micros(moment: datetime) -> int:
    """A moment as integer microseconds since the epoch."""
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


@dataclass
class Order:
    """One order (派单). ``provider`` is the stored ``provider_code`` when ``stamped`` (the
    event carries the field, set by the server); an order recorded before the field existed
    is not stamped and is attributed when read (domain/providers/attribution.py).
    ``supervisions`` are (time, passed); ``ratings`` (time, resident, satisfaction)."""

    order_id: str
    case_id: str
    compound: str
    community: str
    assignee_role: str
    provider: str | None
    stamped: bool
    dispatched_at: int
    due_at: int
    accepted_at: int | None = None
    completed_at: int | None = None
    superseded_at: int | None = None
    supervisions: list[tuple[int, bool]] = field(default_factory=list)
    closings: list[int] = field(default_factory=list)
    reopenings: list[int] = field(default_factory=list)
    ratings: list[tuple[int, str, str]] = field(default_factory=list)

    def to_state(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_state(cls, state: Mapping[str, Any]) -> Order:
        values = dict(state)
        values["supervisions"] = [(t, p) for t, p in values["supervisions"]]
        values["ratings"] = [(t, r, s) for t, r, s in values["ratings"]]
        return cls(**values)


@dataclass
class CaseLink:
    """What the fold keeps of a case: where it was filed and its current order."""

    case_id: str
    compound: str
    community: str
    current: str | None = None


class OrderBook:
    """Orders by id and cases by id, folded event by event (a plain fold: no I/O)."""

    def __init__(self, cases: Mapping[str, CaseLink] | None = None,
                 orders: Mapping[str, Order] | None = None) -> None:
        self.cases: dict[str, CaseLink] = dict(cases or {})
        self.orders: dict[str, Order] = dict(orders or {})
        self.changed_cases: set[str] = set()
        self.changed_orders: set[str] = set()

    def apply(self, event_type: str, case_id: str, version: int, at: datetime,
              data: Mapping[str, Any]) -> None:
        """Fold one case event (type, case, version, recorded time, data)."""
        t = micros(at)
        if event_type == "ProblemReported":
            self.cases[case_id] = CaseLink(case_id, data["compound_id"], data["community_id"])
            self.changed_cases.add(case_id)
            return
        link = self.cases.get(case_id)
        if link is None:
            return
        if event_type == "ImplementationAssigned":
            if link.current is not None:
                self._order(link.current).superseded_at = t
            order_id = f"{case_id}:{version}"
            self.orders[order_id] = Order(
                order_id=order_id, case_id=case_id, compound=link.compound,
                community=link.community, assignee_role=data["assignee_role"],
                provider=data.get("provider_code"), stamped="provider_code" in data,
                dispatched_at=t, due_at=micros(parse_datetime(data["due_at"])),
            )
            self.changed_orders.add(order_id)
            link.current = order_id
            self.changed_cases.add(case_id)
            return
        if link.current is None or event_type not in _OUTCOMES:
            return
        order = self._order(link.current)
        if event_type == "ImplementationAccepted" and order.accepted_at is None:
            order.accepted_at = t
        elif event_type == "ImplementationCompleted" and order.completed_at is None:
            order.completed_at = t
        elif event_type == "SupervisionRecorded":
            order.supervisions.append((t, data["verdict"] == "passed"))
        elif event_type == "CaseClosed":
            order.closings.append(t)
        elif event_type == "CaseReopened":
            order.reopenings.append(t)
        elif event_type == "ResidentRated":
            order.ratings.append((t, str(data.get("resident_id", "")), data["satisfaction"]))

    def _order(self, order_id: str) -> Order:
        self.changed_orders.add(order_id)
        return self.orders[order_id]


#: The case events that are an order's outcomes.
_OUTCOMES = frozenset({"ImplementationAccepted", "ImplementationCompleted",
                       "SupervisionRecorded", "CaseClosed", "CaseReopened", "ResidentRated"})
#: Every case event the fold reads (the others pass it by).
FOLDED = frozenset({"ProblemReported", "ImplementationAssigned", *_OUTCOMES})


def month_of(moment_micros: int) -> str:
    """The month (YYYY-MM, China time) of a moment in microseconds."""
    return datetime.fromtimestamp(moment_micros / 1_000_000, CHINA).strftime("%Y-%m")
