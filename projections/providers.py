"""The providers' read model (服务单位读模型): orders and their outcomes, monthly ratings.

A follower of the global log with its own tables and position, beside the case projections
(docs/adr/0093-provider-projection.md): ``proj_provider_orders`` (one row per order, its
dispatch month and compound, its facts as JSON, domain/providers/orders.py),
``proj_provider_cases`` (each case's compound and current order), ``proj_provider_ratings``
(the latest ``ProviderRated`` score per provider and month) and ``proj_provider_position``.
Each batch folds the events after the position and writes the changed rows and the new
position in one transaction, the position row locked first: exactly once, also with two
followers. ``rebuild`` empties the tables and folds the whole log again; the result equals
a plain fold of the raw events (tests/providers/test_projection.py).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import orjson

from domain.application import Cases
from domain.providers.model import Provider
from domain.providers.orders import FOLDED, CaseLink, Order, OrderBook, month_of
from domain.storage import Cursor, Database
from projections.runner import TOPIC_NAMES, decode

DEFAULT_BATCH = 2000
#: The stored topics this projection reads: the case events of the fold, and ratings.
TOPICS: tuple[str, ...] = (
    *(topic for topic, name in TOPIC_NAMES.items() if name in FOLDED),
    Provider.ProviderRated.TOPIC,
)


def _big(db: Database) -> str:
    return "BIGINT" if db.dialect == "postgres" else "INTEGER"


def ensure_tables(db: Database) -> None:
    """Create the tables and the position row on first use."""
    if db.has_table("proj_provider_position"):
        return
    big = _big(db)
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))",
                        (db.table("proj_provider"),))
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table('proj_provider_orders')} ("
                    " order_id TEXT PRIMARY KEY, month TEXT NOT NULL, compound TEXT NOT NULL,"
                    " state TEXT NOT NULL)")
        cur.execute(f"CREATE INDEX IF NOT EXISTS proj_provider_orders_month ON"
                    f" {db.table('proj_provider_orders')} (month)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table('proj_provider_cases')} ("
                    " case_id TEXT PRIMARY KEY, state TEXT NOT NULL)")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table('proj_provider_ratings')} ("
                    " provider TEXT NOT NULL, month TEXT NOT NULL, score INTEGER NOT NULL,"
                    f" position {big} NOT NULL, PRIMARY KEY (provider, month))")
        cur.execute(f"CREATE TABLE IF NOT EXISTS {db.table('proj_provider_position')} ("
                    f" id INTEGER PRIMARY KEY, position {big} NOT NULL)")
        cur.execute(f"INSERT INTO {db.table('proj_provider_position')} VALUES (1, 0)"
                    " ON CONFLICT (id) DO NOTHING")


def position(db: Database) -> int:
    """How far the providers' read model has folded the log (0 before its first batch)."""
    if not db.has_table("proj_provider_position"):
        return 0
    rows = db.execute(f"SELECT position FROM {db.table('proj_provider_position')} WHERE id = 1")
    return int(rows[0][0]) if rows else 0


class ProviderProjection:
    """Folds the log into the providers' tables, batch by batch."""

    name = "providers"

    def __init__(self, cases: Cases, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.cases = cases
        self.db = cases.db
        self.batch_size = batch_size
        ensure_tables(self.db)

    def position(self) -> int:
        return position(self.db)

    def run_batch(self, until: int | None = None) -> int:
        """Fold the next batch after the position (up to ``until``, default the head);
        the number of log positions it moved over (0 at the head)."""
        db = self.db
        start = self.position()
        head = self.cases.head_position() if until is None else until
        if start >= head:
            return 0
        page = list(self.cases.recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=head, topics=list(TOPICS)))
        end = page[-1].id if len(page) == self.batch_size else head
        views = decode(self.cases, page)
        ratings: list[tuple[str, str, int, int]] = []
        mapper = self.cases.mapper
        for n in page:
            if n.topic == Provider.ProviderRated.TOPIC:
                event = mapper.to_domain_event(n)
                assert isinstance(event, Provider.ProviderRated)
                code = _code_of(self.cases, event)
                ratings.append((code, event.data["month"], int(event.data["score"]), n.id))
        with db.transaction() as cur:
            cur.execute(f"UPDATE {db.table('proj_provider_position')} SET position = position"
                        " WHERE id = 1")
            row = cur.execute(f"SELECT position FROM {db.table('proj_provider_position')}"
                              " WHERE id = 1").fetchone()
            if row is None or int(row[0]) != start:
                return 0  # another follower got there first
            case_ids = {v.originator_id for _p, v in views}
            book = load_book(db, cur, case_ids)
            for _p, v in views:
                book.apply(v.type, v.originator_id, v.originator_version, v.timestamp, v.data)
            write_book(db, cur, book)
            if ratings:
                cur.executemany(
                    f"INSERT INTO {db.table('proj_provider_ratings')} (provider, month, score,"
                    " position) VALUES (%s, %s, %s, %s) ON CONFLICT (provider, month) DO"
                    " UPDATE SET score = excluded.score, position = excluded.position",
                    ratings)
            cur.execute(f"UPDATE {db.table('proj_provider_position')} SET position = %s"
                        " WHERE id = 1", (end,))
        return end - start

    def catch_up(self, until: int | None = None) -> int:
        """Fold batches until the head seen now (or ``until``); positions moved over."""
        head = self.cases.head_position() if until is None else until
        total = 0
        while True:
            moved = self.run_batch(head)
            total += moved
            if moved == 0:
                return total

    def rebuild(self) -> int:
        """Empty the tables and fold the whole log again (``yishi projections rebuild``)."""
        db = self.db
        with db.transaction() as cur:
            cur.execute(f"UPDATE {db.table('proj_provider_position')} SET position = 0"
                        " WHERE id = 1")
            for name in ("proj_provider_orders", "proj_provider_cases", "proj_provider_ratings"):
                cur.execute(f"DELETE FROM {db.table(name)}")
        return self.catch_up()


