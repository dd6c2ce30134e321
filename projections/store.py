"""Where the read models live: tables beside the events, in generations (读模型存储).

Each generation ``g`` is a set of tables, ``proj_cases_g{g}`` (one row per case: the case
list's columns and the per-case facts behind the figures), ``proj_audit_g{g}`` (one row
per event) and ``proj_cells_g{g}`` (one row per compound and month of report: what its
cases add to the figures, projections/cells.py). ``proj_generation`` holds the one
generation that queries read; ``proj_tracking`` holds each projection's position in the
global log, per generation. A rebuild fills a fresh generation and switches the pointer in
one transaction when it has caught up (docs/adr/0020-projections.md).

Every write of a batch happens in one transaction with the tracking rows, which are
locked first: a batch is applied exactly once, also with two runners or after a crash.
"""

from __future__ import annotations

import functools
import json
import weakref
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import orjson

from domain.storage import Cursor, Database
from projections import shape
from projections.cells import Cell, cell_changes
from projections.fold import AUDIT_COLUMNS, LIST_FIELDS, AuditRow, CaseFacts
from projections.textfold import fold

PROJECTIONS: tuple[str, ...] = ("cases", "audit")

CASE_COLUMNS: tuple[str, ...] = (
    "case_id", "version", "step", "status", "resolution", "compound_id", "community_id",
    "category", "channel", "title", "assignee", "assignee_role", "reported_at", "updated_at",
    "closed_at", "step_entered_at", "deadline", "support_count", "reopen_count",
    "first_response_at", "last_position", "closures", "visits", "loops", "ratings", "state",
    "title_folded", "grid",
)


def cases_table(db: Database, generation: int) -> str:
    return db.table(f"proj_cases_g{generation}")


def audit_table(db: Database, generation: int) -> str:
    return db.table(f"proj_audit_g{generation}")


def cells_table(db: Database, generation: int) -> str:
    return db.table(f"proj_cells_g{generation}")


def _big(db: Database) -> str:
    return "BIGINT" if db.dialect == "postgres" else "INTEGER"


#: Databases whose base tables are known to exist (checked once per process).
_READY: weakref.WeakSet[Database] = weakref.WeakSet()


def ensure_base(db: Database) -> None:
    """Create the pointer and tracking tables, and generation 1, on first use."""
    if db in _READY:
        return
    _create_base(db)
    _READY.add(db)


def has_base(db: Database) -> bool:
    """Whether the pointer table exists (the store was ever projected); creates nothing."""
    return db in _READY or db.has_table("proj_generation")


def _create_base(db: Database) -> int:
    big = _big(db)
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (db.table("proj"),))
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('proj_generation')} "
            "(id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)"
        )
        cur.execute(
            f"CREATE TABLE IF NOT EXISTS {db.table('proj_tracking')} (generation INTEGER NOT "
            f"NULL, projection TEXT NOT NULL, position {big} NOT NULL, "
            "PRIMARY KEY (generation, projection))"
        )
        shape.create_table(db, cur)
        row = cur.execute(
            f"SELECT generation FROM {db.table('proj_generation')} WHERE id = 1"
        ).fetchone()
        if row is not None:
            generations = cur.execute(
                f"SELECT DISTINCT generation FROM {db.table('proj_tracking')}"
            ).fetchall()
            for (generation,) in generations:
                shape.upgrade_text(db, cur, int(generation), cases_table(db, int(generation)))
                shape.add_grid(db, cur, cases_table(db, int(generation)))
            return int(row[0])
        _create_generation(db, cur, 1)
        cur.execute(f"INSERT INTO {db.table('proj_generation')} VALUES (1, 1)")
        return 1


