"""The C2SP tlog-proof text (c2sp.org/tlog-proof@v1), an offline proof of one entry::

    c2sp.org/tlog-proof@v1
    extra <base64>            (optional; yishi puts the event's position in decimal)
    index <leaf index>
    <base64 proof hash>       (one per line, leaf to root)
    <blank line>
    <the checkpoint, verbatim>

Verifying it: the checkpoint's signature (``note.open_checkpoint``), then the inclusion
proof of the entry's leaf hash at ``index`` against the checkpoint's root.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from dataclasses import dataclass

from domain.tlog.note import b64

HEADER = "c2sp.org/tlog-proof@v1"


class ProofTextError(ValueError):
    """Text that is not a tlog-proof."""


@dataclass(frozen=True)
class TlogProof:
    index: int
    proof: tuple[bytes, ...]
    checkpoint: str
    extra: bytes | None = None

    def text(self) -> str:
        lines = [HEADER]
        if self.extra is not None:
            lines.append(f"extra {b64(self.extra)}")
        lines.append(f"index {self.index}")
        lines.extend(b64(h) for h in self.proof)
        return "\n".join(lines) + "\n\n" + self.checkpoint


def format_proof(index: int, proof: Sequence[bytes], checkpoint: str,
                 extra: bytes | None = None) -> str:
    return TlogProof(index, tuple(proof), checkpoint, extra).text()


def parse_proof(text: str) -> TlogProof:
    head, sep, checkpoint = text.partition("\n\n")
    if not sep:
        raise ProofTextError("a tlog-proof has a blank line before its checkpoint")
    lines = head.split("\n")
    if lines[0] != HEADER:
        raise ProofTextError(f"a tlog-proof starts with {HEADER}")
    at = 1
    extra = None
    try:
        if at < len(lines) and lines[at].startswith("extra "):
            extra = base64.b64decode(lines[at][6:], validate=True)
            at += 1
        match = re.fullmatch(r"index (0|[1-9][0-9]{0,18})", lines[at] if at < len(lines) else "")
        if match is None:
            raise ProofTextError("a tlog-proof names its entry: 'index <N>'")
        proof = tuple(base64.b64decode(line, validate=True) for line in lines[at + 1 :])
    except (binascii.Error, ValueError) as error:
        if isinstance(error, ProofTextError):
            raise
        raise ProofTextError("a proof hash is not standard base64") from None
    return TlogProof(int(match[1]), proof, checkpoint, extra)
