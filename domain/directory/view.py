"""The directory as it is now, folded from the unit events (目录视图): names, parents,
providers and what a scope covers.

Pure: no database, no clock. ``DirectoryView.apply`` folds one unit event; the service
keeps one view per process and folds the events it has not seen (docs/adr/0071). Scopes
(docs/adr/0070-scope-model.md) name units at any level and cover everything beneath:
``covered`` turns a credential's named units into the compounds and communities a case is
checked against, ``within`` says whether a unit lies inside named units.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any
from uuid import UUID

from domain.directory.model import Level, Unit

#: A named unit of a scope: (level, code).
Named = tuple[str, str]


@dataclass(frozen=True)
class UnitInfo:
    """One unit now. ``providers`` is each assignment (from day, provider or None) in the
    order recorded; ``team`` each grid member's role, subject and sealed name."""

    level: Level
    code: str
    name: str
    name_en: str | None = None
    parent: str | None = None
    households: int | None = None
    kind: str | None = None
    providers: tuple[tuple[str, str | None], ...] = ()
    team: tuple[dict[str, Any], ...] = ()

    def provider_on(self, day: str) -> str | None:
        """The provider serving this compound on a day (YYYY-MM-DD), or None."""
        serving = None
        for start, provider in sorted(self.providers, key=lambda entry: entry[0]):
            if start <= day:
                serving = provider
        return serving

    @property
    def provider(self) -> str | None:
        """The provider of the latest assignment (None: none, or never assigned)."""
        return self.providers[-1][1] if self.providers else None

    @property
    def provider_from(self) -> str | None:
        return self.providers[-1][0] if self.providers else None


@dataclass
class DirectoryView:
    """Every unit by code, and the position in the log up to which events were folded."""

    units: dict[str, UnitInfo] = field(default_factory=dict)
    position: int = 0
    ids: dict[UUID, str] = field(default_factory=dict)
    _children: dict[str, list[str]] | None = None

    def copy(self) -> DirectoryView:
        return DirectoryView(dict(self.units), self.position, dict(self.ids))

    def apply(self, event: Unit.Event) -> None:
        """Fold one unit event (pure state change)."""
        data = event.data
        self._children = None
        if isinstance(event, Unit.UnitRegistered):
            self.units[data["code"]] = UnitInfo(
                level=Level(data["level"]), code=data["code"], name=data["name"],
                name_en=data.get("name_en"), parent=data.get("parent"),
                households=data.get("households"), kind=data.get("kind"),
            )
            self.ids[event.originator_id] = data["code"]
            return
        code = self.ids.get(event.originator_id)
        if code is None:
            return
        unit = self.units[code]
        if isinstance(event, Unit.UnitChanged):
            self.units[code] = replace(unit, **data)
        elif isinstance(event, Unit.ProviderAssigned):
            self.units[code] = replace(
                unit, providers=(*unit.providers, (data["from"], data["provider"]))
            )
        elif isinstance(event, Unit.GridTeamSet):
            self.units[code] = replace(unit, team=tuple(dict(m) for m in data["members"]))

    # Reads ------------------------------------------------------------------------------

    def get(self, code: str) -> UnitInfo | None:
        return self.units.get(code)

    def name_of(self, code: str) -> str | None:
        """The unit's current (Chinese) name, or None for a code not registered."""
        unit = self.units.get(code)
        return unit.name if unit else None

    def ancestors(self, code: str) -> Iterator[str]:
        """The codes above a unit, nearest first."""
        seen = {code}
        unit = self.units.get(code)
        while unit is not None and unit.parent and unit.parent not in seen:
            seen.add(unit.parent)
            yield unit.parent
            unit = self.units.get(unit.parent)

    def community_of(self, compound: str) -> str | None:
        """The community a registered compound lies in now (through its area, if any)."""
        for code in self.ancestors(compound):
            unit = self.units.get(code)
            if unit is not None and unit.level is Level.COMMUNITY:
                return code
        return None

    def children(self, code: str) -> list[str]:
        if self._children is None:
            index: dict[str, list[str]] = {}
            for unit in self.units.values():
                if unit.parent:
                    index.setdefault(unit.parent, []).append(unit.code)
            self._children = index
        return self._children.get(code, [])

    def descendants(self, code: str) -> Iterator[str]:
        stack = list(self.children(code))
        seen: set[str] = set()
        while stack:
            child = stack.pop()
            if child in seen:
                continue
            seen.add(child)
            yield child
            stack.extend(self.children(child))

    def served_by(self, provider: str) -> list[str]:
        """The compounds a provider serves or served (any assignment naming it)."""
        return sorted(u.code for u in self.units.values()
                      if u.level is Level.COMPOUND and any(p == provider for _, p in u.providers))

    def of_level(self, level: Level) -> list[UnitInfo]:
        return [u for u in self.units.values() if u.level is level]

    # Scopes -----------------------------------------------------------------------------

    def covered(self, named: Iterable[Named]) -> tuple[frozenset[str], frozenset[str]]:
        """The (compounds, communities) a case is checked against for these named units.

        A compound or community covers itself (also when not registered: a store from
        before the directory keeps working); a street covers the communities beneath it;
        an area, the compounds beneath it now; a grid, its compound (cases are filed per
        compound). Cases keep the community they were filed under, so a community covers
        its cases, not those of a compound that moved in later.
        """
        compounds: set[str] = set()
        communities: set[str] = set()
        for level, code in named:
            if level == Level.COMPOUND:
                compounds.add(code)
            elif level == Level.COMMUNITY:
                communities.add(code)
            elif level == Level.STREET:
                communities.update(
                    c for c in self.descendants(code)
                    if self.units[c].level is Level.COMMUNITY
                )
            elif level == Level.AREA:
                compounds.update(
                    c for c in self.descendants(code) if self.units[c].level is Level.COMPOUND
                )
            elif level == Level.GRID:
                unit = self.units.get(code)
                if unit is not None and unit.parent:
                    compounds.add(unit.parent)
        return frozenset(compounds), frozenset(communities)

    def within(self, code: str, named: Iterable[Named]) -> bool:
        """True when the unit ``code`` is one of the named units or lies beneath one."""
        codes = {c for _, c in named}
        return code in codes or any(a in codes for a in self.ancestors(code))

    def visible(self, named: Iterable[Named]) -> set[str]:
        """The codes a reader with these named units may read: the units within its scope,
        the units above them, and the providers serving its compounds."""
        named = list(named)
        inside: set[str] = set()
        for _, code in named:
            if code in self.units:
                inside.add(code)
                inside.update(self.descendants(code))
        result = set(inside)
        for code in inside:
            result.update(self.ancestors(code))
            unit = self.units[code]
            result.update(p for _, p in unit.providers if p)
        return result