def _code_of(cases: Cases, event: Provider.Event) -> str:
    """The provider code of a provider event's stream (its registration names it)."""
    first = next(iter(cases.events.get(event.originator_id, lte=1)))
    return str(first.data["code"])  # type: ignore[attr-defined]


def load_book(db: Database, cur: Cursor, case_ids: Iterable[str]) -> OrderBook:
    """The stored cases of these ids and their current orders, as an ``OrderBook``."""
    ids = sorted(set(case_ids))
    links: dict[str, CaseLink] = {}
    for chunk in _chunks(ids):
        marks = ", ".join(["%s"] * len(chunk))
        for _case_id, state in cur.execute(
            f"SELECT case_id, state FROM {db.table('proj_provider_cases')} WHERE case_id IN"
            f" ({marks})", chunk).fetchall():
            link = CaseLink(**json.loads(state))
            links[link.case_id] = link
    current = sorted({link.current for link in links.values() if link.current})
    orders = {o.order_id: o for o in load_orders(db, cur, current)}
    return OrderBook(links, orders)


def load_orders(db: Database, cur: Cursor, order_ids: Sequence[str]) -> list[Order]:
    found: list[Order] = []
    for chunk in _chunks(list(order_ids)):
        marks = ", ".join(["%s"] * len(chunk))
        found.extend(Order.from_state(orjson.loads(state)) for (state,) in cur.execute(
            f"SELECT state FROM {db.table('proj_provider_orders')} WHERE order_id IN ({marks})",
            chunk).fetchall())
    return found


def write_book(db: Database, cur: Cursor, book: OrderBook) -> None:
    """Upsert the cases and orders the book changed."""
    cur.executemany(
        f"INSERT INTO {db.table('proj_provider_cases')} (case_id, state) VALUES (%s, %s)"
        " ON CONFLICT (case_id) DO UPDATE SET state = excluded.state",
        [(i, json.dumps(vars(book.cases[i]))) for i in sorted(book.changed_cases)])
    cur.executemany(
        f"INSERT INTO {db.table('proj_provider_orders')} (order_id, month, compound, state)"
        " VALUES (%s, %s, %s, %s) ON CONFLICT (order_id) DO UPDATE SET state = excluded.state",
        [(o.order_id, month_of(o.dispatched_at), o.compound, json.dumps(o.to_state()))
         for o in (book.orders[i] for i in sorted(book.changed_orders))])


def stored_orders(db: Database, months: Sequence[str] | None = None) -> list[Order]:
    """The stored orders (of the given dispatch months, or all)."""
    table = db.table("proj_provider_orders")
    if months is None:
        rows = db.execute(f"SELECT state FROM {table} ORDER BY order_id")
    else:
        marks = ", ".join(["%s"] * len(months))
        rows = db.execute(f"SELECT state FROM {table} WHERE month IN ({marks})"
                          " ORDER BY order_id", list(months))
    return [Order.from_state(orjson.loads(state)) for (state,) in rows]


def stored_ratings(db: Database, month: str | None = None) -> dict[tuple[str, str], int]:
    """The latest community rating per (provider, month)."""
    table = db.table("proj_provider_ratings")
    if month is None:
        rows = db.execute(f"SELECT provider, month, score FROM {table}")
    else:
        rows = db.execute(f"SELECT provider, month, score FROM {table} WHERE month = %s",
                          (month,))
    return {(str(p), str(m)): int(s) for p, m, s in rows}


def _chunks(items: list[str], size: int = 500) -> Iterable[list[str]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


__all__: list[Any] = ["ProviderProjection", "ensure_tables", "position", "stored_orders",
                      "stored_ratings"]
