"""Orders name their provider: set by the server from the directory (docs/adr/0092)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from domain.errors import InvalidEventData, OutOfScope, PermissionDenied
from domain.model import Actor, Role
from domain.providers.config import ProviderRules
from domain.providers.figures import Month
from domain.providers.service import ProviderRecorded
from projections.provider_figures import month_rows
from projections.providers import ProviderProjection
from tests.conftest import People
from tests.providers.helpers import (
    GD,
    LC,
    STREET,
    WK,
    YW,
    dispatch,
    finish,
    register_providers,
    to_implement,
)


@pytest.fixture
def app(app_factory: Callable[[str], Cases], sqlite_url: str) -> Cases:
    return register_providers(app_factory(sqlite_url))


def test_an_order_names_the_provider_of_its_kind_serving_the_compound(
    app: Cases, clock: ManualClock
) -> None:
    assert dispatch(app, to_implement(app, clock, "JX"), "JX")["provider_code"] == "LC"
    assert dispatch(app, to_implement(app, clock, "LH"), "LH")["provider_code"] == "GD"
    # An order to an owners' committee is never charged to the compound's company ...
    data = dispatch(app, to_implement(app, clock, "JX"), "JX", role="owners_committee")
    assert data["provider_code"] is None
    # ... and one to the community is nobody's; a compound with no provider gives none.
    assert dispatch(app, to_implement(app, clock, "JX"), "JX",
                    role="community")["provider_code"] is None
    assert dispatch(app, to_implement(app, clock, "JT"), "JX")["provider_code"] is None
    assert dispatch(app, to_implement(app, clock, "HY"), "HY",
                    role="owners_committee")["provider_code"] == "YW"


def test_a_body_naming_another_provider_is_refused(app: Cases, clock: ManualClock) -> None:
    case_id = to_implement(app, clock, "JX")
    with pytest.raises(InvalidEventData) as refused:
        dispatch(app, case_id, "JX", provider_code="GD")
    assert "provider_code" in refused.value.errors
    assert app.get_case(case_id).assignment is None
    assert dispatch(app, case_id, "JX", provider_code="LC")["provider_code"] == "LC"


def test_a_provider_records_only_the_implementation_of_its_own_orders(
    app: Cases, clock: ManualClock
) -> None:
    jx = to_implement(app, clock, "JX")
    dispatch(app, jx, "JX")
    with pytest.raises(OutOfScope):  # GD's credential covers the compounds GD serves
        app.record(jx, "ImplementationAccepted", {}, GD)
    finish(app, clock, jx, "JX", LC)
    hy = to_implement(app, clock, "HY")
    dispatch(app, hy, "HY", role="owners_committee")
    finish(app, clock, hy, "HY", YW)
    assert app.get_case(hy).resolution == "resolved"


def _replace(app: Cases, compound: str, successor: str, day: str) -> ProviderRecorded:
    return app.providers.record(successor, "ProviderAssigned",
                                {"compound": compound, "from": day}, STREET)


def test_a_replacement_mid_month_splits_the_month_between_old_and_new(
    app: Cases, clock: ManualClock
) -> None:
    clock.set(datetime(2026, 5, 3, 2, tzinfo=UTC))
    before = [to_implement(app, clock, "LH") for _ in range(2)]
    for case_id in before:
        dispatch(app, case_id, "LH")
    _replace(app, "LH", "WK", "2026-05-15")
    clock.set(datetime(2026, 5, 14, 15, 59, tzinfo=UTC))  # 23:59 on the 14th, China time
    late = to_implement(app, clock, "LH")
    assert dispatch(app, late, "LH")["provider_code"] == "GD"
    clock.set(datetime(2026, 5, 15, 1, tzinfo=UTC))
    after = to_implement(app, clock, "LH")
    assert dispatch(app, after, "LH")["provider_code"] == "WK"
    # After the replacement the old provider no longer takes the compound's new orders.
    with pytest.raises(PermissionDenied):
        app.record(after, "ImplementationAccepted", {}, GD)
    finish(app, clock, after, "LH", WK)
    finish(app, clock, late, "LH", GD)
    ProviderProjection(app).catch_up()
    rows = {r["provider"]: r for r in month_rows(
        app.db, app.directory.refresh(), "2026-05", People.admin, _rules()).providers}
    assert rows["GD"]["orders"] == 3
    assert rows["WK"]["orders"] == 1
    assert rows["GD"]["completed_on_time"] == {"count": 1, "of": 1}
    assert set(rows["GD"]["compounds"]) == {"LH"}
    assert set(rows["WK"]["compounds"]) == {"LH"}


def test_orders_from_before_the_stamp_are_attributed_where_provider_from_reaches(
    app: Cases, clock: ManualClock
) -> None:
    """An order stored without ``provider_code`` (as before issue 13) is charged by the
    directory as it is now: to the provider serving then, else to nobody."""
    clock.set(datetime(2026, 6, 10, 2, tzinfo=UTC))
    case_id = to_implement(app, clock, "LH")
    case = app.get_case(case_id)
    data = {"assignee_role": "property_company", "assignee": "旧单",
            "due_at": (clock.now() + timedelta(days=3)).isoformat()}
    case.record("ImplementationAssigned", data, People.community, clock.now())
    app.save(case)
    before_any = to_implement(app, clock, "JT")  # JT has no provider at all
    case = app.get_case(before_any)
    case.record("ImplementationAssigned", data, People.community, clock.now())
    app.save(case)
    assert "provider_code" not in app.get_case(case_id).assignment  # type: ignore[operator]
    # The provider's credential may take the attributed old order.
    app.record(case_id, "ImplementationAccepted", {}, GD)
    ProviderProjection(app).catch_up()
    rows = {r["provider"]: r for r in month_rows(
        app.db, app.directory.refresh(), "2026-06", People.admin, _rules()).providers}
    assert rows["GD"]["orders"] == 1
    assert rows["GD"]["taken_on_time"]["count"] == 1
    assert sum(r["orders"] for r in rows.values()) == 1


def test_the_street_role_rates_summons_and_replaces_and_a_community_rates_its_own(
    app: Cases, clock: ManualClock
) -> None:
    summons = app.providers.record("GD", "ProviderSummoned", {
        "date": "2026-04-02", "reason": "满意率连续两月低于70%", "outcome": "限期整改"}, STREET)
    assert summons.version == 2  # opened by ProviderRegistered in the same transaction
    replaced = app.providers.record("WK", "ProviderAssigned", {
        "compound": "LH", "from": "2026-05-01", "summons_version": 2}, STREET)
    assert replaced.data["reason"] == {"summons": {"provider": "GD", "version": 2}}
    app.providers.record("LC", "ProviderRated", {"month": "2026-04", "score": 88},
                         People.community)
    with pytest.raises(PermissionDenied):  # C2's community rates no provider of C1
        app.providers.record("LC", "ProviderRated", {"month": "2026-04", "score": 10},
                             Actor("c2", Role.COMMUNITY, communities=frozenset({"C2"})))
    with pytest.raises(PermissionDenied):
        app.providers.record("GD", "ProviderSummoned", {"date": "2026-04-02", "reason": "x"},
                             People.community)
    with pytest.raises(PermissionDenied):  # a street beyond S1
        app.providers.record("LC", "ProviderSummoned", {"date": "2026-04-02", "reason": "x"},
                             Actor("s2", Role.STREET, units=frozenset({("street", "S2")})))
    with pytest.raises(InvalidEventData):
        app.providers.record("LC", "ProviderRated", {"month": "2026-13", "score": 101},
                             STREET)
    assert [type(e).__name__ for e in app.providers.history("GD")] == [
        "ProviderRegistered", "ProviderSummoned"]


def _rules() -> ProviderRules:
    return ProviderRules()


def test_month_bounds() -> None:
    assert Month.of("2026-05").last_day == "2026-05-31"
