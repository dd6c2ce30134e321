"""The directory every test store starts with (the compounds and communities tests use).

A case is filed only into a registered compound (docs/adr/0071-directory.md), so each
fixture's store registers this district first, as an operator would.
"""

from __future__ import annotations

from domain.application import Cases
from domain.directory.csvfile import parse
from domain.model import Actor, Role

DISTRICT_CSV = """\
level,code,name,parent,households,kind,provider,provider_from
street,S1,示范街道,,,,,
street,S2,另一街道,,,,,
community,C1,幸福社区,S1,,,,
community,C2,和平社区,S1,,,,
community,C9,远方社区,S2,,,,
provider,LC,绿城物业,,,property_company,,
compound,JX,锦绣佳苑,C1,420,,LC,2025-01-01
compound,JT,涧田集资楼,C1,96,,,
compound,LH,莲花小区,C1,200,,,
compound,HY,和园,C2,300,,,
compound,OTHER,别处小区,C9,100,,,
grid,JX-G1,锦绣佳苑一网格,JX,,,,
"""

OPERATOR = Actor("test-operator", Role.ADMIN)
#: The events registering this district adds to a fresh store (one per unit, one provider
#: assignment): the log's first leaves, before any case.
DISTRICT_EVENTS = 13


def register_district(app: Cases) -> Cases:
    """Register the test district (once: a second import changes nothing)."""
    fresh = app.head_position() == 0
    app.directory.apply_rows(parse(DISTRICT_CSV), OPERATOR)
    assert not fresh or app.head_position() == DISTRICT_EVENTS
    return app
