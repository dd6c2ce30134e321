"""The demo's year of providers (演示服务单位): companies of different quality, a
self-managing owners' committee, monthly ratings, a summons and one replacement mid-year.

``ServiceBook`` is pure and built from the district, the seed and ``now``: which provider
serves each compound from which day (the replacement included), which provider an order
is charged to (the rule of docs/adr/0092, against this timeline) and how well each provider
works (``Quality``: the story's draws for acceptance, overruns, failed supervisions,
satisfaction and reopenings). ``register_providers`` records it through the domain: the
self-managing committee in the directory, the summons and the replacement by the street,
and a rating per provider and month.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from domain.directory.csvfile import UnitRow
from domain.model import Actor, Role
from domain.providers.attribution import china_day
from simulation.directory import DEMO_ADMIN, STREET_CODE, provider_codes
from simulation.district import YEAR, District

if TYPE_CHECKING:
    from domain.application import Cases

#: The street's staff who rate, summon and replace (街道).
DEMO_STREET = Actor("demo-street", Role.STREET, units=frozenset({("street", STREET_CODE)}))
SELF_MANAGED = "YW01"


@dataclass(frozen=True)
class Quality:
    """How a provider works: the multiplier of its acceptance delay, the chances that an
    order overruns, that a supervision fails and that a case is reopened, and the weights
    of satisfied, basically satisfied and dissatisfied ratings."""

    name: str
    accept: float
    overrun: float
    fail: float
    satisfaction: tuple[int, int, int]
    reopen: float
    rating: int  # the street's usual monthly rating


#: The story's own draws (no provider known): the demo before issue 13.
DEFAULT = Quality("default", 1.0, 0.12, 0.08, (80, 15, 5), 0.03, 80)
PROFILES = (
    Quality("excellent", 0.25, 0.02, 0.02, (93, 6, 1), 0.01, 94),
    Quality("good", 0.5, 0.07, 0.05, (85, 12, 3), 0.02, 86),
    Quality("poor", 2.2, 0.40, 0.25, (45, 25, 30), 0.09, 58),
    Quality("fair", 1.0, 0.15, 0.10, (72, 18, 10), 0.04, 75),
)


@dataclass(frozen=True)
class Replacement:
    compound: str
    old: str
    new: str
    day: str
    summoned: str


class ServiceBook:
    """Who serves what from when, and how well (pure, from the seed)."""

    def __init__(self, district: District, seed: int, now: datetime) -> None:
        self.since = (now - timedelta(days=3 * 365)).date().isoformat()
        codes = provider_codes(district)
        self.kinds = dict.fromkeys(codes.values(), "property_company")
        self.quality = {code: PROFILES[n % len(PROFILES)]
                        for n, code in enumerate(sorted(codes.values()))}
        self.timeline: dict[str, list[tuple[str, str]]] = {
            c.id: [(self.since, codes[c.property_company])]
            for c in district.compounds if c.property_company}
        bare = sorted(district.without_property(), key=lambda c: (-c.buildings, c.id))
        self.self_managed = bare[0] if bare else None
        if self.self_managed is not None:
            self.kinds[SELF_MANAGED] = "owners_committee"
            self.quality[SELF_MANAGED] = PROFILES[1]
            self.timeline[self.self_managed.id] = [(self.since, SELF_MANAGED)]
        poor = sorted(code for code, q in self.quality.items() if q.name == "poor")
        best = sorted(code for code, q in self.quality.items()
                      if q.name == "excellent" and self.kinds[code] == "property_company")
        served = sorted((c for c in district.compounds if c.property_company
                         and codes[c.property_company] in poor),
                        key=lambda c: (-c.buildings, c.id))
        self.replacement: Replacement | None = None
        if served and best:
            mid = now - YEAR / 2
            compound = served[0]
            self.replacement = Replacement(
                compound.id, codes[compound.property_company or ""], best[0], china_day(mid),
                china_day(mid - timedelta(days=30)))
            self.timeline[compound.id].append((self.replacement.day, best[0]))
        self.seed = seed
        self.now = now

    def provider(self, compound: str, role: str, at: datetime) -> str | None:
        """The provider an order of ``role`` dispatched at ``at`` is charged to."""
        day = china_day(at)
        serving = None
        for start, code in self.timeline.get(compound, ()):
            if start <= day:
                serving = code
        return serving if serving is not None and self.kinds[serving] == role else None

    def quality_of(self, code: str | None) -> Quality:
        return self.quality.get(code, DEFAULT) if code else DEFAULT


def register_providers(app: Cases, district: District, book: ServiceBook) -> int:
    """Record the year of providers; the number of events recorded."""
    events = 0
    if book.self_managed is not None:
        c = book.self_managed
        rows = [UnitRow(0, "provider", SELF_MANAGED, f"{c.name}业主委员会", "",
                        kind="owners_committee"),
                UnitRow(0, "compound", c.id, c.name, c.community.id,
                        households=str(c.buildings * 48), provider=SELF_MANAGED,
                        provider_from=book.since)]
        events += app.directory.apply_rows(rows, DEMO_ADMIN).events
    rng = random.Random(f"ratings:{book.seed}")  # noqa: S311 - simulation
    months = sorted({(book.now - timedelta(days=30 * n)).strftime("%Y-%m") for n in range(12)})
    replaced = book.replacement
    for code in sorted(book.kinds):
        quality = book.quality[code]
        for month in months:
            if replaced and code == replaced.old and month > replaced.day[:7] and not any(
                line[-1][1] == code for line in book.timeline.values()
            ):
                continue  # no longer serving anything: not rated
            score = max(0, min(100, round(rng.gauss(quality.rating, 4))))
            app.providers.record(code, "ProviderRated", {
                "month": month, "score": score, "comment": f"{month}月度考评"}, DEMO_STREET)
            events += 1
    if replaced is not None:
        summons = app.providers.record(replaced.old, "ProviderSummoned", {
            "date": replaced.summoned, "reason": "满意率和按时办结率连续两月排名末位",
            "outcome": "限期一个月整改, 未达标将更换"}, DEMO_STREET)
        app.providers.record(replaced.new, "ProviderAssigned", {
            "compound": replaced.compound, "from": replaced.day,
            "summons_version": summons.version, "note": "整改未达标, 经业主大会表决更换"},
            DEMO_STREET)
        events += 2
    return events
