"""The demo district's practices: a year of fee periods for every compound (lower rates
without a property company at first, rising), joint meetings with their parties, and
reports from patrols and household visits (issue 14)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest

from domain.application import Cases
from projections.fees import FeeProjection, FeeQuery, fee_figures
from projections.meetings import MeetingProjection, MeetingQuery, meeting_figures
from projections.queries import EVERYTHING
from simulation.district import build_district
from tests.demo.test_demo import NOW, simulate


@pytest.fixture(scope="module")
def district() -> Iterator[Cases]:
    app = simulate("memory:", 400, seed=11)
    yield app
    app.close()


def test_every_compound_bills_twelve_months_and_rates_rise_where_no_company_serves(
    district: Cases,
) -> None:
    compounds = build_district(11).compounds
    figures = fee_figures(FeeProjection(district), EVERYTHING, FeeQuery(
        group_by=("compound", "fee_kind", "period")))["groups"]
    per_compound = Counter(g["group"]["compound_id"] for g in figures)
    assert per_compound == {c.id: 12 for c in compounds}
    kinds = {g["group"]["compound_id"]: g["group"]["fee_kind"] for g in figures}
    for c in compounds:
        assert kinds[c.id] == ("property" if c.has_property_company else "sanitation")
    by_kind = fee_figures(FeeProjection(district), EVERYTHING, FeeQuery(
        group_by=("fee_kind", "period")))["groups"]
    sanitation = [g["collection_rate"] for g in by_kind if g["group"]["fee_kind"] == "sanitation"]
    property_ = [g["collection_rate"] for g in by_kind if g["group"]["fee_kind"] == "property"]
    # Each list runs over the year's months in order; the last month is still collecting.
    assert len(sanitation) == len(property_) == 12
    assert sanitation[0] < 0.7 < sanitation[-3]
    assert sanitation[0] < property_[0]
    assert all(0.75 < rate <= 1 for rate in property_[:-2])
    assert any(g["amount_refunded_fen"] for g in by_kind)


def test_joint_meetings_list_their_parties_and_patrols_and_visits_report(
    district: Cases,
) -> None:
    groups = meeting_figures(MeetingProjection(district), EVERYTHING,
                             MeetingQuery(group_by=("month",)))["groups"]
    assert len(groups) >= 10
    meetings = sum(g["meetings"] for g in groups)
    assert meetings == sum(g["with_parties"] for g in groups) > 50
    parties = Counter[str]()
    for g in groups:
        parties.update(g["parties"])
    assert parties["community"] == meetings
    assert parties["police"] > 0
    assert parties["housing_office"] > 0
    channels = Counter(district.get_case(case_id).channel for case_id in district.case_ids())
    assert channels["property_patrol"] > 0
    assert channels["household_visit"] > 0
    assert channels["grid_patrol"] > 0


def test_every_fee_period_verifies(district: Cases) -> None:
    reports = [r for r in district.verify_all() if r.stream == "fee"]
    assert len(reports) == 12 * len(build_district(11).compounds)
    assert all(r.valid for r in reports)
    assert NOW.year == 2026
