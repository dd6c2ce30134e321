"""The fee figures' read model equals a plain fold, through SQLite and PostgreSQL.

Hypothesis draws fee commands (openings, collections, refunds; some refused), records them
through the application on a real store, and checks after each batch that the read model,
caught up incrementally and rebuilt from scratch, gives exactly the collection and amount
rates an independent model computes from metrics.md's definitions."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from domain.application import Cases
from domain.errors import RuleViolated
from domain.fees import FeePeriod
from domain.model import Actor, Role
from projections.fees import FeeProjection, FeeQuery, fee_figures, fold
from projections.queries import EVERYTHING, Scope

STAFF = Actor("community-all", Role.COMMUNITY, communities=frozenset({"C1", "C2"}))
COMPOUNDS = {"JX": "C1", "JT": "C1", "LH": "C1", "HY": "C2"}

commands = st.lists(st.tuples(
    st.sampled_from(["FeePeriodOpened", "FeesCollected", "FeesCollected", "FeesRefunded"]),
    st.sampled_from(sorted(COMPOUNDS)),
    st.sampled_from(["property", "sanitation"]),
    st.sampled_from(["2026", "2026-01", "2026-02"]),
    st.integers(0, 60), st.integers(0, 50_000),
), max_size=25)


class Model:
    """metrics.md's figures from plain sums (independent of domain/fees)."""

    def __init__(self) -> None:
        self.periods: dict[tuple[str, str, str], dict[str, int]] = {}

    def expect(self, kind: str, key: tuple[str, str, str], n: int, fen: int) -> bool:
        """Apply the command if the rules allow it; False when they refuse it."""
        period = self.periods.get(key)
        if kind == "FeePeriodOpened":
            if period is not None:
                return False
            self.periods[key] = {"billed": n, "billed_fen": fen, "got": 0, "got_fen": 0,
                                 "back": 0, "back_fen": 0}
            return True
        if period is None:
            return False
        if kind == "FeesCollected":
            period["got"] += n
            period["got_fen"] += fen
            return True
        if period["back"] + n > period["got"] or period["back_fen"] + fen > period["got_fen"]:
            return False
        period["back"] += n
        period["back_fen"] += fen
        return True

    def rates(self, by: Callable[[tuple[str, str, str]], Any]) -> dict[Any, tuple[Any, ...]]:
        sums: dict[Any, list[int]] = {}
        for key, p in self.periods.items():
            paid = min(max(p["got"] - p["back"], 0), p["billed"])
            paid_fen = min(max(p["got_fen"] - p["back_fen"], 0), p["billed_fen"])
            s = sums.setdefault(by(key), [0, 0, 0, 0, 0])
            for i, v in enumerate((p["billed"], paid, p["billed_fen"], paid_fen, p["back_fen"])):
                s[i] += v
        return {k: (s[0], s[1], s[1] / s[0] if s[0] else None, s[2], s[3] / s[2] if s[2]
                    else None, s[4]) for k, s in sums.items()}


def _answer(payload: dict[str, Any], keys: tuple[str, ...]) -> dict[Any, tuple[Any, ...]]:
    return {tuple(g["group"][k] for k in keys): (
        g["households_billed"], g["households_paid"], g["collection_rate"],
        g["amount_billed_fen"], g["amount_rate"], g["amount_refunded_fen"])
        for g in payload["groups"]}


@pytest.fixture
def state() -> Iterator[dict[str, Any]]:
    """The store, model and live read model one test's examples share (dropped after it,
    before app_factory closes the store)."""
    shared: dict[str, Any] = {}
    yield shared
    shared.clear()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
@settings(max_examples=30, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=commands)
def test_collection_rates_equal_a_plain_fold_incrementally_and_rebuilt(
    kind: str, batch: list[tuple[str, str, str, str, int, int]],
    app_factory: Callable[[str], Cases], request: pytest.FixtureRequest,
    state: dict[str, Any],
) -> None:
    if "app" not in state:  # one store per test; the model follows it across examples
        url = request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url")
        state["app"] = app_factory(url)
        state["model"] = Model()
        state["live"] = FeeProjection(state["app"])
    app: Cases = state["app"]
    model: Model = state["model"]
    for event_type, compound, fee_kind, period, n, fen in batch:
        data: dict[str, Any] = {"fee_kind": fee_kind, "period": period}
        if event_type == "FeePeriodOpened":
            data |= {"households_billed": n, "amount_billed_fen": fen}
        else:
            data |= {"households": n, "amount_fen": fen}
        if event_type == "FeesCollected":
            data["day"] = "2026-02-03"
        allowed = model.expect(event_type, (compound, fee_kind, period), n, fen)
        if allowed:
            app.fees.record(compound, event_type, data, STAFF)
        else:
            with pytest.raises(RuleViolated):
                app.fees.record(compound, event_type, data, STAFF)
    live: FeeProjection = state["live"]
    rebuilt = FeeProjection(app)
    rebuilt.rebuild()
    events = [e for e in (app.mapper.to_domain_event(n) for n in
                          app.recorder.select_notifications(start=1, limit=100_000))
              if isinstance(e, FeePeriod.Event)]
    assert live.catch_up() == rebuilt.position == app.head_position()
    assert live.ledgers() == rebuilt.ledgers() == fold(events)
    for keys, by in (
        (("compound_id", "fee_kind", "period"), lambda k: k),
        (("community_id",), lambda k: (COMPOUNDS[k[0]],)),
        (("community_id", "period"), lambda k: (COMPOUNDS[k[0]], k[2])),
        (("fee_kind",), lambda k: (k[1],)),
    ):
        group_by = tuple(k.removesuffix("_id") for k in keys)
        for projection in (live, rebuilt):
            payload = fee_figures(projection, EVERYTHING, FeeQuery(group_by=group_by))
            assert _answer(payload, keys) == model.rates(by)
    # A reader of community C2 sees its compound only.
    scoped = fee_figures(live, Scope(communities=frozenset({"C2"})),
                         FeeQuery(group_by=("compound",)))
    assert {g["group"]["compound_id"] for g in scoped["groups"]} <= {"HY"}