def _create_generation(
    db: Database, cur: Cursor, generation: int, *, indexes: bool = True
) -> None:
    big = _big(db)
    cases = cases_table(db, generation)
    audit = audit_table(db, generation)
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {cases} (case_id TEXT PRIMARY KEY, version INTEGER NOT NULL,"
        " step TEXT NOT NULL, status TEXT NOT NULL, resolution TEXT, compound_id TEXT NOT NULL,"
        " community_id TEXT NOT NULL, category TEXT NOT NULL, channel TEXT NOT NULL,"
        " title TEXT NOT NULL, assignee TEXT, assignee_role TEXT,"
        f" reported_at {big} NOT NULL, updated_at {big} NOT NULL, closed_at {big},"
        f" step_entered_at {big} NOT NULL, deadline {big}, support_count INTEGER NOT NULL,"
        f" reopen_count INTEGER NOT NULL, first_response_at {big}, last_position {big} NOT NULL,"
        " closures TEXT NOT NULL, visits TEXT NOT NULL, loops TEXT NOT NULL,"
        " ratings TEXT NOT NULL, state TEXT NOT NULL, title_folded TEXT NOT NULL, grid TEXT)"
    )
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {audit} (position {big} PRIMARY KEY, case_id TEXT NOT NULL,"
        " version INTEGER NOT NULL, type TEXT NOT NULL, step_before TEXT, step_after TEXT NOT"
        " NULL, actor_id TEXT NOT NULL, actor_role TEXT NOT NULL,"
        f" recorded_at {big} NOT NULL, summary TEXT NOT NULL, prev_hash TEXT NOT NULL,"
        " hash TEXT NOT NULL, compound_id TEXT NOT NULL, community_id TEXT NOT NULL)"
    )
    blob = "BYTEA" if db.dialect == "postgres" else "BLOB"
    cells = cells_table(db, generation)
    cur.execute(
        f"CREATE TABLE IF NOT EXISTS {cells} (compound_id TEXT NOT NULL, community_id TEXT NOT"
        f" NULL, month TEXT NOT NULL, ids {blob} NOT NULL, cases {blob} NOT NULL,"
        f" stays {blob} NOT NULL, settled {big} NOT NULL, exact INTEGER NOT NULL,"
        f" version {big} NOT NULL, PRIMARY KEY (compound_id, community_id, month))"
    )
    if db.dialect == "postgres":
        # The arrays are numbers that do not compress: store them out of line, uncompressed.
        for column in ("ids", "cases", "stays"):
            cur.execute(f"ALTER TABLE {cells} ALTER COLUMN {column} SET STORAGE EXTERNAL")
    if indexes:
        create_indexes(db, cur, generation)
    shape.record(db, cur, generation)
    for projection in PROJECTIONS:
        cur.execute(
            f"INSERT INTO {db.table('proj_tracking')} (generation, projection, position) "
            "VALUES (%s, %s, 0) ON CONFLICT (generation, projection) DO NOTHING",
            (generation, projection),
        )


def create_indexes(db: Database, cur: Cursor, generation: int) -> None:
    """The indexes the queries use (a rebuild creates them once it has caught up)."""
    cases = cases_table(db, generation)
    audit = audit_table(db, generation)
    suffix = f"g{generation}"
    for table, name, columns in (
        (cases, f"proj_cases_{suffix}_compound", "compound_id, reported_at"),
        (cases, f"proj_cases_{suffix}_community", "community_id, reported_at"),
        (cases, f"proj_cases_{suffix}_reported", "reported_at"),
        (cases, f"proj_cases_{suffix}_step", "step"),
        # ?overdue=true: the open cases past their deadline, without reading every row.
        (cases, f"proj_cases_{suffix}_deadline", "deadline"),
        (audit, f"proj_audit_{suffix}_case", "case_id, version"),
        (audit, f"proj_audit_{suffix}_actor", "actor_id, position"),
        (audit, f"proj_audit_{suffix}_time", "recorded_at"),
    ):
        cur.execute(f'CREATE INDEX IF NOT EXISTS "{name}" ON {table} ({columns})')


def current_generation(db: Database, cur: Cursor | None = None) -> int:
    sql = f"SELECT generation FROM {db.table('proj_generation')} WHERE id = 1"
    if cur is not None:
        row = cur.execute(sql).fetchone()
        assert row is not None
        return int(row[0])
    return int(db.execute(sql)[0][0])


