"""The audit trail (审计轨迹): every event in global order, filtered, keyset pages, CSV.

Split out of projections/queries.py, which re-exports ``audit``, ``audit_csv`` and
``AUDIT_FIELDS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime
from typing import Any

from domain.application import Cases
from domain.csvcells import csv_line
from domain.summaries import one_line
from projections import store
from projections.fold import us
from projections.scope import (
    EVERYTHING,
    QueryError,
    Scope,
    Where,
    count_rows,
    iso_time,
    known,
    read_freshness,
)

AUDIT_FIELDS = ("position", "case_id", "version", "type", "step_before", "step_after",
                "actor_id", "actor_role", "recorded_at", "summary", "prev_hash", "hash")


def _audit_where(
    scope: Scope,
    case_id: str | None,
    actor_id: str | None,
    actor_role: str | Sequence[str] | None,
    event_type: str | Sequence[str] | None,
    from_: datetime | None,
    to: datetime | None,
) -> Where:
    where = Where()
    where.scope(scope)
    if case_id is not None:
        where.add("case_id = %s", str(case_id))
    if actor_id is not None:
        where.add("actor_id = %s", actor_id)
    where.any_of("actor_role", known("role", actor_role))
    where.any_of("type", known("type", event_type))
    if from_ is not None:
        where.add("recorded_at >= %s", us(from_))
    if to is not None:
        where.add("recorded_at < %s", us(to))
    return where


def _audit_dict(row: Sequence[Any]) -> dict[str, Any]:
    return {
        "position": row[0], "case_id": row[1], "version": row[2], "type": row[3],
        "step_before": row[4], "step_after": row[5],
        "actor": {"id": row[6], "role": row[7]},
        # One line, also when stored by a version that let line breaks through.
        "recorded_at": iso_time(row[8]), "summary": one_line(row[9]), "prev_hash": row[10],
        "hash": row[11],
    }


def audit(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    case_id: str | None = None,
    actor_id: str | None = None,
    actor_role: str | Sequence[str] | None = None,
    event_type: str | Sequence[str] | None = None,
    from_: datetime | None = None,
    to: datetime | None = None,
    after: int = 0,
    limit: int = 100,
    count_limit: int | None = None,
) -> dict[str, Any]:
    """The audit trail (审计轨迹) in global order, from after ``after`` (keyset paging).

    ``from_``/``to`` bound the recorded time, [from_, to). ``next_after`` is the position to
    ask for the next page, None on the last page; ``count`` counts every matching row, or
    no further than ``count_limit`` (then ``count_exact`` says whether it is all of them,
    projections.scope.count_rows).
    """
    if not 1 <= limit <= 1000:
        raise QueryError("limit must be from 1 to 1000")
    where = _audit_where(scope, case_id, actor_id, actor_role, event_type, from_, to)
    store.ensure_base(cases.db)
    with cases.db.transaction() as cur:
        generation, position = read_freshness(cases, cur)
        table = store.audit_table(cases.db, generation)
        count, exact = count_rows(cur, table, where, count_limit)
        page = Where()
        page.parts, page.params = [*where.parts, "position > %s"], [*where.params, after]
        rows = cur.execute(
            f"SELECT {', '.join(AUDIT_FIELDS)} FROM {table}{page.sql} ORDER BY position"
            " LIMIT %s",
            [*page.params, limit + 1],
        ).fetchall()
    more = len(rows) > limit
    rows = rows[:limit]
    answer = {
        "position": position, "head": cases.head_position(),
        "data": [_audit_dict(r) for r in rows], "count": count,
        "limit": limit, "after": after,
        "next_after": rows[-1][0] if more and rows else None,
    }
    if count_limit is not None:
        answer["count_exact"] = exact
    return answer


def audit_csv(
    cases: Cases,
    scope: Scope = EVERYTHING,
    *,
    page_size: int = 1000,
    **filters: Any,
) -> Iterator[str]:
    """The audit trail as CSV lines (a header row first), read page by page. The filters are
    checked before the first line (QueryError), so a refusal is never half a download."""
    _audit_where(scope, *(filters.get(name) for name in (
        "case_id", "actor_id", "actor_role", "event_type", "from_", "to")))
    return _audit_lines(cases, scope, page_size, filters)


def _audit_lines(
    cases: Cases, scope: Scope, page_size: int, filters: dict[str, Any]
) -> Iterator[str]:
    yield csv_row(AUDIT_FIELDS)
    after = int(filters.pop("after", 0) or 0)
    filters.pop("limit", None)
    while True:
        result = audit(cases, scope, after=after, limit=page_size, **filters)
        for row in result["data"]:
            yield csv_row([
                row["position"], row["case_id"], row["version"], row["type"],
                row["step_before"] or "", row["step_after"], row["actor"]["id"],
                row["actor"]["role"], row["recorded_at"], row["summary"], row["prev_hash"],
                row["hash"],
            ])
        if result["next_after"] is None:
            return
        after = result["next_after"]


def csv_row(values: Iterable[Any]) -> str:
    """One CSV record on one line: every cell of these exports is a one-line value, and
    goes through the one helper that keeps formulas out (domain/csvcells.py)."""
    return csv_line(one_line(v) if isinstance(v, str) else v for v in values)

