"""Managing and reading the directory (目录服务): imports, units, teams, scope resolution.

``Directory`` belongs to one ``Cases`` application and saves its units in the same event
store, in the same global order. It keeps the current ``DirectoryView`` in memory and folds
only the unit events it has not seen: after a change made here at once, after one made by
another process when ``refresh`` runs (each lookup that misses, and every
``REFRESH_SECONDS`` on the request path). Every decision about a change is here; the unit
aggregate only records. See docs/adr/0071-directory.md and 0070-scope-model.md.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from typing import Any

from domain.directory.csvfile import UnitRow
from domain.directory.model import (
    UNIT_TOPICS,
    Level,
    TeamRole,
    Unit,
    unit_id,
)
from domain.directory.rows import HINT, MAX_NAME, Checked, bad_text, check_rows
from domain.directory.view import DirectoryView, Named, UnitInfo
from domain.errors import CommunityMismatch, DirectoryRefused, PermissionDenied, UnknownUnit
from domain.model import Actor, Role
from domain.privacy import SubjectKeys, seal, unseal

#: How old the in-memory view may get on the request path before it is brought up to date.
REFRESH_SECONDS = 1.0
MAX_TEAM = 200
#: China Standard Time: the day an assignment starts by default.
CHINA = timezone(timedelta(hours=8), "CST")


@dataclass(frozen=True)
class Imported:
    """What an import or a unit change did: units added, changed, assignments recorded."""

    added: int
    changed: int
    assignments: int

    @property
    def events(self) -> int:
        return self.added + self.changed + self.assignments


class Directory:
    """The directory of one store."""

    def __init__(self, app: Any, keys: SubjectKeys, now: Callable[[], datetime]) -> None:
        self._app = app
        self._keys = keys
        self._now = now
        self._view = DirectoryView()
        self._refreshed = float("-inf")
        self._lock = threading.Lock()
        #: actor -> (the view it was resolved against, the resolved actor)
        self._resolved: dict[Actor, tuple[DirectoryView, Actor]] = {}

    # Reading ----------------------------------------------------------------------------

    @property
    def view(self) -> DirectoryView:
        """The view as last folded (no I/O)."""
        return self._view

    def current(self) -> DirectoryView:
        """The view, brought up to date if it is older than ``REFRESH_SECONDS``."""
        self.refresh_if_stale()
        return self._view

    @property
    def stale(self) -> bool:
        return time.monotonic() - self._refreshed > REFRESH_SECONDS

    def refresh_if_stale(self) -> None:
        """``refresh`` when the view is stale and nobody else is refreshing it: on the
        request path one request brings it up to date while the others go on with the
        view they have (at most ``REFRESH_SECONDS`` old)."""
        if not self.stale or not self._lock.acquire(blocking=False):
            return
        try:
            if self.stale:
                self._refresh()
        finally:
            self._lock.release()

    def refresh(self) -> DirectoryView:
        """Fold the unit events recorded since the view's position (anyone's)."""
        with self._lock:
            return self._refresh()

    def _refresh(self) -> DirectoryView:
        recorder = self._app.recorder
        head = recorder.max_notification_id() or 0
        view = self._view
        if head > view.position:
            events: list[Unit.Event] = []
            start = view.position + 1
            topics = list(UNIT_TOPICS)
            while start <= head:
                page = recorder.select_notifications(
                    start=start, limit=1000, stop=head, topics=topics
                )
                for notification in page:
                    event = self._app.mapper.to_domain_event(notification)
                    if isinstance(event, Unit.Event):
                        events.append(event)
                if len(page) < 1000:
                    break
                start = page[-1].id + 1
            if events:  # a new view (readers keep the one they hold); else the same one
                view = view.copy()
                for event in events:
                    view.apply(event)
                self._view = view
                self._resolved = {}
            view.position = head
        self._refreshed = time.monotonic()
        return view

    def unit(self, code: str) -> UnitInfo | None:
        """A unit now; a code not found is looked for again in the store first."""
        found = self.current().get(code)
        if found is None:
            found = self.refresh().get(code)
        return found

    def name_of(self, code: str) -> str | None:
        """The current name of a unit (for lists, figures and pages), None if unknown."""
        return self._view.name_of(code)

    def names(self, codes: Iterable[str]) -> dict[str, str | None]:
        view = self._view
        return {code: view.name_of(code) for code in codes}

    def filing(self, compound: str, community: str | None) -> str:
        """The community a case of this compound is filed under, from the directory.

        Raises ``UnknownUnit`` when the compound is not registered and ``CommunityMismatch``
        when ``community`` (from the body) is given and is not the directory's.
        """
        unit = self.unit(compound)
        if unit is None or unit.level is not Level.COMPOUND:
            raise UnknownUnit("compound_id", compound, "compound", HINT)
        registered = self._view.community_of(compound)
        if registered is None:
            raise UnknownUnit("compound_id", compound, "compound with a community", HINT)
        if community is not None and community != registered:
            raise CommunityMismatch(compound, community, registered)
        return registered

    def resolve(self, actor: Actor) -> Actor:
        """The actor with the compounds and communities its named units cover now."""
        if not actor.units and actor.provider is None:
            return actor
        view = self._view
        known = self._resolved.get(actor)
        if known is not None and known[0] is view:
            return known[1]
        resolved = actor
        if actor.provider is not None and not actor.units:
            # A provider's credential without named units covers the compounds its
            # provider serves or served (practices.md, docs/adr/0092).
            served = frozenset(("compound", c) for c in view.served_by(actor.provider))
            resolved = replace(actor, units=served, compounds=frozenset(c for _, c in served))
        resolved = resolved.with_coverage(*view.covered(resolved.units))
        if len(self._resolved) > 10_000:
            self._resolved = {}
        self._resolved[actor] = (view, resolved)
        return resolved

    def within(self, inner: Iterable[Named], outer: Actor) -> bool:
        """True when every named unit of ``inner`` lies within ``outer``'s scope (an empty
        ``inner``, the whole store, only within a district-wide ``outer``)."""
        if outer.is_district_wide:
            return True
        inner = list(inner)
        if not inner:
            return False
        view = self._view
        return all(view.within(code, outer.units) for _, code in inner)

    def visible_to(self, reader: Actor) -> set[str] | None:
        """The codes a reader may read (None: all)."""
        if reader.is_district_wide:
            return None
        return self._view.visible(reader.units)

    def history(self, code: str) -> list[Unit.Event]:
        """Every event of the unit, in order (who changed what, when)."""
        events = list(self._app.events.get(unit_id(code)))
        return [e for e in events if isinstance(e, Unit.Event)]

    def team(self, unit: UnitInfo, reader: Actor) -> list[dict[str, Any]]:
        """A grid's team for a reader: roles always; names for staff (residents and
        providers see roles and counts, practices.md); erased names read as erased."""
        shows = reader.role in (Role.ADMIN, Role.COMMUNITY, Role.GRID_WORKER, Role.PARTY_BRANCH,
                                Role.AUDITOR)
        members = []
        for member in unit.team:
            out: dict[str, Any] = {"role": member["role"]}
            if shows:
                out["subject_id"] = member["subject_id"]
                contact = unseal(member["name"], self._keys.get(member["subject_id"]))
                out["name"] = contact["name"] if contact else None
                out["erased"] = contact is None
            members.append(out)
        return members

    # Changing ---------------------------------------------------------------------------

    def apply_rows(self, rows: Sequence[UnitRow], actor: Actor, today: date | None = None
                   ) -> Imported:
        """Add and update units by code (removing nothing), atomically: every row is checked
        first, and one bad row refuses them all (``DirectoryRefused``, with line numbers).
        Rows equal to what the directory holds record nothing."""
        _must_be_admin(actor)
        view = self.refresh()
        today = today or self._now().astimezone(CHINA).date()
        checked = check_rows(rows, view, actor)
        now = self._now()
        units: dict[str, Unit] = {}
        added = changed = assignments = 0
        for row in sorted(checked, key=lambda r: _ORDER[r.level]):
            existing = view.get(row.code)
            fields = _fields(row)
            if existing is None:
                unit = Unit.register({"level": row.level.value, "code": row.code, **fields},
                                     actor, now)
                units[row.code] = unit
                added += 1
            else:
                delta = {k: v for k, v in fields.items()
                         if k in _columns(row) and getattr(existing, k) != v}
                if delta:
                    unit = self._load(units, row.code)
                    unit.change("UnitChanged", delta, actor, now)
                    changed += 1
            if row.level is Level.COMPOUND and "provider" in row.row.present:
                latest = existing.providers[-1] if existing and existing.providers else None
                wanted_from = row.row.provider_from or None
                provider = row.row.provider or None
                if latest is None and provider is None:
                    continue
                if latest is not None and provider == latest[1] and (
                    wanted_from is None or wanted_from == latest[0]
                ):
                    continue
                unit = self._load(units, row.code)
                unit.change("ProviderAssigned", {
                    "provider": provider, "from": wanted_from or today.isoformat(),
                    "reason": None,
                }, actor, now)
                assignments += 1
        if units:
            self._app.save(*units.values())
            self.refresh()
        return Imported(added, changed, assignments)

    def set_team(self, grid: str, members: Sequence[tuple[str, str]], actor: Actor) -> int:
        """Set a grid's team ("1+3+N": role and name of each member); each name is sealed
        under its own data subject ``member:<uuid>`` and erasable like a contact. The events
        recorded: 0 when the team is already exactly this (same roles and names, in order),
        so posting it again changes nothing, else 1 (``GridTeamSet``)."""
        _must_be_admin(actor)
        unit = self.unit(grid)
        if unit is None or unit.level is not Level.GRID:
            raise UnknownUnit("grid", grid, "grid", HINT)
        if not self.within([(Level.GRID.value, grid)], actor):
            raise DirectoryRefused([{"line": 0, "field": "code",
                                     "message": f"{grid} is outside this credential's scope"}])
        errors = []
        if len(members) > MAX_TEAM:
            errors.append({"line": 0, "field": "team", "message": f"at most {MAX_TEAM} members"})
        for n, (role, name) in enumerate(members):
            if role not in {r.value for r in TeamRole}:
                errors.append({"line": 0, "field": f"team[{n}].role",
                               "message": f"one of {', '.join(r.value for r in TeamRole)}"})
            if bad_text(name):
                errors.append({"line": 0, "field": f"team[{n}].name",
                               "message": f"1 to {MAX_NAME} characters, one line"})
        if errors:
            raise DirectoryRefused(errors)
        if self._current_team(unit) == [(role, name) for role, name in members]:
            return 0
        now = self._now()
        sealed = []
        for role, name in members:
            subject = f"member:{uuid.uuid4()}"
            sealed.append({"role": role, "subject_id": subject,
                           "name": seal(subject, self._keys.key_for(subject, now),
                                        {"name": name})})
        aggregate = self._load({}, grid)
        aggregate.change("GridTeamSet", {"members": sealed}, actor, now)
        self._app.save(aggregate)
        self.refresh()
        return 1

    def _current_team(self, unit: UnitInfo) -> list[tuple[str, str | None]]:
        """The grid's team now as (role, name) pairs, names unsealed (None once erased)."""
        team: list[tuple[str, str | None]] = []
        for member in unit.team:
            contact = unseal(member["name"], self._keys.get(member["subject_id"]))
            team.append((member["role"], contact["name"] if contact else None))
        return team

    # Providers (docs/adr/0090-provider-stream.md) --------------------------------------

    def record_assignment(self, compound: str, provider: str | None, day: str,
                          reason: dict[str, Any] | None, actor: Actor,
                          command: Any = None) -> tuple[int, int]:
        """Record a replacement (更换) decided by ``domain.providers.service``: the
        compound's ``ProviderAssigned`` from ``day``, with ``command``'s row (exactly once).
        Returns the event's log position and the unit stream's version."""
        aggregate = self._load({}, compound)
        aggregate.change("ProviderAssigned", {"provider": provider, "from": day,
                                              "reason": reason}, actor, self._now())
        recordings = self._app._commit(aggregate, command=command, kind="event")
        self.refresh()
        return int(recordings[-1].notification.id), aggregate.version

    def _load(self, pending: dict[str, Unit], code: str) -> Unit:
        if code not in pending:
            unit = self._app.repository.get(unit_id(code))
            assert isinstance(unit, Unit)
            pending[code] = unit
        return pending[code]


_ORDER = {level: n for n, level in enumerate(
    (Level.PROVIDER, Level.STREET, Level.COMMUNITY, Level.AREA, Level.COMPOUND, Level.GRID)
)}


def _must_be_admin(actor: Actor) -> None:
    if actor.role is not Role.ADMIN:
        raise PermissionDenied("directory", actor.role, "only an admin manages the directory")


def _columns(row: Checked) -> set[str]:
    return {"name", "parent", *(c for c in ("name_en", "households", "kind")
                                if c in row.row.present)}


def _fields(row: Checked) -> dict[str, Any]:
    r = row.row
    fields: dict[str, Any] = {"name": r.name, "parent": r.parent or None}
    if "name_en" in r.present:
        fields["name_en"] = r.name_en or None
    if "households" in r.present:
        fields["households"] = row.households
    if "kind" in r.present:
        fields["kind"] = r.kind or None
    return fields