def new_generation(db: Database, *, indexes: bool = True) -> int:
    """Create the tables of a fresh generation (one more than any so far) and return it."""
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (db.table("proj"),))
        row = cur.execute(
            f"SELECT MAX(generation) FROM {db.table('proj_tracking')}"
        ).fetchone()
        generation = int(row[0] or 0) + 1 if row else 1
        _create_generation(db, cur, generation, indexes=indexes)
        return generation


def switch_generation(db: Database, cur: Cursor, generation: int) -> list[int]:
    """Point the queries at ``generation`` and drop all others but the one it replaces."""
    previous = current_generation(db, cur)
    cur.execute(
        f"UPDATE {db.table('proj_generation')} SET generation = %s WHERE id = 1", (generation,)
    )
    stale = [
        int(g)
        for (g,) in cur.execute(
            f"SELECT DISTINCT generation FROM {db.table('proj_tracking')}"
            " WHERE generation <> %s AND generation <> %s",
            (generation, previous),
        ).fetchall()
    ]
    for old in stale:
        drop_generation(db, cur, old)
    return stale


def drop_generation(db: Database, cur: Cursor, generation: int) -> None:
    cur.execute(f"DROP TABLE IF EXISTS {cells_table(db, generation)}")
    cur.execute(f"DROP TABLE IF EXISTS {cases_table(db, generation)}")
    cur.execute(f"DROP TABLE IF EXISTS {audit_table(db, generation)}")
    shape.forget(db, cur, generation)
    cur.execute(
        f"DELETE FROM {db.table('proj_tracking')} WHERE generation = %s", (generation,)
    )


def lock_positions(db: Database, cur: Cursor, generation: int) -> dict[str, int]:
    """Lock the generation's tracking rows (taking the write lock first) and read them."""
    tracking = db.table("proj_tracking")
    cur.execute(
        f"UPDATE {tracking} SET position = position WHERE generation = %s", (generation,)
    )
    rows = cur.execute(
        f"SELECT projection, position FROM {tracking} WHERE generation = %s", (generation,)
    ).fetchall()
    return {str(name): int(position) for name, position in rows}


def positions(db: Database, generation: int | None = None) -> tuple[int, dict[str, int]]:
    """The generation (current by default) and each projection's position, without locking."""
    with db.transaction() as cur:
        gen = current_generation(db, cur) if generation is None else generation
        rows = cur.execute(
            f"SELECT projection, position FROM {db.table('proj_tracking')} WHERE generation = %s",
            (gen,),
        ).fetchall()
    return gen, {str(name): int(position) for name, position in rows}


def set_positions(db: Database, cur: Cursor, generation: int, position: int) -> None:
    cur.execute(
        f"UPDATE {db.table('proj_tracking')} SET position = %s WHERE generation = %s",
        (position, generation),
    )


def load_facts(
    db: Database, cur: Cursor, generation: int, case_ids: Iterable[str]
) -> dict[str, CaseFacts]:
    """The stored facts of the given cases (those the generation has seen)."""
    ids = list(case_ids)
    found: dict[str, CaseFacts] = {}
    table = cases_table(db, generation)
    step = 500
    for i in range(0, len(ids), step):
        chunk = ids[i : i + step]
        columns = "case_id, state, closures, visits, loops, ratings"
        if db.dialect == "postgres":
            rows = cur.execute(
                f"SELECT {columns} FROM {table} WHERE case_id = ANY(%s)", (chunk,)
            ).fetchall()
        else:
            marks = ", ".join(["%s"] * len(chunk))
            rows = cur.execute(
                f"SELECT {columns} FROM {table} WHERE case_id IN ({marks})", chunk
            ).fetchall()
        found.update((f.case_id, f) for f in _facts(rows))
    return found


def _facts(rows: Iterable[Sequence[Any]]) -> list[CaseFacts]:
    """Case facts from rows of (case_id, state, closures, visits, loops, ratings)."""
    return [
        CaseFacts.from_state({
            **orjson.loads(state),
            **{name: orjson.loads(value) for name, value in zip(LIST_FIELDS, lists,
                                                                 strict=True)},
        })
        for _case_id, state, *lists in rows
    ]


