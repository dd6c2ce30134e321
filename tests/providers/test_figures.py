"""The figures, the score and the lists exactly as metrics.md defines them (pure)."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.providers.config import DEFAULT_WEIGHTS, ProviderRules
from domain.providers.figures import Figures, Month, Ratio, measures, rank_street, score

RULES = ProviderRules()


def worked_example() -> Figures:
    """metrics.md: 12 orders, 11 taken on time, 9 of 10 completed on time, 8 of 9
    supervisions passed, 1 of 9 closed cases reopened, 30 of 33 ratings satisfied, 1
    overdue open, no community rating."""
    return Figures(provider="LC", orders=12, taken_on_time=Ratio(11, 12),
                   completed_on_time=Ratio(9, 10), supervision_passed=Ratio(8, 9),
                   reopened=Ratio(1, 9), overdue_open=1, satisfied=Ratio(30, 33))


def test_the_worked_example_of_metrics_md_scores_90_3() -> None:
    figures = worked_example()
    shown = [round(m, 3) if m is not None else None for m in measures(figures)]
    assert shown == [0.917, 0.900, 0.889, 0.889, 0.909, 0.917, None]
    assert score(figures, RULES) == 90.3


def test_a_community_rating_counts_with_its_weight() -> None:
    rated = replace(worked_example(), community_rating=60)
    expected = (0.1375 + 0.2250 + 0.15 * 8 / 9 + 0.10 * 8 / 9 + 0.20 * 30 / 33
                + 0.05 * 11 / 12 + 0.10 * 0.60)
    assert score(rated, RULES) == pytest.approx(round(100 * expected, 1), abs=0.051)


def test_a_month_without_any_measure_has_no_score() -> None:
    assert score(Figures(provider="X"), RULES) is None


def test_only_a_rating_makes_the_score_the_rating() -> None:
    assert score(Figures(provider="X", community_rating=77), RULES) == 77.0


def test_the_default_weights_are_metrics_md_s() -> None:
    assert DEFAULT_WEIGHTS == (0.15, 0.25, 0.15, 0.10, 0.20, 0.05, 0.10)
    with pytest.raises(ValueError, match="sum to 1"):
        ProviderRules(weights=(0.5,) * 7)


def _f(code: str, orders: int, value: float) -> Figures:
    return Figures(provider=code, orders=orders, score=value)


def test_a_provider_with_fewer_than_five_orders_is_listed_not_ranked() -> None:
    rows = rank_street([_f("A", 4, 99.0), _f("B", 5, 95.0), _f("C", 30, 50.0)], RULES)
    by = {f.provider: f for f in rows}
    assert by["A"].rank is None
    assert by["A"].list is None
    assert (by["B"].rank, by["B"].list) == (1, "red")
    assert (by["C"].rank, by["C"].list) == (2, "black")


def test_ties_go_to_more_orders_then_the_code() -> None:
    rows = rank_street([_f("B", 6, 80.0), _f("A", 6, 80.0), _f("C", 9, 80.0)], RULES)
    assert sorted((f.rank, f.provider) for f in rows) == [(1, "C"), (2, "A"), (3, "B")]


def test_red_is_the_top_three_at_90_and_black_the_bottom_three_below_70() -> None:
    scores = {"A": 99.0, "B": 95.0, "C": 91.0, "D": 90.0, "E": 80.0, "F": 69.9, "G": 60.0,
              "H": 50.0, "I": 40.0}
    rows = {f.provider: f for f in rank_street([_f(c, 10, s) for c, s in scores.items()],
                                                RULES)}
    assert {c for c, f in rows.items() if f.list == "red"} == {"A", "B", "C"}
    assert {c for c, f in rows.items() if f.list == "black"} == {"G", "H", "I"}
    few = {f.provider: f.list for f in rank_street([_f("A", 10, 89.9), _f("B", 10, 70.0)],
                                                    RULES)}
    assert few == {"A": None, "B": None}


def test_thresholds_and_list_size_come_from_the_configuration() -> None:
    rules = ProviderRules(red_min=80, black_below=95, list_size=1)
    rows = {f.provider: f.list for f in rank_street(
        [_f("A", 10, 99.0), _f("B", 10, 90.0), _f("C", 10, 85.0)], rules)}
    assert rows == {"A": "red", "B": None, "C": "black"}


def test_months_are_china_time_and_outcomes_count_to_the_end_of_the_next_month() -> None:
    month = Month.of("2026-12")
    assert (month.first_day, month.last_day) == ("2026-12-01", "2026-12-31")
    assert month.cutoff - month.end == 31 * 86_400_000_000  # January 2027
    assert month.end - month.start == 31 * 86_400_000_000


ratios = st.integers(0, 50).flatmap(lambda of: st.tuples(st.integers(0, of), st.just(of)))


@given(orders=st.integers(0, 60), taken=ratios, done=ratios, sup=ratios, reopen=ratios,
       sat=ratios, overdue=st.integers(0, 60), rating=st.none() | st.integers(0, 100))
def test_a_score_lies_from_0_to_100_and_leaves_out_what_has_no_denominator(
    orders: int, taken: tuple[int, int], done: tuple[int, int], sup: tuple[int, int],
    reopen: tuple[int, int], sat: tuple[int, int], overdue: int, rating: int | None,
) -> None:
    figures = Figures(provider="P", orders=orders, taken_on_time=Ratio(*taken),
                      completed_on_time=Ratio(*done), supervision_passed=Ratio(*sup),
                      reopened=Ratio(*reopen), overdue_open=min(overdue, orders),
                      satisfied=Ratio(*sat), community_rating=rating)
    value = score(figures, RULES)
    present = [(m, w) for m, w in zip(measures(figures), RULES.weights, strict=True)
               if m is not None]
    if not present:
        assert value is None
        return
    assert value is not None
    assert 0 <= value <= 100
    expected = 100 * sum(m * w for m, w in present) / sum(w for _, w in present)
    assert abs(value - expected) <= 0.05 + 1e-9


@given(st.lists(st.tuples(st.integers(0, 20), st.integers(0, 1000)), max_size=12))
def test_ranks_are_a_permutation_ordered_by_score_then_orders_then_code(
    entries: list[tuple[int, int]],
) -> None:
    rows = [_f(f"P{n:02d}", orders, tenths / 10) for n, (orders, tenths) in enumerate(entries)]
    ranked = sorted((f for f in rank_street(rows, RULES) if f.rank is not None),
                    key=lambda f: f.rank or 0)
    assert [f.rank for f in ranked] == list(range(1, len(ranked) + 1))
    assert all(f.orders >= RULES.min_orders for f in ranked)
    keys = [(-(f.score or 0), -f.orders, f.provider) for f in ranked]
    assert keys == sorted(keys)
    reds = [f for f in ranked if f.list == "red"]
    blacks = [f for f in ranked if f.list == "black"]
    assert len(reds) <= 3
    assert len(blacks) <= 3
    assert all((f.score or 0) >= 90 for f in reds)
    assert all((f.score or 0) < 70 for f in blacks)
