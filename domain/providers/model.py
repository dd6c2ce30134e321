"""A provider's stream (物业公司 or 自管业委会): registration, monthly ratings, summons.

One aggregate per provider, its id ``uuid5`` of its code (unique by construction, as the
directory's units). Its events carry the envelope of a case's and are hash-chained the same
way (docs/adr/0004-hash-chain.md), so ``yishi verify`` and the verifiable log cover them.
Its envelope and chain are ``domain.stream``'s. Mutators only assign; every decision is in
``domain/providers/rules.py`` and ``service.py`` (docs/adr/0090-provider-stream.md).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.model import Actor
from domain.providers.topics import PROVIDER_EVENT_NAMES
from domain.stream import ChainedStream

NAMESPACE = uuid5(NAMESPACE_URL, "https://yishi.example/providers")


def provider_id(code: str) -> UUID:
    """The aggregate id of the provider stream with this code."""
    return uuid5(NAMESPACE, code)


class Provider(ChainedStream):
    """One provider's stream (服务单位)."""

    TOPIC = "yishi:Provider"

    class Event(ChainedStream.Event):
        def evolve(self, provider: Provider) -> None:
            """The state change particular to this event type (pure)."""

    class Created(Event, Aggregate.Created):
        TOPIC = "yishi:Provider.Created"

    class ProviderRegistered(Created):
        TOPIC = "yishi:Provider.ProviderRegistered"

        def evolve(self, provider: Provider) -> None:
            provider.code = self.data["code"]
            provider.name = self.data["name"]
            provider.kind = self.data["kind"]
            provider.ratings = {}
            provider.summons = 0

    class ProviderRated(Event):
        """The month's rating, 0-100 (社区/街道 评分); a later one for a month replaces it."""

        TOPIC = "yishi:Provider.ProviderRated"

        def evolve(self, provider: Provider) -> None:
            provider.ratings = {**provider.ratings, self.data["month"]: self.data["score"]}

    class ProviderSummoned(Event):
        """A summons for a talk (约谈): date, reason, outcome."""

        TOPIC = "yishi:Provider.ProviderSummoned"

        def evolve(self, provider: Provider) -> None:
            provider.summons += 1

    if TYPE_CHECKING:
        code: str
        name: str
        kind: str
        ratings: dict[str, int]
        summons: int
        head_hash: str

    EVENT_NAMES: ClassVar[tuple[str, ...]] = PROVIDER_EVENT_NAMES

    @classmethod
    def register(cls, data: dict[str, Any], actor: Actor, at: datetime) -> Provider:
        provider: Provider = cls._first(cls.ProviderRegistered, provider_id(data["code"]),
                                        data, actor, at)
        return provider
