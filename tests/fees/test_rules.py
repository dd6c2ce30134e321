"""Fee periods' rules without I/O: the data each event takes, the order of events, who
records, and the figures of metrics.md (households paid capped at billed)."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import InvalidEventData, PermissionDenied, RuleViolated
from domain.fees import RECORDERS, FeeFigure, FeeLedger, check_recorder, clean_data, grouped
from domain.model import Role

OPEN = {"fee_kind": "sanitation", "period": "2026", "households_billed": 96,
        "amount_billed_fen": 96 * 12_000}


def collected(households: int, amount: int) -> dict[str, Any]:
    return {"fee_kind": "sanitation", "period": "2026", "households": households,
            "amount_fen": amount, "day": "2026-03-01"}


@pytest.mark.parametrize(("field", "value"), [
    ("fee_kind", "water"), ("fee_kind", None), ("period", "2026-13"), ("period", "26"),
    ("period", "2026-1"), ("period", "1999"), ("households_billed", -1),
    ("households_billed", 100_001), ("households_billed", True), ("households_billed", 1.0),
    ("amount_billed_fen", -5), ("amount_billed_fen", 2**53), ("amount_billed_fen", "100"),
    ("colour", "red"),
])
def test_a_value_outside_its_list_or_range_is_invalid_and_named(field: str, value: object
                                                                 ) -> None:
    with pytest.raises(InvalidEventData) as refused:
        clean_data("FeePeriodOpened", {**OPEN, field: value})
    assert field in refused.value.errors


@pytest.mark.parametrize("day", ["2026-02-30", "2026-2-1", "1999-12-31", "", 20260101])
def test_a_collection_day_must_be_a_real_date(day: object) -> None:
    with pytest.raises(InvalidEventData) as refused:
        clean_data("FeesCollected", {**collected(1, 1), "day": day})
    assert "day" in refused.value.errors


@pytest.mark.parametrize(("period", "day", "ok"), [
    ("2026-03", "2019-01-01", False), ("2026-03", "2026-03-31", True),
    ("2026-03", "2026-04-05", True), ("2026-03", "2025-03-01", True),
    ("2026-03", "2025-02-28", False), ("2026-03", "2029-03-31", True),
    ("2026-03", "2029-04-01", False), ("2026", "2029-12-31", True), ("2026", "2030-01-01", False),
])
def test_a_collection_day_lies_near_its_period(period: str, day: str, ok: bool) -> None:
    data = {**collected(1, 1), "period": period, "day": day}
    if ok:
        assert clean_data("FeesCollected", data)["day"] == day
        return
    with pytest.raises(InvalidEventData) as refused:
        clean_data("FeesCollected", data)
    assert list(refused.value.errors) == ["day"]


def test_an_unknown_event_type_is_invalid() -> None:
    with pytest.raises(InvalidEventData):
        clean_data("FeesForgiven", OPEN)


def test_a_period_opens_once_and_before_anything_else() -> None:
    ledger = FeeLedger()
    with pytest.raises(RuleViolated):
        ledger.decide("FeesCollected", collected(1, 1))
    ledger = ledger.apply("FeePeriodOpened", {**OPEN, "compound_id": "JT",
                                              "community_id": "C1"})
    with pytest.raises(RuleViolated):
        ledger.decide("FeePeriodOpened", OPEN)


def test_refunds_never_exceed_what_was_collected() -> None:
    ledger = FeeLedger().apply("FeePeriodOpened", {**OPEN, "compound_id": "JT"})
    ledger = ledger.apply("FeesCollected", collected(10, 120_000))
    ledger.decide("FeesRefunded", {"households": 10, "amount_fen": 120_000})
    with pytest.raises(RuleViolated, match="households"):
        ledger.decide("FeesRefunded", {"households": 11, "amount_fen": 0})
    with pytest.raises(RuleViolated, match="amount"):
        ledger.decide("FeesRefunded", {"households": 0, "amount_fen": 120_001})


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("provider_kind", [None, "property_company", "owners_committee"])
def test_the_recorders_table_decides_every_role_and_provider(
    role: Role, provider_kind: str | None,
) -> None:
    allowed = RECORDERS.get(role, frozenset())
    may = "any" in allowed or provider_kind in allowed
    if may:
        check_recorder(role, provider_kind)
    else:
        with pytest.raises(PermissionDenied):
            check_recorder(role, provider_kind)
    # practices.md: the community always; a provider only for the compounds it serves.
    expected = role is Role.COMMUNITY or (provider_kind is not None and role.value == provider_kind)
    assert may == expected


def test_households_paid_is_collected_minus_refunded_at_most_billed() -> None:
    ledger = FeeLedger().apply("FeePeriodOpened", {**OPEN, "compound_id": "JT"})
    ledger = ledger.apply("FeesCollected", collected(90, 90 * 12_000))
    ledger = ledger.apply("FeesCollected", collected(20, 20 * 12_000))  # arrears paid too
    ledger = ledger.apply("FeesRefunded", {"households": 5, "amount_fen": 5 * 12_000})
    figure = FeeFigure.of(ledger)
    assert figure.households_paid == 96
    assert figure.collection_rate == 1.0
    assert figure.amount_paid_fen == 96 * 12_000
    assert figure.amount_refunded_fen == 5 * 12_000


def test_a_community_rate_is_paid_over_billed_never_a_mean_of_rates() -> None:
    small = FeeLedger(compound_id="JT", community_id="C1", fee_kind="sanitation",
                      period="2026", opened=True, households_billed=10,
                      households_collected=10, amount_billed_fen=100, amount_collected_fen=100)
    large = FeeLedger(compound_id="JX", community_id="C1", fee_kind="property",
                      period="2026", opened=True, households_billed=90,
                      households_collected=45, amount_billed_fen=900, amount_collected_fen=450)
    [community] = grouped([small, large], ["community"])
    assert community["group"] == {"community_id": "C1"}
    assert community["collection_rate"] == 55 / 100
    assert community["amount_rate"] == 550 / 1000
    [nothing] = grouped([FeeLedger(compound_id="LH", opened=True)], ["compound"])
    assert nothing["collection_rate"] is None
    with pytest.raises(ValueError, match="grid"):
        grouped([small], ["grid"])
