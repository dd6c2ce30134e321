"""Recording and reading providers' streams (服务单位服务): ratings, summons, replacements.

``Providers`` belongs to one ``Cases`` application and saves in its event store, in the same
global order as the cases. Every decision is here or in ``rules.py``; the aggregate only
records. A rating or summons of a provider whose stream is not open yet opens it first
(``ProviderRegistered`` with the directory's code, name and kind, in the same transaction).
A replacement is the directory's ``ProviderAssigned`` (docs/adr/0090-provider-stream.md).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.commands import Command
from domain.directory.model import Level
from domain.directory.rows import HINT
from domain.errors import PermissionDenied, RuleViolated, UnknownUnit
from domain.model import Actor
from domain.providers.model import Provider, provider_id
from domain.providers.rules import REPLACEMENT, check_data, provider_refusal


@dataclass(frozen=True)
class ProviderRecorded:
    """What a provider command stored: the event's type, stream version and log position
    (for a replacement: the compound's unit stream)."""

    type: str
    version: int
    position: int
    data: dict[str, Any]


class Providers:
    """The providers of one store."""

    def __init__(self, app: Any, now: Callable[[], datetime]) -> None:
        self._app = app
        self._now = now

    @property
    def _directory(self) -> Any:
        return self._app.directory

    def get(self, code: str) -> Provider | None:
        """The provider's stream state, or None when it was never opened."""
        try:
            found = self._app.repository.get(provider_id(code))
        except AggregateNotFoundError:
            return None
        return found if isinstance(found, Provider) else None

    def history(self, code: str) -> list[Provider.Event]:
        """Every event of the provider's stream, in order."""
        return [e for e in self._app.events.get(provider_id(code))
                if isinstance(e, Provider.Event)]

    def in_scope(self, code: str, actor: Actor) -> bool:
        """True when the provider serves or served a compound the actor covers."""
        actor = self._directory.resolve(actor)
        if actor.is_district_wide:
            return True
        view = self._directory.view
        return any(actor.covers(c, view.community_of(c) or "") for c in view.served_by(code))

    def record(self, code: str, event_type: str, data: object, actor: Actor,
               command: Command | None = None) -> ProviderRecorded:
        """Record one provider event for ``code`` (the successor, for a replacement).

        Raises ``InvalidEventData`` (422) for bad data, ``UnknownUnit`` (422) when the code
        is no provider of the directory (or the compound no compound), ``PermissionDenied``
        (403) by the table of ``rules.py``, ``RuleViolated`` (409) for a provider already
        registered or a summons that is not one. ``command`` identifies it across retries
        (exactly once, docs/adr/0040-exactly-once.md); a new one by default.
        """
        clean = check_data(event_type, data)
        directory = self._directory
        directory.refresh()
        unit = directory.unit(code)
        if unit is None or unit.level is not Level.PROVIDER:
            raise UnknownUnit("provider", code, "provider", HINT)
        actor = directory.resolve(actor)
        if event_type == REPLACEMENT:
            return self._replace(code, clean, actor, command)
        refusal = provider_refusal(event_type, actor, self.in_scope(code, actor))
        if refusal:
            raise PermissionDenied(event_type, actor.role, refusal)
        now = self._now()
        provider = self.get(code)
        if event_type == "ProviderRegistered" and provider is not None:
            raise RuleViolated(event_type, None, f"provider {code} is registered already")
        if provider is None:
            provider = Provider.register(
                {"code": code, "name": unit.name, "kind": unit.kind}, actor, now)
        if event_type != "ProviderRegistered":
            provider.change(event_type, clean, actor, now)
        recordings = self._app._commit(provider, command=command, kind="event")
        last = recordings[-1]
        return ProviderRecorded(event_type, last.domain_event.originator_version,
                                int(last.notification.id), last.domain_event.data)

    def _replace(self, code: str, clean: dict[str, Any], actor: Actor,
                 command: Command | None) -> ProviderRecorded:
        """A replacement (更换): ``code`` serves ``compound`` from ``from``; the summons it
        follows (``summons_version`` of the predecessor's stream) is its reason."""
        directory = self._directory
        compound = clean["compound"]
        unit = directory.unit(compound)
        if unit is None or unit.level is not Level.COMPOUND:
            raise UnknownUnit("compound", compound, "compound", HINT)
        within = directory.within([(Level.COMPOUND.value, compound)], actor)
        refusal = provider_refusal(REPLACEMENT, actor, within)
        if refusal:
            raise PermissionDenied(REPLACEMENT, actor.role, refusal)
        day = clean["from"]
        predecessor = unit.provider_on(day)
        if predecessor == code:
            raise RuleViolated(REPLACEMENT, None,
                               f"{code} already serves {compound} on {day}")
        reason: dict[str, Any] | None = None
        if "summons_version" in clean:
            version = clean["summons_version"]
            events = self.history(predecessor) if predecessor else []
            if not any(e.originator_version == version and type(e).__name__ ==
                       "ProviderSummoned" for e in events):
                raise RuleViolated(REPLACEMENT, None, f"version {version} of "
                                   f"{predecessor or 'no provider'}'s stream is no summons")
            reason = {"summons": {"provider": predecessor, "version": version}}
        if "note" in clean:
            reason = {**(reason or {}), "note": clean["note"]}
        position, version = directory.record_assignment(compound, code, day, reason, actor,
                                                        command)
        data = {"provider": code, "from": day, "reason": reason, "compound": compound}
        return ProviderRecorded(REPLACEMENT, version, position, data)

    def recorded(self, stream_id: UUID, version: int) -> ProviderRecorded | None:
        """What a command recorded, read back from its stream (a provider's, or for a
        replacement the compound's): the answer to a retry with the same key."""
        events = list(self._app.events.get(stream_id, gt=version - 1, lte=version))
        if not events:
            return None
        event = events[-1]
        position = self._app.positions(stream_id).get(version, 0)
        data = dict(event.data)
        name = type(event).__name__
        if name == REPLACEMENT:
            data["compound"] = self._directory.view.ids.get(stream_id)
        return ProviderRecorded(name, version, position, data)
