"""Fee collection figures (收取率), exactly as metrics.md defines them.

Per fee period (one compound, fee kind and period; metrics.md "Fee collection"):

- households paid = households collected - households refunded, at least 0 and at most
  households billed;
- collection rate (收取率) = households paid / households billed (None when none billed);
- amount paid = amount collected - amount refunded, at least 0 and at most amount billed;
  amount rate = amount paid / amount billed (None when nothing billed).

A group (compound, community, fee kind, period, or any combination) adds each period's
billed and paid figures first and divides last, so a community's rate is its households
paid over its households billed, never a mean of rates. Pure; docs/adr/0110-fee-figures.md.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from domain.fees.rules import FeeLedger

#: What figures may group by (``group_by``), and the group key each gives.
GROUP_KEYS: dict[str, str] = {
    "compound": "compound_id", "community": "community_id", "fee_kind": "fee_kind",
    "period": "period",
}
DEFAULT_GROUP_BY: tuple[str, ...] = ("compound", "fee_kind", "period")


@dataclass(frozen=True)
class FeeFigure:
    """The figures of a set of fee periods (households; amounts in fen)."""

    households_billed: int = 0
    households_paid: int = 0
    amount_billed_fen: int = 0
    amount_collected_fen: int = 0
    amount_refunded_fen: int = 0
    amount_paid_fen: int = 0
    periods: int = 0

    @classmethod
    def of(cls, ledger: FeeLedger) -> FeeFigure:
        """One period's figures (the caps of metrics.md applied per period)."""
        paid = ledger.households_collected - ledger.households_refunded
        amount = ledger.amount_collected_fen - ledger.amount_refunded_fen
        return cls(
            households_billed=ledger.households_billed,
            households_paid=min(max(paid, 0), ledger.households_billed),
            amount_billed_fen=ledger.amount_billed_fen,
            amount_collected_fen=ledger.amount_collected_fen,
            amount_refunded_fen=ledger.amount_refunded_fen,
            amount_paid_fen=min(max(amount, 0), ledger.amount_billed_fen),
            periods=1,
        )

    def __add__(self, other: FeeFigure) -> FeeFigure:
        return FeeFigure(*(a + b for a, b in zip(_values(self), _values(other), strict=True)))

    @property
    def collection_rate(self) -> float | None:
        """收取率: households paid / households billed (None when none were billed)."""
        return _rate(self.households_paid, self.households_billed)

    @property
    def amount_rate(self) -> float | None:
        """Amount paid / amount billed (None when nothing was billed)."""
        return _rate(self.amount_paid_fen, self.amount_billed_fen)

    def out(self) -> dict[str, Any]:
        """The fields of a group in ``GET /stats/fees`` (api.md), rates beside their counts."""
        return {
            "households_billed": self.households_billed,
            "households_paid": self.households_paid,
            "collection_rate": self.collection_rate,
            "amount_billed_fen": self.amount_billed_fen,
            "amount_collected_fen": self.amount_collected_fen,
            "amount_refunded_fen": self.amount_refunded_fen,
            "amount_paid_fen": self.amount_paid_fen,
            "amount_rate": self.amount_rate,
            "periods": self.periods,
        }


def _values(figure: FeeFigure) -> tuple[int, ...]:
    return (figure.households_billed, figure.households_paid, figure.amount_billed_fen,
            figure.amount_collected_fen, figure.amount_refunded_fen, figure.amount_paid_fen,
            figure.periods)


def _rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else numerator / denominator


def grouped(ledgers: Iterable[FeeLedger], group_by: Sequence[str] = DEFAULT_GROUP_BY
            ) -> list[dict[str, Any]]:
    """``[{"group": {...}, **figures}]`` for the open periods among ``ledgers``, one per
    combination of the ``group_by`` dimensions (keys of GROUP_KEYS; empty: one group of
    everything), sorted by group. Raises ``ValueError`` for an unknown dimension."""
    for name in group_by:
        if name not in GROUP_KEYS:
            raise ValueError(name)
    keys = [GROUP_KEYS[name] for name in dict.fromkeys(group_by)]
    sums: dict[tuple[Any, ...], FeeFigure] = {}
    for ledger in ledgers:
        if not ledger.opened:
            continue
        key = tuple(getattr(ledger, k) for k in keys)
        sums[key] = sums.get(key, FeeFigure()) + FeeFigure.of(ledger)
    out = []
    for key in sorted(sums, key=lambda k: tuple("" if v is None else str(v) for v in k)):
        out.append({"group": dict(zip(keys, key, strict=True)), **sums[key].out()})
    return out
