"""The stored topics of a provider's events (服务单位事件主题), without importing the
aggregate: ``domain.verification`` needs the names only (docs/adr/0090-provider-stream.md)."""

from __future__ import annotations

#: The events of a provider's stream (practices.md, "Providers and the red/black list").
PROVIDER_EVENT_NAMES: tuple[str, ...] = (
    "ProviderRegistered", "ProviderRated", "ProviderSummoned",
)
#: Stored topic -> event name.
PROVIDER_TOPICS: dict[str, str] = {
    f"yishi:Provider.{name}": name for name in PROVIDER_EVENT_NAMES
}