def _case_row(facts: CaseFacts) -> tuple[Any, ...]:
    return (
        facts.case_id, facts.version, facts.step, facts.status, facts.resolution,
        facts.compound_id, facts.community_id, facts.category, facts.channel, facts.title,
        facts.assignee, facts.assignee_role, facts.reported_at, facts.updated_at,
        facts.closed_at, facts.step_entered_at, facts.deadline, facts.support_count,
        facts.reopen_count, facts.first_response_at, facts.last_position,
        _json(facts.closures), _json(facts.visits), _json(facts.loops), _json(facts.ratings),
        _json(facts.to_state()), _folded(facts.title), facts.grid,
    )


@functools.lru_cache(maxsize=16_384)
def _folded(title: str) -> str:
    """A title's fold, remembered: a case's row is written once per batch that touches it,
    its title never changes, and folding costs some 4 us (a rebuild's hot path)."""
    return fold(title)


def _json(value: Any) -> str:
    """Compact JSON with non-ASCII as is, by orjson (4-5 times faster than ``json``); a text
    orjson refuses (a lone surrogate, which the catalogue lets through) goes to ``json``."""
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def write_batch(
    db: Database,
    cur: Cursor,
    generation: int,
    facts: Sequence[CaseFacts],
    audit: Sequence[AuditRow],
    position: int,
    cells: bool = True,
) -> None:
    """Persist one batch: the changed cases, the new audit rows and the new position
    (``cells``: False while a rebuild defers the figure cells to ``build_cells``)."""
    write_cases(db, cur, generation, facts)
    if audit:
        table = audit_table(db, generation)
        columns = ", ".join(AUDIT_COLUMNS)
        if db.dialect == "postgres":
            with cur.raw.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
                for row in audit:
                    copy.write_row(row.as_tuple())
        else:
            marks = ", ".join(["%s"] * len(AUDIT_COLUMNS))
            cur.executemany(
                f"INSERT INTO {table} ({columns}) VALUES ({marks})",
                [row.as_tuple() for row in audit],
            )
    if cells and facts and has_cells(db, cur, generation):
        write_cells(db, cur, generation, facts, position)
    set_positions(db, cur, generation, position)


def write_cases(db: Database, cur: Cursor, generation: int, facts: Sequence[CaseFacts]) -> None:
    """Upsert the case rows of these facts (their position is the caller's to write)."""
    if not facts:
        return
    table = cases_table(db, generation)
    columns = ", ".join(CASE_COLUMNS)
    updates = ", ".join(f"{c} = excluded.{c}" for c in CASE_COLUMNS[1:])
    upsert = f"ON CONFLICT (case_id) DO UPDATE SET {updates}"
    if db.dialect == "postgres":
        # COPY into a per-connection staging table, then one upsert statement.
        cur.execute(
            f"CREATE TEMP TABLE IF NOT EXISTS proj_cases_stage (LIKE {table})"
            " ON COMMIT DELETE ROWS"
        )
        with cur.raw.copy(f"COPY proj_cases_stage ({columns}) FROM STDIN") as copy:
            for f in facts:
                copy.write_row(_case_row(f))
        cur.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM proj_cases_stage "
            + upsert
        )
    else:
        marks = ", ".join(["%s"] * len(CASE_COLUMNS))
        cur.executemany(
            f"INSERT INTO {table} ({columns}) VALUES ({marks}) {upsert}",
            [_case_row(f) for f in facts],
        )


#: (database, generation) pairs known to have, or not to have, a cells table.
_CELLS: weakref.WeakKeyDictionary[Database, dict[int, bool]] = weakref.WeakKeyDictionary()


def has_cells(db: Database, cur: Cursor, generation: int) -> bool:
    """Whether the generation has figure cells (generations made before them do not)."""
    known = _CELLS.setdefault(db, {})
    if generation not in known:
        name = f"proj_cells_g{generation}"
        if db.dialect == "postgres":
            row = cur.execute("SELECT to_regclass(%s)", (db.table(name),)).fetchone()
            found = row is not None and row[0] is not None
        else:
            found = cur.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = %s", (name,)
            ).fetchone() is not None
        if not found:
            return False  # not remembered: a rebuild may create it
        known[generation] = True
    return known[generation]


