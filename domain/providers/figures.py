"""The monthly figures of each provider, its score, its rank and the lists (红黑榜): pure.

Exactly metrics.md ("Providers: the red/black list"): over the orders dispatched to a
provider in the month (China time), their outcomes as of the end of the following month,
overdue open as of the month's end; the score is the weighted mean of the measures that
have a denominator, the weights of the others scaled up (docs/adr/0091-provider-score.md);
fewer than ``min_orders`` orders: listed, not ranked; ranks across the whole street, ties to
more orders, then the code; red: the top ``list_size`` ranked with score >= ``red_min``,
black: the bottom ``list_size`` ranked with score < ``black_below``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from domain.providers.attribution import CHINA
from domain.providers.config import ProviderRules
from domain.providers.orders import Order, micros

SATISFIED = frozenset({"satisfied", "basically_satisfied"})


@dataclass(frozen=True)
class Ratio:
    """A rate with its counts: ``count`` of ``of``; ``rate`` None when ``of`` is 0."""

    count: int = 0
    of: int = 0

    @property
    def rate(self) -> float | None:
        return self.count / self.of if self.of else None


@dataclass(frozen=True)
class Figures:
    """One provider's month (metrics.md's table). ``score`` 0-100 with one decimal, None
    when no measure has a denominator; ``rank`` and ``list`` are set by ``rank_street``."""

    provider: str
    orders: int = 0
    taken_on_time: Ratio = field(default_factory=Ratio)
    completed_on_time: Ratio = field(default_factory=Ratio)
    supervision_passed: Ratio = field(default_factory=Ratio)
    reopened: Ratio = field(default_factory=Ratio)
    overdue_open: int = 0
    satisfied: Ratio = field(default_factory=Ratio)
    community_rating: int | None = None
    score: float | None = None
    rank: int | None = None
    list: str | None = None


@dataclass(frozen=True)
class Month:
    """A month's bounds in microseconds: start, end (the next month's start) and the
    cutoff for outcomes (the end of the following month)."""

    name: str
    start: int
    end: int
    cutoff: int
    first_day: str
    last_day: str

    @classmethod
    def of(cls, name: str) -> Month:
        year, month = (int(part) for part in name.split("-"))

        def first(y: int, m: int) -> date:
            return date(y + (m - 1) // 12, (m - 1) % 12 + 1, 1)

        def at(d: date) -> int:
            return micros(datetime(d.year, d.month, d.day, tzinfo=CHINA))

        start, end, cutoff = first(year, month), first(year, month + 1), first(year, month + 2)
        last = date.fromordinal(end.toordinal() - 1)
        return cls(name, at(start), at(end), at(cutoff), start.isoformat(), last.isoformat())


def order_figures(provider: str, orders: Iterable[Order], month: Month, rules: ProviderRules,
                  community_rating: int | None = None) -> Figures:
    """The figures of one provider over its orders dispatched in ``month``."""
    limit = int(rules.acceptance_hours * 3_600_000_000)
    cutoff = month.cutoff
    n = taken = completed = completed_on_time = sup = sup_passed = 0
    closed = reopened = overdue = rated = satisfied = 0
    for o in orders:
        n += 1
        if o.accepted_at is not None and o.accepted_at - o.dispatched_at <= limit:
            taken += 1
        done = o.completed_at is not None and o.completed_at <= cutoff
        if done:
            completed += 1
            completed_on_time += o.completed_at <= o.due_at  # type: ignore[operator]
        for at, passed in o.supervisions:
            if at <= cutoff:
                sup += 1
                sup_passed += passed
        closings = [t for t in o.closings if t <= cutoff]
        if closings:
            closed += 1
            reopened += any(closings[0] < t <= cutoff for t in o.reopenings)
        open_at_end = (o.completed_at is None or o.completed_at >= month.end) and (
            o.superseded_at is None or o.superseded_at >= month.end)
        if o.due_at < month.end and open_at_end:
            overdue += 1
        latest: dict[str, str] = {}
        for at, resident, satisfaction in o.ratings:
            if at <= cutoff:
                latest[resident] = satisfaction
        rated += len(latest)
        satisfied += sum(1 for s in latest.values() if s in SATISFIED)
    figures = Figures(
        provider=provider, orders=n, taken_on_time=Ratio(taken, n),
        completed_on_time=Ratio(completed_on_time, completed),
        supervision_passed=Ratio(sup_passed, sup), reopened=Ratio(reopened, closed),
        overdue_open=overdue, satisfied=Ratio(satisfied, rated),
        community_rating=community_rating,
    )
    return replace(figures, score=score(figures, rules))


def measures(f: Figures) -> tuple[float | None, ...]:
    """The seven measures on a 0-1 scale in metrics.md's order (None: no denominator)."""
    reopen = f.reopened.rate
    return (
        f.taken_on_time.rate,
        f.completed_on_time.rate,
        f.supervision_passed.rate,
        None if reopen is None else 1 - reopen,
        f.satisfied.rate,
        1 - f.overdue_open / f.orders if f.orders else None,
        None if f.community_rating is None else f.community_rating / 100,
    )


