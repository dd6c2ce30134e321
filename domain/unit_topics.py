"""The stored topics of the directory's unit events (目录事件主题), without importing the
directory: ``domain.verification`` (which the auditor's offline commands use) needs the
names only, not the aggregate or the event store (docs/adr/0071-directory.md)."""

from __future__ import annotations

#: The events of a unit's stream, in the order the directory defines them.
UNIT_EVENT_NAMES: tuple[str, ...] = (
    "UnitRegistered", "UnitChanged", "ProviderAssigned", "GridTeamSet",
)
#: Stored topic -> event name.
UNIT_TOPICS: dict[str, str] = {f"yishi:Unit.{name}": name for name in UNIT_EVENT_NAMES}
