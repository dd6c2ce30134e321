"""The demo district's directory (演示目录): registered before its first case.

One street, its communities and compounds, the property companies (codes ``P01``...) with
the day each began serving its compounds, and one grid per compound with a "1+3+N" team
whose names are sealed like any personal data. Recorded through the directory service, as
an admin would, so the demo's store holds the directory's own event streams.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from domain.application import Cases
from domain.directory.csvfile import UnitRow
from domain.model import Actor, Role
from simulation.district import GIVEN, SURNAMES, District, grid_code

STREET_CODE = "QX"
DEMO_ADMIN = Actor("demo", Role.ADMIN)


def provider_codes(district: District) -> dict[str, str]:
    """Each property company's code, by name."""
    names = sorted({c.property_company for c in district.compounds if c.property_company})
    return {name: f"P{n:02d}" for n, name in enumerate(names, start=1)}


def district_rows(district: District, now: datetime) -> list[UnitRow]:
    """The district as import rows (the contract of practices.md)."""
    providers = provider_codes(district)
    since = (now - timedelta(days=3 * 365)).date().isoformat()
    rows = [UnitRow(0, "street", STREET_CODE, district.street, "")]
    rows += [UnitRow(0, "provider", code, name, "", kind="property_company")
             for name, code in providers.items()]
    rows += [UnitRow(0, "community", c.id, c.name, STREET_CODE) for c in district.communities]
    for c in district.compounds:
        provider = providers[c.property_company] if c.property_company else ""
        rows.append(UnitRow(0, "compound", c.id, c.name, c.community.id,
                            households=str(c.buildings * 48), provider=provider,
                            provider_from=since if provider else ""))
        rows.append(UnitRow(0, "grid", grid_code(c.id), f"{c.name}一网格", c.id))
    return rows


def register_district(app: Cases, district: District, seed: int, now: datetime) -> None:
    """Register the district, and each grid's team (names sealed)."""
    app.directory.apply_rows(district_rows(district, now), DEMO_ADMIN, today=now.date())
    rng = random.Random(f"teams:{seed}")  # noqa: S311 - simulation, not secrets
    for c in district.compounds:
        team = [("full_time", _name(rng))]
        team += [("part_time", _name(rng)) for _ in range(3)]
        team += [("volunteer", _name(rng)) for _ in range(rng.randint(2, 6))]
        app.directory.set_team(grid_code(c.id), team, DEMO_ADMIN)


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
