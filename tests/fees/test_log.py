"""Fee events enter the verifiable log and the chain walk like every other stream
(docs/adr/0050: one leaf per event of every stream in the events table)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.model import Actor, Role
from projections import tlog_store as ls

STAFF = Actor("community-1", Role.COMMUNITY, communities=frozenset({"C1"}))


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_a_fee_event_gets_a_leaf_and_its_chain_is_walked(
    kind: str, app_factory: Callable[[str], Cases], request: pytest.FixtureRequest,
) -> None:
    app = app_factory(request.getfixturevalue("sqlite_url" if kind == "sqlite" else "pg_url"))
    opened = app.fees.record("JT", "FeePeriodOpened", {
        "fee_kind": "sanitation", "period": "2026", "households_billed": 96,
        "amount_billed_fen": 1_152_000}, STAFF)
    paid = app.fees.record("JT", "FeesCollected", {
        "fee_kind": "sanitation", "period": "2026", "households": 80, "amount_fen": 960_000,
        "day": "2026-03-02"}, STAFF)
    ls.ensure_tables(app.db)
    ls.LogFollower(app).catch_up()
    positions = [opened.position, paid.position]
    assert None not in positions
    leaves = ls.leaf_indexes(app.db, [p for p in positions if p is not None])
    assert set(leaves) == set(positions)
    refs = {r.position: r for r in ls.read_events(app, 0, 1000)}
    assert refs[paid.position or 0] == ls.EventRef(paid.position or 0, str(paid.stream_id),
                                                   2, paid.hash)
    reports = {r.case_id: r for r in app.verify_all()}
    fee = reports[opened.stream_id]
    assert (fee.stream, fee.valid, fee.events, fee.head) == ("fee", True, 2, paid.hash)
