"""Ledgers on the real stores: balances equal a plain fold and never go below zero."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import Cases
from domain.model import Actor, Role
from domain.points import BalanceTooLow, NotReversible, Participant
from domain.points.ledger import fold_balance
from tests.conftest import People

STAFF = People.community
Op = tuple[str, int]

operations = st.lists(st.one_of(
    st.tuples(st.just("hours"), st.integers(1, 24)),
    st.tuples(st.just("redeem"), st.integers(1, 60)),
    st.tuples(st.just("reverse"), st.integers(0, 20)),
), max_size=14)


def register(app: Cases, name: str = "张三", **extra: Any) -> Participant:
    return app.points.register(STAFF, {"compound_id": "JX", "kinds": ["resident"],
                                       "name": name, **extra})


def ledger_fold(app: Cases, participant: Participant) -> int:
    return fold_balance([(type(e).__name__, e.data)
                         for _p, e in app.points.history(participant.id)])


def apply(app: Cases, participant: Participant, ops: list[Op]) -> None:
    """Apply the operations; refusals record nothing; the balance is the fold each time."""
    awards: list[int] = []
    model = 0
    for kind, value in ops:
        before = app.points.get(participant.id, STAFF).version
        try:
            if kind == "hours":
                _p, version = app.points.record(participant.id, STAFF, "PointsAwarded",
                                                {"rule": "volunteer_hours", "hours": value})
                awards.append(version)
                model += 2 * value
            elif kind == "redeem":
                app.points.record(participant.id, STAFF, "PointsRedeemed",
                                  {"reward": "菜市场代金券", "points": value})
                model -= value
            else:
                version = awards[value % len(awards)] if awards else 2
                app.points.record(participant.id, STAFF, "PointsReversed",
                                  {"award_version": version, "reason": "重复登记"})
                model -= _points(app, participant, version)
        except (BalanceTooLow, NotReversible):
            assert app.points.get(participant.id, STAFF).version == before
        now = app.points.get(participant.id, STAFF)
        assert now.balance == ledger_fold(app, participant) == model
        assert now.balance >= 0


def _points(app: Cases, participant: Participant, version: int) -> int:
    return next(int(e.data["points"]) for _p, e in app.points.history(participant.id)
                if e.originator_version == version)


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_balances_are_the_fold_of_the_ledger_and_never_negative(
    kind: str, app_factory: Callable[[str], Cases], request: pytest.FixtureRequest
) -> None:
    app = app_factory(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url"))

    @settings(max_examples=20, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(ops=operations)
    def check(ops: list[Op]) -> None:
        apply(app, register(app), ops)

    check()


def test_a_redemption_beyond_the_balance_is_refused_with_the_balance(app: Cases) -> None:
    participant = register(app)
    app.points.record(participant.id, STAFF, "PointsAwarded",
                      {"rule": "volunteer_hours", "hours": 3})
    with pytest.raises(BalanceTooLow) as refused:
        app.points.record(participant.id, STAFF, "PointsRedeemed",
                          {"reward": "物业费抵扣", "points": 7})
    assert (refused.value.balance, refused.value.points) == (6, 7)


def test_a_reversal_of_spent_points_or_of_no_award_is_refused(app: Cases) -> None:
    participant = register(app)
    _p, award = app.points.record(participant.id, STAFF, "PointsAwarded",
                                  {"rule": "volunteer_hours", "hours": 5})
    app.points.record(participant.id, STAFF, "PointsRedeemed", {"reward": "券", "points": 4})
    with pytest.raises(BalanceTooLow):
        app.points.record(participant.id, STAFF, "PointsReversed",
                          {"award_version": award, "reason": "误记"})
    with pytest.raises(NotReversible):
        app.points.record(participant.id, STAFF, "PointsReversed",
                          {"award_version": award + 1, "reason": "误记"})


def test_only_community_staff_record_points(app: Cases) -> None:
    participant = register(app)
    for role in (Role.RESIDENT, Role.GRID_WORKER, Role.ADMIN, Role.PROPERTY_COMPANY):
        with pytest.raises(Exception, match="may not record"):
            app.points.record(participant.id, Actor("x", role, frozenset({"JX"})),
                              "PointsRedeemed", {"reward": "券", "points": 1})


def test_ledger_streams_verify_like_cases(app: Cases) -> None:
    participant = register(app)
    app.points.record(participant.id, STAFF, "PointsAwarded",
                      {"rule": "volunteer_hours", "hours": 2})
    report = app.verify(participant.id)
    assert report.valid
    assert report.events == 2
    assert all(r.valid for r in app.verify_all())
