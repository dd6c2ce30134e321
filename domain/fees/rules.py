"""Fee collection's rules (物业费, 卫生费 收取): kinds, periods, data, who records, the ledger.

Pure: no clock, no I/O. Every rule of a fee period is here once; the aggregate
(``domain/fees/model.py``) only records, the service (``domain/fees/service.py``) loads,
asks these rules and saves. Sources: practices.md "Fee collection" (the events, the
periods, who records), metrics.md "Fee collection (收取率)" (the figures, in
``domain/fees/figures.py``); docs/adr/0110-fee-figures.md and 0111-fee-recorders.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import date
from typing import Any

from domain.bounds import JSON_SAFE_INTEGER
from domain.errors import InvalidEventData, PermissionDenied, RuleViolated, article
from domain.fee_topics import FEE_EVENT_NAMES
from domain.model import Role

#: The fee kinds (practices.md): 物业费 where a property company serves, 卫生费 elsewhere.
FEE_KINDS: tuple[str, ...] = ("property", "sanitation")
#: A billing period: a year ``YYYY`` or a month ``YYYY-MM`` (2000 to 2099).
PERIOD = re.compile(r"(20\d\d)(?:-(0[1-9]|1[0-2]))?")
#: A day of collection, ``YYYY-MM-DD``.
DAY = re.compile(r"\d{4}-\d{2}-\d{2}")
#: At most this many households in one event (the directory's bound on a compound).
MAX_HOUSEHOLDS = 100_000
#: At most this many fen in one event (within every JSON client's safe integers).
MAX_FEN = JSON_SAFE_INTEGER
#: The fields of each event's ``data`` besides ``fee_kind`` and ``period``.
FIELDS: dict[str, tuple[str, ...]] = {
    "FeePeriodOpened": ("households_billed", "amount_billed_fen"),
    "FeesCollected": ("households", "amount_fen", "day"),
    "FeesRefunded": ("households", "amount_fen"),
}
assert tuple(FIELDS) == FEE_EVENT_NAMES

#: Who records a compound's fees (practices.md): the community, and the compound's
#: provider: a property company where one serves, the owners' committee where it manages
#: the compound itself. Role -> the kinds of provider serving the compound (today) under
#: which it may record; ``"any"`` also covers a compound without a provider (无物业).
#: Every role not in the table may not record fees. The scope check comes on top.
RECORDERS: dict[Role, frozenset[str]] = {
    Role.COMMUNITY: frozenset({"property_company", "owners_committee", "any"}),
    Role.PROPERTY_COMPANY: frozenset({"property_company"}),
    Role.OWNERS_COMMITTEE: frozenset({"owners_committee"}),
}


def check_recorder(role: Role, provider_kind: str | None) -> None:
    """Raise ``PermissionDenied`` (403) unless ``role`` may record the fees of a compound
    served today by a provider of ``provider_kind`` (None: no provider)."""
    allowed = RECORDERS.get(role, frozenset())
    if "any" in allowed or (provider_kind is not None and provider_kind in allowed):
        return
    if not allowed:
        reason = "fees are recorded by the community and the compound's provider"
    else:
        reason = (f"{article(role.value)} records the fees of the compounds it serves"
                  f" (this compound's provider: {provider_kind or 'none'})")
    raise PermissionDenied("fees", role.value, reason)


def valid_period(value: object) -> bool:
    return isinstance(value, str) and PERIOD.fullmatch(value) is not None


def clean_data(event_type: str, data: object) -> dict[str, Any]:
    """The event's data checked: ``fee_kind`` one of FEE_KINDS, ``period`` YYYY or YYYY-MM,
    each count 0..MAX_HOUSEHOLDS, each amount 0..MAX_FEN fen, ``day`` a real date in
    2000..2099; no other field. Raises ``InvalidEventData`` (422) naming every bad field,
    ``UnknownEventType``-like ``InvalidEventData`` for a type outside FEE_EVENT_NAMES."""
    if event_type not in FIELDS:
        raise InvalidEventData(event_type, {"type": f"one of {', '.join(FEE_EVENT_NAMES)}"})
    if not isinstance(data, Mapping):
        raise InvalidEventData(event_type, {"data": "an object"})
    errors: dict[str, str] = {}
    names = ("fee_kind", "period", *FIELDS[event_type])
    for key in data:
        if key not in names:
            errors[str(key)] = "not a field of this event"
    if data.get("fee_kind") not in FEE_KINDS:
        errors["fee_kind"] = f"one of {', '.join(FEE_KINDS)}"
    if not valid_period(data.get("period")):
        errors["period"] = "YYYY or YYYY-MM (2000-2099)"
    for key in FIELDS[event_type]:
        value = data.get(key)
        if key == "day":
            if not _day(value):
                errors[key] = "a date YYYY-MM-DD from 2000 to 2099"
            elif valid_period(data.get("period")) and not within_reach(
                    str(value), str(data["period"])):
                errors[key] = (f"a day from {PREPAID} year before the period to {ARREARS}"
                               " years after it")
            continue
        high = MAX_HOUSEHOLDS if key.startswith("households") else MAX_FEN
        if type(value) is not int or not 0 <= value <= high:
            errors[key] = f"a whole number from 0 to {high}"
    if errors:
        raise InvalidEventData(event_type, errors)
    return {key: data[key] for key in names}


#: A collection's day lies in its period, or up to PREPAID years before it (prepayment) or
#: ARREARS years after it (arrears; ADR 0110 accepts both); further is a typo (ADR 0120).
PREPAID = 1
ARREARS = 3


def within_reach(day: str, period: str) -> bool:
    """Whether a collection on ``day`` (YYYY-MM-DD) can belong to ``period``."""
    year, _, month = period.partition("-")
    first = date(int(year), int(month or 1), 1)
    last_month = int(month or 12)
    last = (date(int(year) + 1, 1, 1) if last_month == 12
            else date(int(year), last_month + 1, 1))  # the day after the period
    start = first.replace(year=first.year - PREPAID)
    end = last.replace(year=last.year + ARREARS)
    return start <= date.fromisoformat(day) < end


def _day(value: object) -> bool:
    if not isinstance(value, str) or DAY.fullmatch(value) is None:
        return False
    try:
        return 2000 <= date.fromisoformat(value).year <= 2099
    except ValueError:
        return False


@dataclass(frozen=True)
class FeeLedger:
    """One fee period's totals (counts and amounts only, never a name or a room):
    households and fen billed, collected and refunded. ``opened`` is False before
    ``FeePeriodOpened``."""

    compound_id: str = ""
    community_id: str | None = None
    fee_kind: str = ""
    period: str = ""
    opened: bool = False
    households_billed: int = 0
    amount_billed_fen: int = 0
    households_collected: int = 0
    amount_collected_fen: int = 0
    households_refunded: int = 0
    amount_refunded_fen: int = 0

    def decide(self, event_type: str, data: Mapping[str, Any]) -> None:
        """Raise ``RuleViolated`` (409) when the event may not follow this state: a period
        opens once; collections and refunds need an open period; refunds never exceed what
        was collected (households and fen). ``data`` is ``clean_data``'s."""
        state = None  # a fee period has no steps (RuleViolated names none)
        if event_type == "FeePeriodOpened" and self.opened:
            raise RuleViolated(event_type, state, "the period is already open")
        if event_type != "FeePeriodOpened" and not self.opened:
            raise RuleViolated(event_type, state, "open the period first (FeePeriodOpened)")
        if event_type == "FeesRefunded":
            if self.households_refunded + data["households"] > self.households_collected:
                raise RuleViolated(event_type, state, "refunds exceed the households collected"
                                   f" ({self.households_collected - self.households_refunded}"
                                   " left)")
            if self.amount_refunded_fen + data["amount_fen"] > self.amount_collected_fen:
                raise RuleViolated(event_type, state, "refunds exceed the amount collected"
                                   f" ({self.amount_collected_fen - self.amount_refunded_fen}"
                                   " fen left)")

    def apply(self, event_type: str, data: Mapping[str, Any]) -> FeeLedger:
        """The ledger after one event (pure; no check: ``decide`` came first)."""
        if event_type == "FeePeriodOpened":
            return replace(
                self, compound_id=data["compound_id"], community_id=data.get("community_id"),
                fee_kind=data["fee_kind"], period=data["period"], opened=True,
                households_billed=data["households_billed"],
                amount_billed_fen=data["amount_billed_fen"])
        if event_type == "FeesCollected":
            return replace(
                self, households_collected=self.households_collected + data["households"],
                amount_collected_fen=self.amount_collected_fen + data["amount_fen"])
        if event_type == "FeesRefunded":
            return replace(
                self, households_refunded=self.households_refunded + data["households"],
                amount_refunded_fen=self.amount_refunded_fen + data["amount_fen"])
        raise ValueError(event_type)
