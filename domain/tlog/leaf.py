"""The leaf data of one event (docs/adr/0050-log-leaf.md).

ASCII, commitments only (no personal data, no content)::

    yishi-event/v1\\n<position>\\n<stream id>\\n<version>\\n<event hash, lowercase hex>\\n

The position is the event's global notification id, the stream id the aggregate's UUID in
its canonical hyphenated lower-case form, the version its version in the stream and the
hash the chain hash of docs/adr/0004-hash-chain.md, which covers the sealed form of personal
fields: erasing a data subject never changes a leaf.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from uuid import UUID

PREFIX = "yishi-event/v1\n"
_LEAF = re.compile(
    r"yishi-event/v1\n(0|[1-9][0-9]{0,18})\n"
    r"([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\n"
    r"([1-9][0-9]{0,18})\n([0-9a-f]{64})\n"
)


class LeafError(ValueError):
    """Bytes that are not yishi leaf data."""


@dataclass(frozen=True)
class Leaf:
    """What one leaf commits to."""

    position: int
    stream_id: str
    version: int
    event_hash: str

    def data(self) -> bytes:
        return leaf_data(self.position, self.stream_id, self.version, self.event_hash)


def leaf_data(position: int, stream_id: UUID | str, version: int, event_hash: str) -> bytes:
    """The leaf data: ``stream_id`` a UUID or its canonical text, ``event_hash`` 64 hex."""
    return f"{PREFIX}{position}\n{stream_id}\n{version}\n{event_hash}\n".encode("ascii")


def parse_leaf(data: bytes) -> Leaf:
    """The fields of leaf data, or LeafError if it is not exactly in the v1 form."""
    try:
        text = data.decode("ascii")
    except UnicodeDecodeError:
        raise LeafError("leaf data is not ASCII") from None
    match = _LEAF.fullmatch(text)
    if match is None:
        raise LeafError("leaf data is not in the yishi-event/v1 form")
    return Leaf(int(match[1]), match[2], int(match[3]), match[4])


_HASH_KEY = b',"hash":"'
_HEX_DIGITS = b"0123456789abcdef"
#: The length of a stored state's tail that holds its chain hash: ``,"hash":"<64>"}``.
HASH_TAIL = 75


def hash_from_tail(tail: bytes) -> str | None:
    """The chain hash at the end of a stored event's JSON (where the library's encoding of
    yishi's events puts it), or None if the tail is not of that form (parse it in full)."""
    if len(tail) == HASH_TAIL and tail.startswith(_HASH_KEY) and tail.endswith(b'"}'):
        digest = tail[9:73]
        if not digest.strip(_HEX_DIGITS):  # 64 lower-case hex digits
            return digest.decode("ascii")
    return None