CELL_COLUMNS = "compound_id, community_id, month, ids, cases, stays, settled, exact"


def binary_rows(
    db: Database, cur: Cursor, sql: str, params: Sequence[Any]
) -> list[tuple[Any, ...]]:
    """Rows as tuples; on PostgreSQL in binary, so that arrays arrive as bytes rather than
    as hexadecimal text to parse."""
    if db.dialect == "postgres":
        return [tuple(r.values()) if isinstance(r, dict) else tuple(r)
                for r in cur.raw.execute(sql, params, binary=True).fetchall()]
    return cur.execute(sql, params).fetchall()


def load_cells(
    db: Database, cur: Cursor, generation: int, keys: Iterable[tuple[str, str, str]]
) -> dict[tuple[str, str, str], Cell]:
    """The stored cells of the given keys (compound, community, month); absent ones left out."""
    wanted = sorted(set(keys))
    found: dict[tuple[str, str, str], Cell] = {}
    table = cells_table(db, generation)
    step = 300
    for i in range(0, len(wanted), step):
        chunk = wanted[i : i + step]
        ors = " OR ".join(["(compound_id = %s AND community_id = %s AND month = %s)"] * len(chunk))
        rows = binary_rows(db, cur, f"SELECT {CELL_COLUMNS} FROM {table} WHERE {ors}",
                           [v for k in chunk for v in k])
        for compound, community, month, ids, cases, stays, settled, exact in rows:
            key = (str(compound), str(community), str(month))
            found[key] = Cell.decoded(key, ids, cases, stays, settled, exact)
    return found


def write_cells(
    db: Database, cur: Cursor, generation: int, facts: Sequence[CaseFacts], position: int
) -> None:
    """Fold the changed cases' contributions into their cells (one upsert per cell).

    A cell's ``version`` is the log position of the batch that last wrote it: readers that
    keep cells in memory (projections/queries.py) re-read a cell only when it changed.
    """
    changes = cell_changes(facts)
    stored = load_cells(db, cur, generation, changes)
    _upsert_cells(db, cur, generation, [
        (stored.get(key) or Cell(*key)).merged(parts) for key, parts in changes.items()
    ], position)


def build_cells(
    db: Database,
    cur: Cursor,
    generation: int,
    position: int,
    known: Mapping[str, CaseFacts] | None = None,
) -> int:
    """Fill a generation's cells from its cases' facts, compound by compound (a rebuild
    defers its cells to here: computed once per case instead of once per case per batch).
    ``known``: facts at hand (a rebuild's memory of the latest), read from the case rows
    for the others. Returns how many cells were written."""
    table = cases_table(db, generation)
    at_hand = known or {}
    by_compound: dict[str, list[str]] = {}
    for case_id, compound in cur.execute(f"SELECT case_id, compound_id FROM {table}").fetchall():
        by_compound.setdefault(str(compound), []).append(str(case_id))
    written = 0
    for ids in by_compound.values():
        facts = [at_hand[i] for i in ids if i in at_hand]
        if missing := [i for i in ids if i not in at_hand]:
            facts.extend(load_facts(db, cur, generation, missing).values())
        cells = [Cell(*key).merged(parts) for key, parts in cell_changes(facts).items()]
        _upsert_cells(db, cur, generation, cells, position)
        written += len(cells)
    return written


def _upsert_cells(
    db: Database, cur: Cursor, generation: int, cells: Sequence[Cell], position: int
) -> None:
    rows = [(*cell.key, *cell.encoded(), cell.settled, int(cell.exact), position)
            for cell in cells]
    marks = ", ".join(["%s"] * 9)
    cur.executemany(
        f"INSERT INTO {cells_table(db, generation)} ({CELL_COLUMNS}, version)"
        f" VALUES ({marks}) ON CONFLICT (compound_id, community_id, month) DO UPDATE SET"
        " ids = excluded.ids, cases = excluded.cases, stays = excluded.stays,"
        " settled = excluded.settled, exact = excluded.exact, version = excluded.version",
        rows,
    )
