"""The stored topics of the fee periods' events (收费事件主题), without importing the fee
aggregate: ``domain.verification`` needs the names only (docs/adr/0110-fee-figures.md)."""

from __future__ import annotations

#: The events of a fee period's stream (practices.md, "Fee collection").
FEE_EVENT_NAMES: tuple[str, ...] = ("FeePeriodOpened", "FeesCollected", "FeesRefunded")
#: Stored topic -> event name.
FEE_TOPICS: dict[str, str] = {f"yishi:FeePeriod.{name}": name for name in FEE_EVENT_NAMES}
