"""The case list (案件列表): filtered, sorted, paginated reads of the case table.

Split out of projections/queries.py, which re-exports ``list_cases``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from domain.application import Cases
from projections import store, textfold
from projections.fold import us
from projections.paging import CursorError, Order
from projections.scope import (
    EVERYTHING,
    QueryError,
    Scope,
    Where,
    as_list,
    count_rows,
    iso_time,
    known,
    read_freshness,
)


def list_cases(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    step: str | Sequence[str] | None = None,
    status: str | None = None,
    resolution: str | Sequence[str] | None = None,
    compound: str | Sequence[str] | None = None,
    community: str | Sequence[str] | None = None,
    category: str | Sequence[str] | None = None,
    channel: str | Sequence[str] | None = None,
    overdue: bool | None = None,
    text: str | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    sort: str = "-reported_at",
    limit: int = 50,
    offset: int = 0,
    after: str | None = None,
    now: datetime | None = None,
    count_limit: int | None = None,
) -> dict[str, Any]:
    """The case list (案件列表): filtered, sorted, paginated; ``overdue`` is computed at now.

    ``sort`` is a column (reported_at, updated_at, deadline, support_count, position),
    ``-`` in front for descending; ties are broken by case id. ``text`` is found in the
    title when both are folded alike (``projections.textfold.fold``: NFKC, case folding,
    default-ignorable characters removed). ``from_``/``to`` bound the reported time.

    Rows without a value of the sort key come last in both directions, on both stores
    (projections/paging.py). Pages: ``after`` (the ``next_after`` of the page before, an
    opaque cursor of the sort value and id of its last row) gives the rows after it, stable
    while writers append; ``offset`` jumps to a row number, which shifts when rows are
    added before it. ``count`` is every row the filters select; ``next_after`` is None on
    the last page. ``count_limit``: count no further than that (the pages' cheaper count,
    projections.scope.count_rows); the answer then says ``count_exact``, and ``count`` is
    the limit when there are more.
    """
    if not 1 <= limit <= 1000:
        raise QueryError("limit must be from 1 to 1000")
    if offset < 0:
        raise QueryError("offset must be 0 or more")
    if after is not None and offset:
        raise QueryError("give after or offset, not both")
    try:
        order = Order.of(sort)
        cursor = None if after is None else order.read(after)
    except CursorError as error:
        raise QueryError(str(error)) from None
    now_us = us(now if now is not None else cases.clock.now())
    where = _list_where(cases, scope, now_us, step=step, status=status, resolution=resolution,
                        compound=compound, community=community, category=category,
                        channel=channel, overdue=overdue, text=text, from_=from_, to=to)
    dialect = cases.db.dialect
    page = Where()
    page.parts, page.params = list(where.parts), list(where.params)
    if cursor is not None:
        page.add(*_after(order, dialect, *cursor))
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        generation, position = read_freshness(cases, cur)
        table = store.cases_table(cases.db, generation)
        count, exact = count_rows(cur, table, where, count_limit)
        rows = cur.execute(
            "SELECT case_id, version, step, status, resolution, compound_id, community_id, title,"
            " category, channel, assignee, assignee_role, reported_at, updated_at, closed_at,"
            " deadline, support_count, reopen_count, last_position,"
            f" {order.column} AS sort_value FROM {table}{page.sql}{order.order_by(dialect)}"
            " LIMIT %s OFFSET %s",
            [*page.params, limit + 1, offset],
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    data = []
    for r in rows:
        deadline = r[15]
        data.append({
            "id": r[0], "version": r[1], "step": r[2], "status": r[3], "resolution": r[4],
            "compound_id": r[5], "community_id": r[6], "title": r[7], "category": r[8],
            "channel": r[9], "assignee": r[10], "assignee_role": r[11],
            "reported_at": iso_time(r[12]), "updated_at": iso_time(r[13]),
            "closed_at": iso_time(r[14]),
            "deadline": iso_time(deadline), "overdue": deadline is not None and now_us > deadline,
            "support_count": r[16], "reopen_count": r[17], "position": r[18],
        })
    last = rows[-1] if more and rows else None
    answer = {"position": position, "head": cases.head_position(), "data": data,
              "count": count, "limit": limit, "offset": offset, "after": after,
              "next_after": None if last is None else order.cursor(last[19], last[0])}
    if count_limit is not None:
        answer["count_exact"] = exact
    return answer


def _list_where(
    cases: Cases,
    scope: Scope,
    now_us: int,
    *,
    step: str | Sequence[str] | None,
    status: str | None,
    resolution: str | Sequence[str] | None,
    compound: str | Sequence[str] | None,
    community: str | Sequence[str] | None,
    category: str | Sequence[str] | None,
    channel: str | Sequence[str] | None,
    overdue: bool | None,
    text: str | None,
    from_: datetime | None,
    to: datetime | None,
) -> Where:
    """The case list's filters as SQL (``list_cases`` says what each means)."""
    if status is not None and status not in ("open", "closed"):
        raise QueryError("status must be open or closed", "status", ("open", "closed"))
    where = Where()
    where.scope(scope)
    where.any_of("step", known("step", step))
    if status is not None:
        where.add("status = %s", status)
    where.any_of("resolution", known("resolution", resolution))
    where.any_of("compound_id", as_list(compound))
    where.any_of("community_id", as_list(community))
    where.any_of("category", known("category", category))
    where.any_of("channel", known("channel", channel))
    if overdue is True:
        where.add("deadline IS NOT NULL AND deadline < %s", now_us)
    elif overdue is False:
        where.add("(deadline IS NULL OR deadline >= %s)", now_us)
    needle = textfold.fold(text) if text else ""
    if needle:
        # The stored fold contains the query's: code point for code point on both stores.
        find = "strpos" if cases.db.dialect == "postgres" else "instr"
        where.add(f"{find}(title_folded, %s) > 0", needle)
    if from_ is not None:
        where.add("reported_at >= %s", us(from_))
    if to is not None:
        where.add("reported_at < %s", us(to))
    return where


def _after(order: Order, dialect: str, value: int | None, case_id: str) -> tuple[Any, ...]:
    sql, params = order.after(dialect, value, case_id)
    return (sql, *params)

