"""The red/black list as read (红黑榜查询): one month's figures for a reader.

``month_rows`` reads the month's orders and ratings from the providers' read model
(projections/providers.py) and computes metrics.md's figures with the pure functions of
domain/providers/figures.py. Ranks and lists are always those of the whole street (a
reader's scope and filters select the rows and the orders counted in them, never the
ranking: metrics.md). Each row is a plain dict in api.md's shape, with ``street`` and
``street_score`` (the score the rank was given on) beside it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from domain.directory.model import Level
from domain.directory.view import DirectoryView
from domain.model import Actor
from domain.providers.attribution import order_provider
from domain.providers.config import ProviderRules
from domain.providers.figures import Figures, Month, month_table, order_figures
from domain.providers.orders import Order
from domain.storage import Database
from projections.providers import position, stored_orders, stored_ratings


@dataclass(frozen=True)
class ProviderMonth:
    """The answer of ``GET /stats/providers``: rows, and the read model's position."""

    month: str
    position: int
    providers: list[dict[str, Any]]


def served_in(view: DirectoryView, month: Month) -> dict[str, set[str]]:
    """Provider -> the compounds it served on at least one day of the month."""
    served: dict[str, set[str]] = {}
    for unit in view.of_level(Level.COMPOUND):
        timeline = sorted(unit.providers, key=lambda entry: entry[0])
        for n, (start, provider) in enumerate(timeline):
            following = timeline[n + 1][0] if n + 1 < len(timeline) else None
            if provider and start <= month.last_day and (
                following is None or following > month.first_day
            ):
                served.setdefault(provider, set()).add(unit.code)
    return served


def street_of(view: DirectoryView, compound: str) -> str | None:
    for code in view.ancestors(compound):
        unit = view.get(code)
        if unit is not None and unit.level is Level.STREET:
            return code
    return None


def attributor(view: DirectoryView) -> Callable[[Order], str | None]:
    """An order's provider: its stamp, or the directory's attribution (docs/adr/0092)."""
    def attribute(order: Order) -> str | None:
        if order.stamped:
            return order.provider
        at = datetime.fromtimestamp(order.dispatched_at / 1_000_000, UTC)
        return order_provider(view, order.compound, order.assignee_role, at)

    return attribute


def month_rows(
    db: Database,
    view: DirectoryView,
    month_name: str,
    reader: Actor,
    rules: ProviderRules,
    compounds: Iterable[str] | None = None,
    communities: Iterable[str] | None = None,
) -> ProviderMonth:
    """The month's rows for a reader (resolved by the directory), optionally narrowed to
    compounds and communities (codes outside the reader's scope select nothing)."""
    month = Month.of(month_name)
    at = position(db)
    projected = db.has_table("proj_provider_orders")  # none before its first run: no rows
    orders = stored_orders(db, [month_name]) if projected else []
    ratings = ({p: s for (p, _m), s in stored_ratings(db, month_name).items()}
               if projected else {})
    served = served_in(view, month)
    attribute = attributor(view)
    providers = [u.code for u in view.of_level(Level.PROVIDER)]
    charged = {o.order_id: attribute(o) for o in orders}

    def home(code: str) -> str | None:
        places = served.get(code) or {o.compound for o in orders if charged[o.order_id] == code}
        streets = sorted((s for s in (street_of(view, c) for c in places) if s), key=str)
        return max(streets, key=streets.count) if streets else None

    table = month_table(orders, month, providers, lambda o: charged[o.order_id], ratings,
                        home, rules)
    selected = _selected(view, reader, compounds, communities)
    rows: list[dict[str, Any]] = []
    for code in sorted(table):
        if reader.provider is not None and code != reader.provider:
            continue
        ranked = table[code]
        own = [o for o in orders if charged[o.order_id] == code]
        places = served.get(code, set()) | {o.compound for o in own}
        if selected is not None:
            places &= selected
            if not places:
                continue
            own = [o for o in own if o.compound in selected]
            figures = order_figures(code, own, month, rules, ranked.community_rating)
        else:
            figures = ranked
        unit = view.get(code)
        rows.append(_row(figures, ranked, unit.name if unit else None,
                         unit.kind if unit else None, sorted(places), home(code)))
    return ProviderMonth(month_name, at, rows)


def _selected(view: DirectoryView, reader: Actor, compounds: Iterable[str] | None,
              communities: Iterable[str] | None) -> set[str] | None:
    """The compounds whose orders count: the reader's scope and the filters (None: all)."""
    every = {u.code for u in view.of_level(Level.COMPOUND)}
    chosen: set[str] | None = None
    if not reader.is_district_wide:
        chosen = {c for c in every
                  if reader.covers(c, view.community_of(c) or "")} | set(reader.compounds)
    wanted = set(compounds or ())
    for community in communities or ():
        wanted |= {c for c in every if view.community_of(c) == community}
    if compounds or communities:
        chosen = wanted if chosen is None else chosen & wanted
    return chosen


def _ratio(count: int, of: int) -> dict[str, int]:
    return {"count": count, "of": of}


def _row(f: Figures, ranked: Figures, name: str | None, kind: str | None,
         compounds: list[str], street: str | None) -> dict[str, Any]:
    return {
        "provider": f.provider, "name": name, "kind": kind, "compounds": compounds,
        "orders": f.orders,
        "taken_on_time_rate": f.taken_on_time.rate,
        "taken_on_time": _ratio(f.taken_on_time.count, f.taken_on_time.of),
        "completed_on_time_rate": f.completed_on_time.rate,
        "completed_on_time": _ratio(f.completed_on_time.count, f.completed_on_time.of),
        "supervision_pass_rate": f.supervision_passed.rate,
        "supervisions_passed": _ratio(f.supervision_passed.count, f.supervision_passed.of),
        "reopen_rate": f.reopened.rate,
        "reopened": _ratio(f.reopened.count, f.reopened.of),
        "overdue_open": f.overdue_open,
        "satisfaction_rate": f.satisfied.rate,
        "satisfied": _ratio(f.satisfied.count, f.satisfied.of),
        "community_rating": f.community_rating,
        "score": f.score,
        "rank": ranked.rank,
        "list": ranked.list,
        "street": street,
        "street_score": ranked.score,
    }


#: The CSV columns of ``GET /stats/providers?format=csv`` (English names, api.md).
CSV_COLUMNS: tuple[str, ...] = (
    "provider", "name", "kind", "compounds", "orders", "taken_on_time", "taken_on_time_of",
    "taken_on_time_rate", "completed_on_time", "completed_on_time_of",
    "completed_on_time_rate", "supervisions_passed", "supervisions", "supervision_pass_rate",
    "reopened", "closed", "reopen_rate", "overdue_open", "satisfied", "ratings",
    "satisfaction_rate", "community_rating", "score", "rank", "list", "street",
    "street_score",
)


def csv_cells(row: dict[str, Any]) -> list[Any]:
    """One row's cells in ``CSV_COLUMNS`` order."""
    def pair(key: str) -> list[Any]:
        return [row[key]["count"], row[key]["of"]]

    return [
        row["provider"], row["name"], row["kind"], " ".join(row["compounds"]), row["orders"],
        *pair("taken_on_time"), row["taken_on_time_rate"], *pair("completed_on_time"),
        row["completed_on_time_rate"], *pair("supervisions_passed"),
        row["supervision_pass_rate"], *pair("reopened"), row["reopen_rate"],
        row["overdue_open"], *pair("satisfied"), row["satisfaction_rate"],
        row["community_rating"], row["score"], row["rank"], row["list"], row["street"],
        row["street_score"],
    ]
