"""Ordering and cursors of the case list (分页游标): one order on both stores, keyset pages.

The case list is ordered by one sort key, then by case id, both in the direction asked;
rows without a value of the key (a closed case has no deadline) come last in both
directions. ``order_by`` writes that order so that SQLite and PostgreSQL agree: missing
values by ``IS NULL`` (no dialect's default), case ids compared byte for byte
(``COLLATE "C"`` on PostgreSQL, SQLite's own ``BINARY``).

A cursor names the last row of a page: the sort, that row's value of the key and its id,
as unpadded base64url JSON. The next page is the rows after it in the order (``after``),
which stays right while writers append: a row is neither repeated nor skipped, unless its
own sort value changes between pages (reported_at never does; updated_at, position,
deadline and support_count can, and such a row may then move past the cursor).
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

#: Sort names of the case list and the column each orders by.
CASE_SORTS = {
    "reported_at": "reported_at",
    "updated_at": "updated_at",
    "deadline": "deadline",
    "support_count": "support_count",
    "position": "last_position",
}
#: Sort columns that are never NULL (NOT NULL in the case table, projections/store.py): for
#: them "rows without a value last" is no condition at all, and is not written, so that
#: PostgreSQL walks the column's index (top-N rows) instead of sorting every row.
NOT_NULL = frozenset({"reported_at", "updated_at", "support_count", "last_position"})


class CursorError(ValueError):
    """A cursor that this list did not give out (or for another sort); the message says so."""


@dataclass(frozen=True)
class Order:
    """A sort of the case list: its name as asked (``-`` for descending) and its column."""

    sort: str
    column: str
    descending: bool

    @classmethod
    def of(cls, sort: str) -> Order:
        descending = sort.startswith("-")
        column = CASE_SORTS.get(sort.removeprefix("-"))
        if column is None:
            raise CursorError(
                f"sort must be one of {', '.join(CASE_SORTS)} (with - for descending)"
            )
        return cls(sort, column, descending)

    def _id(self, dialect: str) -> str:
        return 'case_id COLLATE "C"' if dialect == "postgres" else "case_id"

    def order_by(self, dialect: str) -> str:
        direction = "DESC" if self.descending else "ASC"
        missing_last = "" if self.column in NOT_NULL else f"{self.column} IS NULL, "
        return (f" ORDER BY {missing_last}{self.column} {direction},"
                f" {self._id(dialect)} {direction}")

    def after(self, dialect: str, value: int | None, case_id: str) -> tuple[str, list[Any]]:
        """The SQL condition (and its parameters) of the rows after (value, case_id)."""
        beyond = "<" if self.descending else ">"
        column, ident = self.column, self._id(dialect)
        if value is None:
            return f"({column} IS NULL AND {ident} {beyond} %s)", [case_id]
        missing = "" if column in NOT_NULL else f"{column} IS NULL OR "
        return (f"({missing}{column} {beyond} %s"
                f" OR ({column} = %s AND {ident} {beyond} %s))", [value, value, case_id])

    def cursor(self, value: int | None, case_id: str) -> str:
        raw = json.dumps([self.sort, value, case_id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def read(self, cursor: str) -> tuple[int | None, str]:
        """The (value, case id) a cursor of this sort names; CursorError otherwise."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            sort, value, case_id = json.loads(raw)
        except (ValueError, TypeError, binascii.Error):
            raise CursorError("after is not a cursor of the case list (give next_after)"
                              ) from None
        if sort != self.sort:
            raise CursorError(f"after is a cursor of sort {sort!r}, not {self.sort!r}")
        if not isinstance(case_id, str) or not (
            value is None or (isinstance(value, int) and not isinstance(value, bool))
        ):
            raise CursorError("after is not a cursor of the case list (give next_after)")
        return value, case_id
