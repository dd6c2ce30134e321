"""A year of fee collection in the demo district (物业费, 卫生费 收取).

Each compound bills monthly for the twelve whole months before ``now``'s: the property fee where a
property company serves (recorded by the company), the sanitation fee where none does
(recorded by the community, practices.md). Compounds with a company collect 82-95 % of
households; those without start at 45-60 % and rise month by month to 85-93 %, the story
the districts tell ("卫生费收取率达到90%"). Collections come in two to four rounds, some
into the next month; a few periods refund a household or two. Every event is decided by
the domain's fee rules (``clean_data``, ``check_recorder``, ``FeeLedger.decide``) at a
plausible historical time, and the periods are saved in one transaction. The same seed and
``now`` give the same events.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from domain.application import Cases
from domain.fees import FeeLedger, FeePeriod, check_recorder, clean_data
from domain.model import Actor
from simulation.district import LOCAL, Compound, District, people_of

#: Monthly fee per household, in fen: property fee by company, sanitation fee flat.
PROPERTY_FEN = (9_000, 12_000, 15_000, 18_000, 24_000)
SANITATION_FEN = 1_000


def months_before(now: datetime, count: int = 12) -> list[tuple[int, int]]:
    """The ``count`` whole months (year, month) before now's (China time)."""
    local = now + LOCAL
    year, month = (local.year, local.month - 1) if local.month > 1 else (local.year - 1, 12)
    out = []
    for _ in range(count):
        out.append((year, month))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return out[::-1]


def _at(year: int, month: int, day: float) -> datetime:
    """A moment ``day`` days into a month (China time), as UTC."""
    start = datetime(year, month, 1, 9, tzinfo=timezone(LOCAL))
    return (start + timedelta(days=day)).astimezone(UTC)


def _rate(compound: Compound, n: int, rng: random.Random, start: float, end: float) -> float:
    """The share of households that pay in month ``n`` (0..11) of the year."""
    if compound.has_property_company:
        return min(0.99, start + 0.004 * n + rng.uniform(-0.02, 0.02))
    return start + (end - start) * n / 11 + rng.uniform(-0.02, 0.02)


def simulate_fees(app: Cases, district: District, seed: int, now: datetime) -> int:
    """Record the district's fee periods for the year up to ``now``; the events recorded."""
    periods: list[FeePeriod] = []
    for compound in district.compounds:
        periods += _compound_periods(app, compound, seed, now)
    if periods:
        app.save(*periods)
    return sum(p.version for p in periods)


def _compound_periods(app: Cases, compound: Compound, seed: int, now: datetime
                      ) -> list[FeePeriod]:
    rng = random.Random(f"fees:{seed}:{compound.id}")  # noqa: S311 - simulation
    people = people_of(compound)
    company = compound.has_property_company
    actor: Actor = people.property if company and people.property else people.community
    check_recorder(actor.role, "property_company" if company else None)
    kind = "property" if company else "sanitation"
    fee = rng.choice(PROPERTY_FEN) if company else SANITATION_FEN
    households = app.directory.view.get(compound.id).households or 0  # type: ignore[union-attr]
    start = rng.uniform(0.82, 0.95) if company else rng.uniform(0.45, 0.60)
    end = rng.uniform(0.85, 0.93)
    out = []
    for n, (year, month) in enumerate(months_before(now)):
        opened_at = _at(year, month, 0)
        if opened_at > now:
            continue
        period = f"{year}-{month:02d}"
        payers = round(households * max(0.0, min(1.0, _rate(compound, n, rng, start, end))))
        events: list[tuple[str, dict[str, Any], datetime]] = [(
            "FeePeriodOpened", {"households_billed": households,
                                "amount_billed_fen": households * fee}, opened_at)]
        rounds = rng.randint(2, 4)
        left = payers
        for r in range(rounds):
            some = left if r == rounds - 1 else rng.randint(0, left)
            left -= some
            at = _at(year, month, rng.uniform(2, 45))
            if some and at <= now:
                amount = round(some * fee * rng.uniform(0.97, 1.0))  # points discounts
                events.append(("FeesCollected", {"households": some, "amount_fen": amount,
                                                 "day": (at + LOCAL).date().isoformat()}, at))
        events.sort(key=lambda e: e[2])
        got = sum(e[1]["households"] for e in events if e[0] == "FeesCollected")
        if got and rng.random() < 0.15:
            back = min(got, rng.randint(1, 2))
            at = max(events[-1][2], _at(year, month, rng.uniform(20, 50)))
            if at <= now:
                events.append(("FeesRefunded", {"households": back, "amount_fen": back * fee
                                                if back * fee <= _amount(events) else 0}, at))
        out.append(_record(compound, kind, period, events, actor))
    return out


def _amount(events: list[tuple[str, dict[str, Any], datetime]]) -> int:
    return sum(int(e[1]["amount_fen"]) for e in events if e[0] == "FeesCollected")


def _record(compound: Compound, kind: str, period: str,
            events: list[tuple[str, dict[str, Any], datetime]], actor: Actor) -> FeePeriod:
    """One period's events, each checked and decided by the domain's rules."""
    ledger = FeeLedger()
    aggregate: FeePeriod | None = None
    for event_type, fields, at in events:
        clean = {"compound_id": compound.id,
                 **clean_data(event_type, {"fee_kind": kind, "period": period, **fields})}
        if event_type == "FeePeriodOpened":
            clean["community_id"] = compound.community.id
        ledger.decide(event_type, clean)
        ledger = ledger.apply(event_type, clean)
        if aggregate is None:
            aggregate = FeePeriod.open(clean, actor, at)
        else:
            aggregate.change(event_type, clean, actor, at)
    assert aggregate is not None
    return aggregate
