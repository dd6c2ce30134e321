"""The per-case hash chain (哈希链): canonical encoding and SHA-256.

The encoding is specified in docs/adr/0004-hash-chain.md so that an auditor can recompute
every hash in another language. In short: a JSON object with the keys below, keys sorted,
no insignificant white space, strings as UTF-8 without escaping non-ASCII, integers only
(no floats anywhere), times as UTC ISO 8601 with microseconds and "+00:00".
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.catalogue import canonical_time

GENESIS = "0" * 64


def canonical_bytes(
    *,
    case_id: UUID,
    version: int,
    event_type: str,
    recorded_at: datetime,
    actor_id: str,
    actor_role: str,
    step_before: str | None,
    step_after: str,
    data: Mapping[str, Any],
    prev_hash: str,
) -> bytes:
    """The exact bytes that an event's hash covers."""
    document = {
        "actor": {"id": actor_id, "role": actor_role},
        "case_id": str(case_id),
        "data": data,
        "prev_hash": prev_hash,
        "recorded_at": canonical_time(recorded_at),
        "step_after": step_after,
        "step_before": step_before,
        "type": event_type,
        "version": version,
    }
    return json.dumps(
        document, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def event_hash(**content: Any) -> str:
    """SHA-256 (hex) of the canonical bytes of an event's content."""
    return hashlib.sha256(canonical_bytes(**content)).hexdigest()
