"""The fee figures' read model (收取率投影): every fee period's ledger, folded from the log.

Fee events are few (a handful per compound and month), so the read model is the ledgers
in memory, brought up to date from the global log on each read: ``catch_up`` folds the fee
events after its position (``select_notifications`` filtered by the fee topics), and
``rebuild`` folds them all again from position 0. Both equal ``fold`` (a plain fold of the
events in order), which the tests check through SQLite and PostgreSQL with Hypothesis.
Nothing here decides: the ledger's ``apply`` and the figures are domain/fees'
(docs/adr/0110-fee-figures.md, 0112-fee-read-model.md).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.fee_topics import FEE_TOPICS
from domain.fees import DEFAULT_GROUP_BY, FEE_KINDS, GROUP_KEYS, FeeLedger, FeePeriod, grouped
from domain.fees.rules import PERIOD
from projections.queries import QueryError, Scope

PAGE = 1000


def fold(events: Iterable[FeePeriod.Event]) -> dict[UUID, FeeLedger]:
    """Each period's ledger from its events in log order (the reference the model equals)."""
    ledgers: dict[UUID, FeeLedger] = {}
    for event in events:
        ledger = ledgers.get(event.originator_id, FeeLedger())
        ledgers[event.originator_id] = ledger.apply(type(event).__name__, event.data)
    return ledgers


class FeeProjection:
    """The fee ledgers of one store as of ``position`` (thread-safe)."""

    def __init__(self, cases: Cases) -> None:
        self._cases = cases
        self._lock = threading.Lock()
        self._ledgers: dict[UUID, FeeLedger] = {}
        self.position = 0

    def catch_up(self) -> int:
        """Fold the fee events recorded since ``position``; the new position."""
        with self._lock:
            recorder = self._cases.recorder
            head = recorder.max_notification_id() or 0
            start = self.position + 1
            ledgers = dict(self._ledgers)
            while start <= head:
                page = recorder.select_notifications(start=start, limit=PAGE, stop=head,
                                                     topics=list(FEE_TOPICS))
                for event in _events(self._cases, page):
                    ledgers.update(fold_into(ledgers, event))
                if len(page) < PAGE:
                    break
                start = page[-1].id + 1
            self._ledgers = ledgers
            self.position = max(self.position, head)
            return self.position

    def rebuild(self) -> int:
        """Forget everything and fold the whole log again."""
        with self._lock:
            self._ledgers = {}
            self.position = 0
        return self.catch_up()

    def ledgers(self) -> dict[UUID, FeeLedger]:
        return dict(self._ledgers)


def fold_into(ledgers: dict[UUID, FeeLedger], event: FeePeriod.Event) -> dict[UUID, FeeLedger]:
    ledger = ledgers.get(event.originator_id, FeeLedger())
    return {event.originator_id: ledger.apply(type(event).__name__, event.data)}


def _events(cases: Cases, notifications: Sequence[Any]) -> Iterable[FeePeriod.Event]:
    for notification in notifications:
        event = cases.mapper.to_domain_event(notification)
        if isinstance(event, FeePeriod.Event):
            yield event


@dataclass(frozen=True)
class FeeQuery:
    """``GET /stats/fees``'s filters: codes (outside the scope select nothing), fee kinds
    (422 outside FEE_KINDS), periods (``YYYY`` selects the year and its months; 422 when
    malformed) and ``group_by`` (keys of GROUP_KEYS; 422 otherwise)."""

    compound: Sequence[str] = ()
    community: Sequence[str] = ()
    fee_kind: Sequence[str] = ()
    period: Sequence[str] = ()
    group_by: Sequence[str] = DEFAULT_GROUP_BY

    def check(self) -> None:
        for kind in self.fee_kind:
            if kind not in FEE_KINDS:
                raise QueryError(f"unknown fee_kind {kind!r}", "fee_kind", FEE_KINDS)
        for period in self.period:
            if PERIOD.fullmatch(period) is None:
                raise QueryError(f"period {period!r} is not YYYY or YYYY-MM"
                                 " (2026 or 2026-03)", "period")
        for name in self.group_by:
            if name not in GROUP_KEYS:
                raise QueryError(f"unknown group_by {name!r}", "group_by", tuple(GROUP_KEYS))

    def selects(self, ledger: FeeLedger, scope: Scope) -> bool:
        if not scope.is_all and not (ledger.compound_id in scope.compounds
                                     or ledger.community_id in scope.communities):
            return False
        return ((not self.compound or ledger.compound_id in self.compound)
                and (not self.community or ledger.community_id in self.community)
                and (not self.fee_kind or ledger.fee_kind in self.fee_kind)
                and (not self.period or any(ledger.period == p or ledger.period.startswith(
                    p + "-") for p in self.period)))


def fee_figures(projection: FeeProjection, scope: Scope, query: FeeQuery) -> dict[str, Any]:
    """``{"position", "head", "group_by", "groups": [{"group", **figures}]}`` (api.md),
    the figures of domain/fees/figures.py over the periods the reader may see."""
    query.check()
    position = projection.catch_up()
    ledgers = [x for x in projection.ledgers().values() if query.selects(x, scope)]
    return {"position": position, "head": position, "group_by": list(query.group_by),
            "groups": grouped(ledgers, query.group_by)}
