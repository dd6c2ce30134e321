"""A participant and their points ledger as one event stream (参与者积分账户).

The stream starts with ``ParticipantRegistered`` (compound, community, kinds, the sealed
name, an optional linked resident credential) and goes on with ``ParticipantLinked``,
``PointsAwarded`` (rule, points, the key and the event that earned them),
``PointsRedeemed`` (reward, points) and ``PointsReversed`` (the award undone, its points,
the reason): practices.md, "Participation points". The events carry the envelope every
stream shares (``domain.stream.ChainedStream``: the hash chain of docs/adr/0004-hash-chain.md,
the participant id in ``case_id``, ``"active"`` in the step fields), so the chain walker and
the verifiable log cover them like a unit's.

The decisions are the public methods here, pure (the caller passes the actor and the time):
a redemption or reversal beyond the balance raises ``BalanceTooLow`` and records nothing,
so a balance never goes below zero; the store's unique (stream, version) makes that hold
under concurrency too (a writer that loses the race decides again on the new balance).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import UUID

from eventsourcing.domain import Aggregate

from domain.errors import DomainError
from domain.model import Actor
from domain.participant_topics import PARTICIPANT_EVENT_NAMES
from domain.stream import ChainedStream

#: Kinds of participant (practices.md): resident, party member, volunteer.
KINDS: tuple[str, ...] = ("resident", "party_member", "volunteer")


class ParticipantNotFound(DomainError):
    code = "participant_not_found"

    def __init__(self, participant_id: object) -> None:
        super().__init__(f"participant {participant_id} not found")
        self.participant_id = participant_id


class BalanceTooLow(DomainError):
    """A redemption or reversal of more points than the balance holds (409 with it)."""

    code = "balance_too_low"

    def __init__(self, balance: int, points: int) -> None:
        super().__init__(f"the balance is {balance} points, {points} asked")
        self.balance = balance
        self.points = points


class ResidentLinked(DomainError):
    """The resident's credential is linked to another participant already (one each)."""

    code = "resident_linked"

    def __init__(self, resident_id: str, participant_id: str) -> None:
        super().__init__(f"resident {resident_id} is linked to participant {participant_id}")
        self.participant_id = participant_id


class NotReversible(DomainError):
    """``award_version`` names no award of this ledger, or one already reversed."""

    code = "not_reversible"

    def __init__(self, version: int, reason: str) -> None:
        super().__init__(f"version {version}: {reason}")
        self.version = version


class Participant(ChainedStream):
    """A participant (参与者) and their ledger (积分台账)."""

    TOPIC = "yishi:Participant"

    class Event(ChainedStream.Event):
        def evolve(self, participant: Participant) -> None:
            """The state change particular to this event type (pure)."""

    class Created(Event, Aggregate.Created):
        TOPIC = "yishi:Participant.Created"

    class ParticipantRegistered(Created):
        TOPIC = "yishi:Participant.ParticipantRegistered"

        def evolve(self, participant: Participant) -> None:
            data = self.data
            participant.compound_id = data["compound_id"]
            participant.community_id = data["community_id"]
            participant.kinds = list(data["kinds"])
            participant.name = dict(data["name"])
            participant.resident_id = data.get("resident_id")
            participant.registered_at = self.timestamp
            participant.balance = 0
            participant.sources = set()
            participant.awards = {}
            participant.reversed_versions = set()

    class ParticipantLinked(Event):
        """A resident's credential linked to this participant (the newest link counts)."""

        TOPIC = "yishi:Participant.ParticipantLinked"

        def evolve(self, participant: Participant) -> None:
            participant.resident_id = self.data["resident_id"]

    class PointsAwarded(Event):
        TOPIC = "yishi:Participant.PointsAwarded"

        def evolve(self, participant: Participant) -> None:
            participant.balance += int(self.data["points"])
            participant.sources.add(self.data["source"])
            participant.awards[self.originator_version] = int(self.data["points"])

    class PointsRedeemed(Event):
        TOPIC = "yishi:Participant.PointsRedeemed"

        def evolve(self, participant: Participant) -> None:
            participant.balance -= int(self.data["points"])

    class PointsReversed(Event):
        TOPIC = "yishi:Participant.PointsReversed"

        def evolve(self, participant: Participant) -> None:
            participant.balance -= int(self.data["points"])
            participant.reversed_versions.add(int(self.data["award_version"]))

    if TYPE_CHECKING:
        compound_id: str
        community_id: str
        kinds: list[str]
        name: dict[str, str]
        resident_id: str | None
        registered_at: datetime
        balance: int
        sources: set[str]
        awards: dict[int, int]
        reversed_versions: set[int]
        head_hash: str

    EVENT_NAMES: ClassVar[tuple[str, ...]] = PARTICIPANT_EVENT_NAMES

    # Decisions --------------------------------------------------------------------------

    @classmethod
    def register(cls, participant_id: UUID, data: dict[str, Any], actor: Actor,
                 at: datetime) -> Participant:
        """A new participant; ``data`` is checked by the service (name already sealed)."""
        participant: Participant = cls._first(cls.ParticipantRegistered, participant_id,
                                              data, actor, at)
        return participant

    def link(self, resident_id: str, actor: Actor, at: datetime) -> None:
        self.change("ParticipantLinked", {"resident_id": resident_id}, actor, at)

    def award(self, data: dict[str, Any], actor: Actor, at: datetime) -> bool:
        """Award points (``rule``, ``points``, ``source`` ...); False, recording nothing,
        when this ledger already holds an award with the same ``source``."""
        if data["source"] in self.sources:
            return False
        self.change("PointsAwarded", data, actor, at)
        return True

    def redeem(self, reward: str, points: int, actor: Actor, at: datetime) -> None:
        """Redeem points for a reward (兑换); ``BalanceTooLow`` beyond the balance."""
        if points > self.balance:
            raise BalanceTooLow(self.balance, points)
        self.change("PointsRedeemed", {"reward": reward, "points": points}, actor, at)

    def reverse(self, award_version: int, reason: str, actor: Actor, at: datetime) -> None:
        """Undo an award (冲正) by its ledger version, taking back its points;
        ``NotReversible`` for no such award or one reversed already, ``BalanceTooLow``
        when the points were spent."""
        points = self.awards.get(award_version)
        if points is None:
            raise NotReversible(award_version, "is not an award of this participant")
        if award_version in self.reversed_versions:
            raise NotReversible(award_version, "is reversed already")
        if points > self.balance:
            raise BalanceTooLow(self.balance, points)
        self.change("PointsReversed", {"award_version": award_version, "points": points,
                                       "reason": reason}, actor, at)


def fold_balance(events: list[tuple[str, dict[str, Any]]]) -> int:
    """The plain fold of a ledger (what the tests compare balances with): awards minus
    redemptions and reversals, over ``(event name, data)`` pairs."""
    total = 0
    for name, data in events:
        if name == "PointsAwarded":
            total += int(data["points"])
        elif name in ("PointsRedeemed", "PointsReversed"):
            total -= int(data["points"])
    return total
