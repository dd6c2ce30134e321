"""The envelope every stream's events share, and its hash (事件信封).

Cases, directory units, and the practices' streams (providers, points ledgers, fee
periods) record events with one envelope: who (actor id and role), the step before and
after, the data, the previous event's hash and this event's hash, chained with the
encoding of docs/adr/0004-hash-chain.md (the stream's id in ``case_id``). One walker
(domain/verification.py) and one log leaf (docs/adr/0050-log-leaf.md) then serve them all.

``chained(...)`` computes an event's envelope; ``ChainedStream`` is the aggregate base of
the streams that have no steps of their own: their step fields hold ``"active"`` (``null``
before the first event), and they record only what their service decided.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.chain import GENESIS, event_hash
from domain.model import Actor

#: The step fields of a stream without steps.
STATE = "active"


def chained(
    stream: UUID, version: int, event_type: str, data: dict[str, Any], actor: Actor,
    at: datetime, prev_hash: str, step_before: str | None, step_after: str,
) -> dict[str, Any]:
    """An event's envelope as keyword arguments of its class: ``actor_id``, ``actor_role``,
    ``step_before``, ``step_after``, ``data``, ``prev_hash`` and ``hash`` (SHA-256 hex of
    the canonical bytes, docs/adr/0004-hash-chain.md)."""
    digest = event_hash(
        case_id=stream, version=version, event_type=event_type, recorded_at=at,
        actor_id=actor.id, actor_role=actor.role.value, step_before=step_before,
        step_after=step_after, data=data, prev_hash=prev_hash,
    )
    return {
        "actor_id": actor.id, "actor_role": actor.role.value, "step_before": step_before,
        "step_after": step_after, "data": data, "prev_hash": prev_hash, "hash": digest,
    }


class ChainedStream(Aggregate):
    """A hash-chained stream without steps: subclasses define ``Event`` subclasses with an
    ``evolve`` each, create with ``_first`` and record with ``change``."""

    class Event(Aggregate.Event):
        """What every event of the stream carries besides its data."""

        actor_id: str
        actor_role: str
        step_before: str | None
        step_after: str
        data: dict[str, Any]
        prev_hash: str
        hash: str

        def apply(self, aggregate: Aggregate) -> None:
            aggregate.head_hash = self.hash  # type: ignore[attr-defined]
            self.evolve(aggregate)

        def evolve(self, stream: Any) -> None:
            """The state change particular to this event type (pure)."""

    if TYPE_CHECKING:
        head_hash: str

    @classmethod
    def _first(cls, event_class: type[Aggregate.Created], ident: UUID, data: dict[str, Any],
               actor: Actor, at: datetime) -> Any:
        """A new stream whose first event is ``event_class`` (its name is the event type)."""
        content = chained(ident, 1, event_class.__name__, data, actor, at, GENESIS,
                          None, STATE)
        return cls._create(event_class, id=ident, timestamp=at, **content)

    def change(self, event_type: str, data: dict[str, Any], actor: Actor, at: datetime) -> None:
        """Record one event of this stream's type ``event_type`` (its service decided)."""
        content = chained(self.id, self.version + 1, event_type, data, actor, at,
                          self.head_hash, STATE, STATE)
        self.trigger_event(getattr(type(self), event_type), timestamp=at, **content)
