"""What every read of the projections shares (读取的范围): the reader's scope, the filters'
values, the SQL conditions built from them, and how fresh the projections are.

Split out of projections/queries.py (which re-exports these names) so that each read model
(the figures, the figure cells, the case list, the audit trail) is a module of its own.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.application import Cases
from domain.catalogue import EVENT_TYPES, Category, Channel
from domain.model import Actor, Resolution, Role, Step
from domain.storage import Cursor
from projections import store
from projections.fold import from_us, us


class QueryError(ValueError):
    """A filter or parameter that cannot be used; the message names it, and for a value
    outside an enumeration ``field`` and ``allowed`` say which values it takes."""

    def __init__(self, message: str, field: str | None = None,
                 allowed: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.field = field
        self.allowed = tuple(allowed)


#: The values each enumerated filter takes (from the domain's own enumerations).
ENUMERATED: dict[str, tuple[str, ...]] = {
    "step": tuple(s.value for s in Step),
    "resolution": tuple(r.value for r in Resolution),
    "category": tuple(c.value for c in Category),
    "channel": tuple(c.value for c in Channel),
    "role": tuple(r.value for r in Role),
    "type": EVENT_TYPES,
}


def known(field: str, value: str | Sequence[str] | None) -> list[str]:
    """The values of an enumerated filter, each checked (QueryError listing the allowed)."""
    values = as_list(value)
    allowed = ENUMERATED[field]
    unknown = [v for v in values if v not in allowed]
    if unknown:
        raise QueryError(f"{field} {unknown[0]!r} is not one of {', '.join(allowed)}",
                         field, allowed)
    return values


@dataclass(frozen=True)
class Scope:
    """The compounds and communities a reader may see; both empty: everything."""

    compounds: frozenset[str] = field(default_factory=frozenset)
    communities: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(cls, actor: Actor) -> Scope:
        return cls(frozenset(actor.compounds), frozenset(actor.communities))

    @property
    def is_all(self) -> bool:
        return not self.compounds and not self.communities


EVERYTHING = Scope()


@dataclass(frozen=True)
class Filters:
    """Filters shared by the figures: the cohort of cases reported in [from_, to)."""

    compound: Sequence[str] = ()
    community: Sequence[str] = ()
    category: Sequence[str] = ()
    channel: Sequence[str] = ()
    from_: datetime | None = None
    to: datetime | None = None

    @classmethod
    def of(
        cls,
        compound: str | Sequence[str] | None,
        community: str | Sequence[str] | None,
        category: str | Sequence[str] | None,
        channel: str | Sequence[str] | None,
        from_: datetime | None,
        to: datetime | None,
    ) -> Filters:
        """From the figures' keyword arguments (each a value, several, or None). Categories
        and channels must be the catalogue's; compound and community codes select what they
        match within the reader's scope, nothing when unknown (no hint of what exists)."""
        return cls(as_list(compound), as_list(community), known("category", category),
                   known("channel", channel), from_, to)


class Where:
    def __init__(self) -> None:
        self.parts: list[str] = []
        self.params: list[Any] = []

    def add(self, sql: str, *params: Any) -> None:
        self.parts.append(sql)
        self.params.extend(params)

    def any_of(self, column: str, values: Iterable[str]) -> None:
        vals = list(values)
        if vals:
            self.add(f"{column} IN ({', '.join(['%s'] * len(vals))})", *vals)

    def scope(self, scope: Scope) -> None:
        if scope.is_all:
            return
        ors: list[str] = []
        params: list[Any] = []
        for column, values in (
            ("compound_id", scope.compounds),
            ("community_id", scope.communities),
        ):
            if values:
                ors.append(f"{column} IN ({', '.join(['%s'] * len(values))})")
                params.extend(sorted(values))
        self.add("(" + " OR ".join(ors) + ")", *params)

    @property
    def sql(self) -> str:
        return (" WHERE " + " AND ".join(self.parts)) if self.parts else ""


def as_list(value: str | Sequence[str] | None) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def read_freshness(cases: Cases, cur: Cursor) -> tuple[int, int]:
    """The generation queries read and how far it is (one round trip)."""
    db = cases.db
    row = cur.execute(
        f"SELECT g.generation, (SELECT MIN(t.position) FROM {db.table('proj_tracking')} t"
        f" WHERE t.generation = g.generation) FROM {db.table('proj_generation')} g"
        " WHERE g.id = 1"
    ).fetchone()
    assert row is not None, "ensure_base creates the pointer"
    return int(row[0]), int(row[1] or 0)


def freshness(cases: Cases) -> dict[str, int]:
    """``{"position", "head"}``: how far the projections are, and the log's head."""
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        _g, position = read_freshness(cases, cur)
    return {"position": position, "head": cases.head_position()}


def generation_position(cases: Cases) -> tuple[int, int]:
    """The generation queries read and its position (one statement): a key for what a
    reader may remember until an event moves the position (docs/adr/0083)."""
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        return read_freshness(cases, cur)


def iso_time(value: int | None) -> str | None:
    return None if value is None else from_us(value).isoformat()



def as_of_us(cases: Cases, as_of: datetime | None) -> int:
    return us(as_of if as_of is not None else cases.clock.now())



def count_rows(cur: Cursor, table: str, where: Where, bound: int | None) -> tuple[int, bool]:
    """How many rows of ``table`` the conditions select, and whether that is exact: every
    one when ``bound`` is None, else at most ``bound`` (a scan that stops after ``bound`` + 1
    rows; past it the answer is ``(bound, False)``, "more than bound"). The pages show such
    a count (docs/adr/0084-bounded-counts.md); the API counts exactly."""
    if bound is None:
        row = cur.execute(f"SELECT COUNT(*) FROM {table}{where.sql}", where.params).fetchone()
        return (int(row[0]) if row else 0), True
    if bound < 0:
        raise QueryError("count_limit must be 0 or more")
    row = cur.execute(
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {table}{where.sql} LIMIT %s) AS counted",
        [*where.params, bound + 1],
    ).fetchone()
    found = int(row[0]) if row else 0
    return (bound, False) if found > bound else (found, True)
