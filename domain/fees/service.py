"""Recording fee periods (收费记录): load the period, let the rules decide, save.

``Fees`` belongs to one ``Cases`` application and saves fee periods in the same event
store, in the same global order, exactly once under an Idempotency-Key (the application's
command ledger, docs/adr/0040). The compound must be registered in the directory and lie
within the actor's scope; the role must be in ``RECORDERS`` for the provider serving the
compound today. practices.md "Fee collection"; docs/adr/0111-fee-recorders.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError
from eventsourcing.persistence import IntegrityError

from domain.commands import Command, KeyTaken
from domain.directory import Level
from domain.directory.rows import HINT
from domain.errors import CompoundOutOfScope, InvalidEventData, RuleViolated, UnknownUnit
from domain.fees.model import FeePeriod, china_day, period_id
from domain.fees.rules import FeeLedger, check_recorder, clean_data
from domain.model import Actor

_RETRIES = 16


@dataclass(frozen=True)
class FeeRecorded:
    """What a fee command stored: the stream, its new version, the event's log position,
    its type and data, and the period's ledger after it."""

    stream_id: UUID
    version: int
    position: int | None
    event_type: str
    data: dict[str, Any]
    ledger: FeeLedger
    recorded_at: datetime
    hash: str


class Fees:
    """The fee periods of one store."""

    def __init__(self, app: Any, now: Callable[[], datetime]) -> None:
        self._app = app
        self._now = now

    def record(self, compound: str, event_type: str, data: Mapping[str, Any], actor: Actor,
               command: Command | None = None) -> FeeRecorded:
        """Record one fee event of ``compound`` (``data`` names ``fee_kind`` and ``period``).

        Raises ``InvalidEventData`` (422: a type, kind, period, count or amount outside its
        list or range), ``UnknownUnit`` (422: the compound is not registered),
        ``OutOfScope`` (403), ``PermissionDenied`` (403: the role may not record this
        compound's fees) and ``RuleViolated`` (409: a period opened twice, a collection
        before the opening, a refund beyond what was collected)."""
        clean = clean_data(event_type, data)
        directory = self._app.directory
        unit = directory.unit(compound)
        community = directory.view.community_of(compound)
        if unit is None or unit.level is not Level.COMPOUND or community is None:
            raise UnknownUnit("compound", compound, "compound with a community", HINT)
        actor = directory.resolve(actor)
        if not actor.covers(compound, community):
            raise CompoundOutOfScope(compound)
        now = self._now()
        provider = unit.provider_on(china_day(now))
        provider_unit = directory.unit(provider) if provider else None
        check_recorder(actor.role, provider_unit.kind if provider_unit else None)
        billed = clean.get("households_billed")
        if billed is not None and unit.households is not None and billed > unit.households:
            raise InvalidEventData(event_type, {"households_billed": (
                f"at most the compound's {unit.households} households (the directory's)")})
        clean = {"compound_id": compound, **clean}
        if event_type == "FeePeriodOpened":
            clean["community_id"] = community
        stream = period_id(compound, clean["fee_kind"], clean["period"])
        for _attempt in range(_RETRIES):
            period = self._load(stream)
            ledger = period.ledger if period is not None else FeeLedger()
            ledger.decide(event_type, clean)
            if period is None:
                period = FeePeriod.open(clean, actor, now)
            else:
                period.change(event_type, clean, actor, now)
            try:
                recordings = self._app.commit_stream(period, command=command, kind="fee")
            except KeyTaken:
                raise
            except IntegrityError:
                continue
            last = recordings[-1]
            event = last.domain_event
            return FeeRecorded(stream, event.originator_version, last.notification.id,
                               event_type, clean, period.ledger, event.timestamp, event.hash)
        raise RuleViolated(event_type, None, "other writers kept changing the period; retry")

    def ledger(self, compound: str, fee_kind: str, period: str) -> FeeLedger | None:
        """A period's ledger now (None when it was never opened)."""
        found = self._load(period_id(compound, fee_kind, period))
        return None if found is None else found.ledger

    def _load(self, stream: UUID) -> FeePeriod | None:
        try:
            found = self._app.repository.get(stream)
        except AggregateNotFoundError:
            return None
        assert isinstance(found, FeePeriod)
        return found
