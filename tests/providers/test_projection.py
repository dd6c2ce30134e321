"""The providers' read model equals a plain fold of the raw events, through SQLite and
PostgreSQL, for Hypothesis histories of cases and provider events; and a rebuild equals it
too. The month figures equal an independent reference (tests/providers/reference.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID, uuid4

import pytest
from hypothesis import HealthCheck, event, given, note, settings
from hypothesis import strategies as st

from domain.application import Cases, open_cases
from domain.clock import ManualClock
from domain.errors import DomainError
from domain.model import Actor, Role
from domain.providers.attribution import china_day
from domain.providers.config import ProviderRules
from domain.providers.orders import OrderBook
from projections.provider_figures import month_rows
from projections.providers import ProviderProjection, stored_orders, stored_ratings
from projections.runner import decode
from tests.conftest import POSTGRES_BASE, People
from tests.district import register_district
from tests.providers.helpers import STREET, register_providers, to_implement
from tests.providers.reference import Raw, as_counts, reference

COMPOUNDS = ("JX", "LH", "HY", "JT")
COUNTS = ("orders", "taken", "completed", "completed_on_time", "supervisions", "passed",
          "closed", "reopened", "overdue_open", "rated", "satisfied")
ROLES = ("property_company", "owners_committee", "community")
DOER = {role: Actor(f"{role}-any", Role(role)) for role in ROLES}
STAFF = Actor("community-any", Role.COMMUNITY)
PARTY = Actor("party-any", Role.PARTY_BRANCH)

case_ref = st.integers(0, 3)
operations = st.lists(st.one_of(
    st.tuples(st.just("open"), st.sampled_from(COMPOUNDS)),
    st.tuples(st.just("dispatch"), case_ref, st.sampled_from(ROLES), st.integers(-30, 400)),
    st.tuples(st.just("accept"), case_ref),
    st.tuples(st.just("complete"), case_ref),
    st.tuples(st.just("supervise"), case_ref, st.booleans()),
    st.tuples(st.just("rate"), case_ref, st.sampled_from(("satisfied", "basically_satisfied",
                                                           "dissatisfied")),
              st.sampled_from(("r1", "r2"))),
    st.tuples(st.just("close"), case_ref),
    st.tuples(st.just("reopen"), case_ref),
    st.tuples(st.just("replace"), st.sampled_from(("JX", "LH")),
              st.sampled_from(("GD", "WK", "LC")), st.integers(0, 40)),
    st.tuples(st.just("rating"), st.sampled_from(("LC", "GD", "YW")), st.integers(-1, 1),
              st.integers(0, 100)),
    st.tuples(st.just("advance"), st.integers(1, 24 * 25)),
    st.tuples(st.just("project"), st.integers(1, 40)),
), min_size=5, max_size=40)
#: Histories: a few cases opened and taken to implement first, then anything.
histories = st.tuples(
    st.lists(st.sampled_from(COMPOUNDS), min_size=1, max_size=3).map(
        lambda cs: [("open", c) for c in cs]),
    st.lists(st.tuples(st.just("dispatch"), case_ref, st.sampled_from(ROLES[:2]),
                       st.integers(1, 400)), min_size=1, max_size=3),
    operations,
).map(lambda parts: [op for part in parts for op in part])


def run(app: Cases, clock: ManualClock, ops: list[tuple[Any, ...]]) -> None:
    cases: list[UUID] = []
    for op in ops:
        kind, *args = op
        try:
            if kind == "open":
                if len(cases) < 4:
                    cases.append(to_implement(app, clock, args[0]))
                continue
            if kind == "advance":
                clock.advance(timedelta(hours=args[0]))
                continue
            if kind == "project":
                ProviderProjection(app, batch_size=args[0]).run_batch()
                continue
            if kind == "replace":
                day = china_day(clock.now() + timedelta(days=args[2]))
                app.providers.record(args[1], "ProviderAssigned",
                                     {"compound": args[0], "from": day}, STREET)
                continue
            if kind == "rating":
                month = (clock.now() + timedelta(days=31 * args[1])).strftime("%Y-%m")
                app.providers.record(args[0], "ProviderRated",
                                     {"month": month, "score": args[2]}, STREET)
                continue
            if not cases:
                continue
            case_id = cases[args[0] % len(cases)]
            case = app.get_case(case_id)
            role = case.assignment["assignee_role"] if case.assignment else "community"
            if kind == "dispatch":
                app.record(case_id, "ImplementationAssigned", {
                    "assignee_role": args[1], "assignee": "x",
                    "due_at": clock.now() + timedelta(hours=args[2])}, STAFF)
            elif kind == "accept":
                app.record(case_id, "ImplementationAccepted", {}, DOER[role])
            elif kind == "complete":
                app.record(case_id, "ImplementationCompleted", {"summary": "done"}, DOER[role])
            elif kind == "supervise":
                app.record(case_id, "SupervisionRecorded",
                           {"verdict": "passed" if args[1] else "failed"}, PARTY)
            elif kind == "rate":
                app.record(case_id, "ResidentRated", {"satisfaction": args[1],
                           "source": "callback", "resident_id": args[2]}, STAFF)
            elif kind == "close":
                app.record(case_id, "CaseClosed", {"resolution": "resolved"}, STAFF)
            elif kind == "reopen":
                app.record(case_id, "CaseReopened", {"reason": "漏水又出现"}, STAFF)
        except DomainError:
            pass  # refused commands append nothing: part of any real history


def raw_events(app: Cases) -> list[Raw]:
    notifications = list(app.recorder.select_notifications(start=1, limit=10**6))
    return [Raw(v.originator_id, v.type, v.timestamp, v.data)
            for _p, v in decode(app, notifications)]


def plain_fold(app: Cases) -> OrderBook:
    book = OrderBook()
    notifications = list(app.recorder.select_notifications(start=1, limit=10**6))
    for _p, v in decode(app, notifications):
        book.apply(v.type, v.originator_id, v.originator_version, v.timestamp, v.data)
    return book


def check(app: Cases) -> None:
    ProviderProjection(app, batch_size=13).catch_up()
    folded = plain_fold(app)
    stored = {o.order_id: o for o in stored_orders(app.db)}
    assert stored == folded.orders
    view = app.directory.refresh()
    raw = raw_events(app)
    months = sorted({r.at.astimezone(UTC).strftime("%Y-%m") for r in raw}
                    | {m for (_p, m) in stored_ratings(app.db)})
    for month in months:
        rows = month_rows(app.db, view, month, People.admin, ProviderRules()).providers
        expected = reference(raw, month)
        got = {r["provider"]: as_counts(r) for r in rows if r["orders"]}
        note(f"{month}: {got} vs {expected}")
        assert got == {p: {k: row.get(k, 0) for k in COUNTS} for p, row in expected.items()}
        event(f"providers with orders in a month: {min(len(got), 3)}")
    before = (stored_orders(app.db), stored_ratings(app.db))
    ProviderProjection(app).rebuild()
    assert (stored_orders(app.db), stored_ratings(app.db)) == before


def fresh(url: str, clock: ManualClock) -> Cases:
    app = open_cases(url, clock=clock)
    return register_providers(register_district(app))


SETTINGS = settings(max_examples=20, deadline=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture,
                                           HealthCheck.too_slow])


@SETTINGS
@given(ops=histories)
def test_sqlite_projection_equals_the_plain_fold(tmp_path: Path, ops: list[tuple[Any, ...]]
                                                 ) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    app = fresh(f"sqlite:///{tmp_path / uuid4().hex}.db", clock)
    try:
        run(app, clock, ops)
        check(app)
    finally:
        app.close()


@settings(SETTINGS, max_examples=10)
@given(ops=histories)
def test_postgres_projection_equals_the_plain_fold(
    pg_schema_factory: Callable[[], str], ops: list[tuple[Any, ...]]
) -> None:
    clock = ManualClock(datetime(2026, 3, 2, 9, tzinfo=UTC))
    app = fresh(f"{POSTGRES_BASE}?schema={pg_schema_factory()}", clock)
    try:
        run(app, clock, ops)
        check(app)
    finally:
        app.close()


@pytest.mark.parametrize("batch", [1, 5, 1000])
def test_the_projection_follows_every_batch_size(app_factory: Callable[[str], Cases],
                                                  sqlite_url: str, clock: ManualClock,
                                                  batch: int) -> None:
    app = register_providers(app_factory(sqlite_url))
    run(app, clock, [("open", "JX"), ("open", "HY"), ("dispatch", 0, "property_company", 48),
                     ("dispatch", 1, "owners_committee", 1), ("accept", 0), ("advance", 30),
                     ("complete", 0), ("supervise", 0, True), ("rate", 0, "satisfied", "r1"),
                     ("close", 0), ("rating", "LC", 0, 91)])
    ProviderProjection(app, batch_size=batch).catch_up()
    assert {o.order_id: o for o in stored_orders(app.db)} == plain_fold(app).orders
    assert stored_ratings(app.db) == {("LC", "2026-03"): 91}
