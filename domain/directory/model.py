"""The directory's units as event streams (网格化目录): street, community, area, compound,
grid and provider.

Each unit is one aggregate whose id is ``uuid5`` of its code, so a code is unique across
the store by construction. Its events carry the same envelope as a case's (actor, step
before and after, data, previous hash and hash) and are hash-chained with the same
encoding (docs/adr/0004-hash-chain.md, the stream id in ``case_id``), so the walker that
verifies cases verifies the directory too. The step fields of a unit hold ``"active"``
(``null`` before its first event). Mutators only assign: every decision is in
``domain/directory/service.py``. See docs/adr/0071-directory.md.
"""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Any, ClassVar
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from domain.model import Actor
from domain.stream import ChainedStream
from domain.unit_topics import UNIT_EVENT_NAMES
from domain.unit_topics import UNIT_TOPICS as _TOPICS

#: A unit's code (practices.md): unique across the store.
CODE = re.compile(r"[A-Za-z0-9_-]{1,32}")
#: The namespace of units' aggregate ids.
NAMESPACE = uuid5(NAMESPACE_URL, "https://yishi.example/directory")
MAX_HOUSEHOLDS = 100_000


class Level(StrEnum):
    """A level of the grid (网格化层级), and providers beside it."""

    STREET = "street"  # 街道
    COMMUNITY = "community"  # 社区
    AREA = "area"  # 片区
    COMPOUND = "compound"  # 小区
    GRID = "grid"  # 网格
    PROVIDER = "provider"  # 物业公司 or 自管业委会


class ProviderKind(StrEnum):
    PROPERTY_COMPANY = "property_company"  # 物业公司
    OWNERS_COMMITTEE = "owners_committee"  # 自管业委会


class TeamRole(StrEnum):
    """A grid team member's place in "1+3+N" (一专三兼N志愿)."""

    FULL_TIME = "full_time"  # 专职网格员
    PART_TIME = "part_time"  # 兼职网格员
    VOLUNTEER = "volunteer"  # 党员, 志愿者


#: The levels a unit's parent may have (streets and providers have none).
PARENT_LEVELS: dict[Level, tuple[Level, ...]] = {
    Level.STREET: (),
    Level.COMMUNITY: (Level.STREET,),
    Level.AREA: (Level.COMMUNITY,),
    Level.COMPOUND: (Level.COMMUNITY, Level.AREA),
    Level.GRID: (Level.COMPOUND,),
    Level.PROVIDER: (),
}


def unit_id(code: str) -> UUID:
    """The aggregate id of the unit with this code."""
    return uuid5(NAMESPACE, code)


class Unit(ChainedStream):
    """One unit of the directory (目录单元)."""

    TOPIC = "yishi:Unit"

    class Event(ChainedStream.Event):
        def evolve(self, unit: Unit) -> None:
            """The state change particular to this event type (pure)."""

    class Created(Event, Aggregate.Created):
        TOPIC = "yishi:Unit.Created"

    class UnitRegistered(Created):
        TOPIC = "yishi:Unit.UnitRegistered"

        def evolve(self, unit: Unit) -> None:
            data = self.data
            unit.level = data["level"]
            unit.code = data["code"]
            unit.name = data["name"]
            unit.name_en = data.get("name_en")
            unit.parent = data.get("parent")
            unit.households = data.get("households")
            unit.kind = data.get("kind")
            unit.providers = []
            unit.team = []

    class UnitChanged(Event):
        """Some of name, name_en, parent, households, kind changed (the new values)."""

        TOPIC = "yishi:Unit.UnitChanged"

        def evolve(self, unit: Unit) -> None:
            for key, value in self.data.items():
                setattr(unit, key, value)

    class ProviderAssigned(Event):
        """Which provider serves the compound from which day (null: none, 无物业)."""

        TOPIC = "yishi:Unit.ProviderAssigned"

        def evolve(self, unit: Unit) -> None:
            unit.providers = [*unit.providers, (self.data["from"], self.data["provider"])]

    class GridTeamSet(Event):
        """The grid's team now: each member's role and sealed name (personal data)."""

        TOPIC = "yishi:Unit.GridTeamSet"

        def evolve(self, unit: Unit) -> None:
            unit.team = [dict(member) for member in self.data["members"]]

    # State, assigned only by the events above (declared for type checkers only: the
    # library would otherwise make these dataclass fields of the aggregate).
    if TYPE_CHECKING:
        level: str
        code: str
        name: str
        name_en: str | None
        parent: str | None
        households: int | None
        kind: str | None
        providers: list[tuple[str, str | None]]
        team: list[dict[str, Any]]
        head_hash: str

    EVENT_NAMES: ClassVar[tuple[str, ...]] = UNIT_EVENT_NAMES

    @classmethod
    def register(cls, data: dict[str, Any], actor: Actor, at: datetime) -> Unit:
        unit: Unit = cls._first(cls.UnitRegistered, unit_id(data["code"]), data, actor, at)
        return unit


#: Each stored topic of a unit's events, with its event name.
UNIT_TOPICS = _TOPICS  # stored topic -> event name (domain/unit_topics.py)