def score(f: Figures, rules: ProviderRules) -> float | None:
    """100 x the weighted mean of the measures with a denominator, the weights of those
    left out scaled away; one decimal, rounded half up; None when none has one."""
    pairs = [(m, w) for m, w in zip(measures(f), rules.weights, strict=True) if m is not None]
    total = sum(w for _, w in pairs)
    if not pairs or total <= 0:
        return None
    value = 100 * sum(m * w for m, w in pairs) / total
    return int(value * 10 + 0.5 + 1e-9) / 10


def rank_street(figures: Iterable[Figures], rules: ProviderRules) -> list[Figures]:
    """Rank one street's providers and mark the lists; the unranked keep rank None.

    Ranked: at least ``min_orders`` orders and a score. Order: score (higher first), then
    more orders, then the code. Ranks are 1, 2, 3... in that order (a tie broken by the
    rules above still gets its own rank)."""
    rows = list(figures)
    ranked = sorted(
        (f for f in rows if f.orders >= rules.min_orders and f.score is not None),
        key=lambda f: (-(f.score or 0), -f.orders, f.provider),
    )
    marks: dict[str, tuple[int, str | None]] = {}
    red = {f.provider for f in ranked[: rules.list_size] if (f.score or 0) >= rules.red_min}
    bottom = ranked[::-1][: rules.list_size]
    black = {f.provider for f in bottom
             if (f.score or 0) < rules.black_below and f.provider not in red}
    for n, f in enumerate(ranked, start=1):
        marks[f.provider] = (n, "red" if f.provider in red else
                             "black" if f.provider in black else None)
    return [replace(f, rank=marks[f.provider][0], list=marks[f.provider][1])
            if f.provider in marks else f for f in rows]


def month_table(
    orders: Iterable[Order],
    month: Month,
    providers: Iterable[str],
    attribute: Callable[[Order], str | None],
    ratings: Mapping[str, int],
    street_of: Callable[[str], str | None],
    rules: ProviderRules,
) -> dict[str, Figures]:
    """Every provider's figures for the month, ranked within its street.

    ``orders``: any orders (those dispatched in the month are counted); ``providers``:
    the providers to list besides those with orders; ``attribute``: the provider an order
    is charged to; ``ratings``: the month's community rating by provider; ``street_of``: a
    provider's street (None: ranked with the others without one).
    """
    grouped: dict[str, list[Order]] = {code: [] for code in providers}
    for order in orders:
        if not month.start <= order.dispatched_at < month.end:
            continue
        code = attribute(order)
        if code is not None:
            grouped.setdefault(code, []).append(order)
    table = {code: order_figures(code, group, month, rules, ratings.get(code))
             for code, group in grouped.items()}
    streets: dict[str | None, list[Figures]] = {}
    for code, figures in table.items():
        streets.setdefault(street_of(code), []).append(figures)
    ranked: dict[str, Figures] = {}
    for rows in streets.values():
        for figures in rank_street(rows, rules):
            ranked[figures.provider] = figures
    return ranked
