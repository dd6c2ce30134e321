"""Properties of the directory's import file and scopes, over random districts (Hypothesis).

- ``directory show`` prints what an import reads back to the same directory, and the
  same file imported again records nothing (practices.md: a district round-trips its
  spreadsheet);
- a scope covers a compound's cases exactly when a named unit is the compound, its grid,
  an area or street above it, or the community it was filed under (checked against a
  plain walk up the parents).
"""

from __future__ import annotations

import csv
import io
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.http.routes_directory import directory_csv
from domain.application import open_cases
from domain.directory.csvfile import COLUMNS, parse
from domain.model import Actor, Role

ADMIN = Actor("admin", Role.ADMIN)
NAMES = st.text(st.characters(codec="utf-8", categories=("L", "N", "P", "S")), min_size=1,
                max_size=12).filter(lambda s: s.strip() == s and s[0] not in "\"'")


@st.composite
def districts(draw: Any) -> list[list[str]]:
    """Rows of a random district: streets, communities, areas, compounds, grids, providers."""
    rows = [["provider", "P1", draw(NAMES), "", "", "", "property_company", "", ""]]
    n = 0
    for s in range(draw(st.integers(1, 2))):
        rows.append(["street", f"S{s}", draw(NAMES), "", "", "", "", "", ""])
        for c in range(draw(st.integers(1, 2))):
            community = f"S{s}C{c}"
            rows.append(["community", community, draw(NAMES), f"S{s}", "", "", "", "", ""])
            parents = [community]
            if draw(st.booleans()):
                parents.append(f"{community}A")
                rows.append(["area", f"{community}A", draw(NAMES), community, "", "", "", "",
                             ""])
            for _ in range(draw(st.integers(1, 3))):
                n += 1
                served = draw(st.booleans())
                rows.append(["compound", f"X{n}", draw(NAMES), draw(st.sampled_from(parents)),
                             draw(st.sampled_from(["", "Garden"])),
                             str(draw(st.integers(0, 100_000))), "",
                             "P1" if served else "", "2025-01-01" if served else ""])
                if draw(st.booleans()):
                    rows.append(["grid", f"X{n}-G", draw(NAMES), f"X{n}", "", "", "", "", ""])
    return rows


def _file(rows: list[list[str]]) -> str:
    """The rows as a district's spreadsheet would save them (plain CSV quoting)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows)
    return buffer.getvalue()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(districts(), st.randoms(use_true_random=False))
def test_show_reads_back_to_the_same_directory_and_a_second_import_records_nothing(
    rows: list[list[str]], rng: Any
) -> None:
    rng.shuffle(rows)  # rows in any order
    app = open_cases("memory:")
    try:
        app.directory.apply_rows(parse(_file(rows)), ADMIN)
        head = app.head_position()
        shown = directory_csv(list(app.directory.view.units.values()))
        again = app.directory.apply_rows(parse(shown), ADMIN)
        assert again.events == 0
        assert app.head_position() == head
        fresh = open_cases("memory:")
        try:
            fresh.directory.apply_rows(parse(shown), ADMIN)
            assert fresh.directory.view.units == app.directory.view.units
        finally:
            fresh.close()
    finally:
        app.close()


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(districts(), st.data())
def test_a_scope_covers_a_compound_exactly_when_a_unit_above_or_at_it_is_named(
    rows: list[list[str]], data: Any
) -> None:
    app = open_cases("memory:")
    try:
        app.directory.apply_rows(parse(_file(rows)), ADMIN)
        view = app.directory.view
        units = sorted((u.level.value, u.code) for u in view.units.values()
                       if u.level.value != "provider")
        named = frozenset(data.draw(st.lists(st.sampled_from(units), min_size=1, max_size=3)))
        reader = app.directory.resolve(Actor("r", Role.AUDITOR, units=named))
        codes = {code for _, code in named}
        for compound in (u for u in view.units.values() if u.level.value == "compound"):
            community = view.community_of(compound.code)
            assert community is not None
            chain = [compound.code, *view.ancestors(compound.code)]
            grids = {g for g in view.children(compound.code) if view.units[g].level.value
                     == "grid"}
            expected = bool(codes & (set(chain) | grids))
            assert reader.covers(compound.code, community) == expected
    finally:
        app.close()
