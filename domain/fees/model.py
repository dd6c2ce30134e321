"""A fee period as an event stream (收费期): one compound, fee kind and period.

The aggregate's id is ``uuid5`` of ``compound/fee_kind/period``, so a period is one stream
by construction. Its events carry the same envelope as a case's and a unit's (actor, step
before and after, data, previous hash, hash) and are hash-chained with the same encoding
(docs/adr/0004-hash-chain.md), so the verifier walks them and the verifiable log gives
each a leaf (docs/adr/0050). The step fields hold ``"open"`` (``null`` before the first
event). Mutators only assign: the rules are in ``domain/fees/rules.py``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.chain import GENESIS, event_hash
from domain.fee_topics import FEE_EVENT_NAMES
from domain.fees.rules import FeeLedger
from domain.model import Actor

#: The namespace of fee periods' aggregate ids.
NAMESPACE = uuid5(NAMESPACE_URL, "https://yishi.example/fees")
STATE = "open"


def period_id(compound: str, fee_kind: str, period: str) -> UUID:
    """The aggregate id of one compound's fee period."""
    return uuid5(NAMESPACE, f"{compound}/{fee_kind}/{period}")


class FeePeriod(Aggregate):
    """One compound's fee period (收费期): billed, collected, refunded."""

    TOPIC = "yishi:FeePeriod"

    class Event(Aggregate.Event):
        actor_id: str
        actor_role: str
        step_before: str | None
        step_after: str
        data: dict[str, Any]
        prev_hash: str
        hash: str

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FeePeriod)
            aggregate.head_hash = self.hash
            aggregate.ledger = aggregate.ledger.apply(type(self).__name__, self.data)

    class Created(Event, Aggregate.Created):
        TOPIC = "yishi:FeePeriod.Created"

    class FeePeriodOpened(Created):
        """Households billed and amount billed (fen), the compound's community."""

        TOPIC = "yishi:FeePeriod.FeePeriodOpened"

        def apply(self, aggregate: Aggregate) -> None:
            assert isinstance(aggregate, FeePeriod)
            aggregate.ledger = FeeLedger()
            super().apply(aggregate)

    class FeesCollected(Event):
        """Households and fen collected on a day."""

        TOPIC = "yishi:FeePeriod.FeesCollected"

    class FeesRefunded(Event):
        """Households and fen refunded."""

        TOPIC = "yishi:FeePeriod.FeesRefunded"

    if TYPE_CHECKING:
        ledger: FeeLedger
        head_hash: str

    EVENT_NAMES: ClassVar[tuple[str, ...]] = FEE_EVENT_NAMES

    @classmethod
    def open(cls, data: dict[str, Any], actor: Actor, at: datetime) -> FeePeriod:
        stream = period_id(data["compound_id"], data["fee_kind"], data["period"])
        content = _content(stream, 1, "FeePeriodOpened", data, actor, at, GENESIS)
        return cls._create(cls.FeePeriodOpened, id=stream, timestamp=at, **content)

    def change(self, event_type: str, data: dict[str, Any], actor: Actor, at: datetime) -> None:
        """Record a collection or a refund (the rules decided)."""
        content = _content(self.id, self.version + 1, event_type, data, actor, at, self.head_hash)
        self.trigger_event(getattr(FeePeriod, event_type), timestamp=at, **content)


def _content(
    stream: UUID, version: int, event_type: str, data: dict[str, Any], actor: Actor,
    at: datetime, prev_hash: str,
) -> dict[str, Any]:
    before = None if version == 1 else STATE
    digest = event_hash(
        case_id=stream, version=version, event_type=event_type, recorded_at=at,
        actor_id=actor.id, actor_role=actor.role.value, step_before=before, step_after=STATE,
        data=data, prev_hash=prev_hash,
    )
    return {
        "actor_id": actor.id, "actor_role": actor.role.value, "step_before": before,
        "step_after": STATE, "data": data, "prev_hash": prev_hash, "hash": digest,
    }


def china_day(at: datetime) -> str:
    """The day (YYYY-MM-DD, China time) of a moment: whose provider serves then."""
    return at.astimezone(_CHINA).date().isoformat()


_CHINA = timezone(timedelta(hours=8), "CST")
