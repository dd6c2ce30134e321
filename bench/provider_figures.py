"""How long the red/black list takes to read at a large district (bench, not CI).

    .venv/bin/python bench/provider_figures.py [--store sqlite|postgres] [--orders-per-month 4200]
        [--rebuild-store sqlite:////tmp/providers-demo.db]

Fills the providers' read model of a fresh store with a year of orders of the demo district
(36 compounds, its providers and its replacement; outcomes drawn at random) at the volume
of the 1M-event district (63,291 cases a year: about 4,200 orders a month), then times
``month_rows`` (what ``GET /stats/providers`` answers) for one month, district-wide and for
one community, and prints the median of 7 runs. With ``--rebuild-store`` it also times
``ProviderProjection.rebuild`` over an existing store (events folded per second).
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from domain.application import Cases, open_cases
from domain.model import Actor, Role
from domain.providers.config import ProviderRules
from domain.providers.orders import Order, micros, month_of
from projections.provider_figures import month_rows
from projections.providers import ProviderProjection, ensure_tables
from simulation.directory import register_district
from simulation.district import build_district
from simulation.providers import ServiceBook, register_providers

NOW = datetime(2026, 11, 29, tzinfo=UTC)


def fill(url: str, per_month: int) -> tuple[Cases, str]:
    app = open_cases(url)
    district = build_district(1)
    register_district(app, district, 1, NOW)
    book = ServiceBook(district, 1, NOW)
    register_providers(app, district, book)
    ensure_tables(app.db)
    rng = random.Random(7)
    hour = 3_600_000_000
    rows = []
    for m in range(12):
        for _ in range(per_month):
            compound = rng.choice(district.compounds)
            at = NOW - timedelta(days=30 * (11 - m) + rng.uniform(0, 29))
            role = rng.choice(("property_company", "owners_committee", "community"))
            t = micros(at)
            done = t + int(rng.uniform(24, 400) * hour)
            order = Order(
                order_id=f"{uuid.uuid4()}:40", case_id=str(uuid.uuid4()), compound=compound.id,
                community=compound.community.id, assignee_role=role,
                provider=book.provider(compound.id, role, at), stamped=True, dispatched_at=t,
                due_at=t + 240 * hour, accepted_at=t + int(rng.uniform(1, 60) * hour),
                completed_at=done if rng.random() < 0.9 else None,
                supervisions=[(done + hour, rng.random() < 0.9)],
                closings=[done + 2 * hour] if rng.random() < 0.8 else [],
                reopenings=[done + 50 * hour] if rng.random() < 0.03 else [],
                ratings=[(done + 3 * hour, f"r{n}", rng.choice(("satisfied", "dissatisfied")))
                         for n in range(rng.randint(0, 2))])
            rows.append((order.order_id, month_of(t), order.compound,
                         json.dumps(order.to_state())))
    with app.db.transaction() as cur:
        cur.executemany(f"INSERT INTO {app.db.table('proj_provider_orders')}"
                        " (order_id, month, compound, state) VALUES (%s, %s, %s, %s)", rows)
    month = (NOW - timedelta(days=45)).strftime("%Y-%m")
    return app, month


def timed(call: Callable[[], object], runs: int = 7) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        call()
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--orders-per-month", type=int, default=4200)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--rebuild-store")
    args = parser.parse_args()
    if args.store == "sqlite":
        url = f"sqlite:///{tempfile.mkdtemp(prefix='providers-bench-')}/bench.db"
    else:
        url = f"{args.postgres}?schema=providers_bench_{uuid.uuid4().hex[:8]}"
    app, month = fill(url, args.orders_per_month)
    view = app.directory.refresh()
    rules = ProviderRules()
    admin = Actor("bench", Role.ADMIN)
    community = app.directory.resolve(
        Actor("bench-c", Role.COMMUNITY, communities=frozenset({"C01"})))
    rows = month_rows(app.db, view, month, admin, rules).providers
    print(f"{args.store}: {12 * args.orders_per_month:,} orders in the read model, month {month}:"
          f" {sum(r['orders'] for r in rows):,} orders of {len(rows)} providers")
    print(f"  district-wide: {timed(lambda: month_rows(app.db, view, month, admin, rules)):.1f} ms"
          " (median of 7)")
    print(f"  one community: {timed(lambda: month_rows(app.db, view, month, community, rules)):.1f}"
          " ms (median of 7)")
    if args.rebuild_store:
        store = open_cases(args.rebuild_store)
        started = time.perf_counter()
        ProviderProjection(store).rebuild()
        seconds = time.perf_counter() - started
        head = store.head_position()
        print(f"rebuild of {args.rebuild_store}: {head:,} events in {seconds:.1f} s"
              f" ({head / seconds:,.0f} events/s)")


if __name__ == "__main__":
    main()
