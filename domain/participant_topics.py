"""The stored topics of a participant's events (积分事件主题), without importing the
aggregate: ``domain.verification`` needs the names only (docs/adr/0101-exactly-once-awards.md)."""

from __future__ import annotations

#: The events of a participant's stream (its registration and its ledger).
PARTICIPANT_EVENT_NAMES: tuple[str, ...] = (
    "ParticipantRegistered", "ParticipantLinked", "PointsAwarded", "PointsRedeemed",
    "PointsReversed",
)
#: Stored topic -> event name.
PARTICIPANT_TOPICS: dict[str, str] = {
    f"yishi:Participant.{name}": name for name in PARTICIPANT_EVENT_NAMES
}
