"""What each generation's rows were made with, and bringing an older generation up to date.

A generation's case rows depend on two things besides the events: the Unicode tables that
folded its titles (projections/textfold.py) and the rule its support counts follow
(``SUPPORT_RULE``). ``proj_shape`` records both per generation. A generation made by an
older yishi (no row here) or under other Unicode tables is brought up to date in place when
a process first opens the store: the folded titles are added or recomputed (``upgrade_text``,
from the titles in the rows, no events needed). docs/adr/0060-text-folding.md says why.
"""

from __future__ import annotations

from domain.storage import Cursor, Database
from projections.textfold import UNICODE_VERSION, fold

#: 1: every ReportMerged adds one; 2: a merged duplicate brings its own count (ADR 0062).
SUPPORT_RULE = 2


def _table(db: Database) -> str:
    return db.table("proj_shape")


def create_table(db: Database, cur: Cursor) -> None:
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {_table(db)} (generation INTEGER PRIMARY KEY,"
        " unicode TEXT NOT NULL, support INTEGER NOT NULL)"
    )


def record(db: Database, cur: Cursor, generation: int) -> None:
    """A fresh generation: made with this process's tables and rules."""
    create_table(db, cur)
    cur.execute(
        f"INSERT INTO {_table(db)} (generation, unicode, support) VALUES (%s, %s, %s)"
        " ON CONFLICT (generation) DO UPDATE SET unicode = excluded.unicode,"
        " support = excluded.support",
        (generation, UNICODE_VERSION, SUPPORT_RULE),
    )


def forget(db: Database, cur: Cursor, generation: int) -> None:
    cur.execute(f"DELETE FROM {_table(db)} WHERE generation = %s", (generation,))


def of(db: Database, cur: Cursor, generation: int) -> tuple[str, int] | None:
    """(unicode, support rule) the generation was made with; None: made before this table."""
    row = cur.execute(
        f"SELECT unicode, support FROM {_table(db)} WHERE generation = %s", (generation,)
    ).fetchone()
    return None if row is None else (str(row[0]), int(row[1]))


def _has_column(db: Database, cur: Cursor, table: str, column: str) -> bool:
    if db.dialect == "postgres":
        row = cur.execute(
            "SELECT 1 FROM pg_attribute WHERE attrelid = to_regclass(%s) AND attname = %s"
            " AND NOT attisdropped", (table, column),
        ).fetchone()
        return row is not None
    name = table.strip('"').split('"."')[-1]
    return any(r[1] == column for r in cur.execute(f'PRAGMA table_info("{name}")').fetchall())


def upgrade_text(db: Database, cur: Cursor, generation: int, table: str) -> int:
    """Add or recompute the generation's folded titles if they were made otherwise; the
    number of rows folded again (0 when up to date)."""
    known = of(db, cur, generation)
    if known is not None and known[0] == UNICODE_VERSION:
        return 0
    if not _has_column(db, cur, table, "title_folded"):
        cur.execute(f"ALTER TABLE {table} ADD COLUMN title_folded TEXT NOT NULL DEFAULT ''")
    rows = cur.execute(f"SELECT case_id, title FROM {table}").fetchall()
    cur.executemany(
        f"UPDATE {table} SET title_folded = %s WHERE case_id = %s",
        [(fold(str(title)), case_id) for case_id, title in rows],
    )
    support = 1 if known is None else known[1]
    cur.execute(
        f"INSERT INTO {_table(db)} (generation, unicode, support) VALUES (%s, %s, %s)"
        " ON CONFLICT (generation) DO UPDATE SET unicode = excluded.unicode",
        (generation, UNICODE_VERSION, support),
    )
    return len(rows)


def add_grid(db: Database, cur: Cursor, table: str) -> bool:
    """Give a generation made before grids (docs/adr/0115) its nullable ``grid`` column;
    True when added. Null is right for every row it had: its cases' events were recorded
    before the server stamped grids (a case stamped since is folded with its grid by a
    rebuild, ``yishi projections rebuild``, or when its next event arrives)."""
    if _has_column(db, cur, table, "grid"):
        return False
    cur.execute(f"ALTER TABLE {table} ADD COLUMN grid TEXT")
    return True
