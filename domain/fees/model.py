"""A fee period as an event stream (收费期): one compound, fee kind and period.

The aggregate's id is ``uuid5`` of ``compound/fee_kind/period``, so a period is one stream
by construction. Its events carry the envelope every stream shares (domain/stream.py:
actor, step before and after, data, previous hash, hash; chained as
docs/adr/0004-hash-chain.md says), so the verifier walks them and the verifiable log gives
each a leaf (docs/adr/0050). Mutators only fold the ledger: the rules are in
``domain/fees/rules.py``, the decisions in ``domain/fees/service.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.fee_topics import FEE_EVENT_NAMES
from domain.fees.rules import FeeLedger
from domain.model import Actor
from domain.stream import ChainedStream

#: The namespace of fee periods' aggregate ids.
NAMESPACE = uuid5(NAMESPACE_URL, "https://yishi.example/fees")
_CHINA = timezone(timedelta(hours=8), "CST")


def period_id(compound: str, fee_kind: str, period: str) -> UUID:
    """The aggregate id of one compound's fee period."""
    return uuid5(NAMESPACE, f"{compound}/{fee_kind}/{period}")


def china_day(at: datetime) -> str:
    """The day (YYYY-MM-DD, China time) of a moment: whose provider serves then."""
    return at.astimezone(_CHINA).date().isoformat()


class FeePeriod(ChainedStream):
    """One compound's fee period (收费期): billed, collected, refunded."""

    TOPIC = "yishi:FeePeriod"

    class Event(ChainedStream.Event):
        def evolve(self, period: FeePeriod) -> None:
            """Every event folds into the ledger (``FeeLedger.apply``, pure)."""
            period.ledger = period.ledger.apply(type(self).__name__, self.data)

    class Created(Event, Aggregate.Created):
        TOPIC = "yishi:FeePeriod.Created"

    class FeePeriodOpened(Created):
        """Households billed and amount billed (fen), the compound's community."""

        TOPIC = "yishi:FeePeriod.FeePeriodOpened"

        def evolve(self, period: FeePeriod) -> None:
            period.ledger = FeeLedger().apply("FeePeriodOpened", self.data)

    class FeesCollected(Event):
        """Households and fen collected on a day."""

        TOPIC = "yishi:FeePeriod.FeesCollected"

    class FeesRefunded(Event):
        """Households and fen refunded."""

        TOPIC = "yishi:FeePeriod.FeesRefunded"

    if TYPE_CHECKING:
        ledger: FeeLedger

    EVENT_NAMES: ClassVar[tuple[str, ...]] = FEE_EVENT_NAMES

    @classmethod
    def open(cls, data: dict[str, Any], actor: Actor, at: datetime) -> FeePeriod:
        """A new period whose first event is ``FeePeriodOpened`` (the rules decided)."""
        stream = period_id(data["compound_id"], data["fee_kind"], data["period"])
        period: FeePeriod = cls._first(cls.FeePeriodOpened, stream, data, actor, at)
        return period
