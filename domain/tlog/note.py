"""C2SP signed notes and checkpoints, Ed25519, with keys in Go's ``sumdb/note`` forms.

Sources: C2SP signed-note.md and tlog-checkpoint.md; golang.org/x/mod/sumdb/note (whose
``Open`` verifies a yishi checkpoint unchanged, tests/tlog/test_go_interop.py).

- A note is text ending in ``\\n``, a blank line, then signature lines
  ``— <key name> <base64(4-byte key id || signature)>\\n`` (U+2014, a space, the name, a
  space, standard base64).
- Key id: the first 4 bytes of SHA-256(key name || 0x0A || 0x01 || Ed25519 public key),
  big-endian; 0x01 is the Ed25519 signature type, the signature is over the text.
- Verifier key: ``<name>+<8 hex key id>+<base64(0x01 || public key)>``.
- Private key (Go's form, in a file): ``PRIVATE+KEY+<name>+<8 hex key id>+<base64(0x01 ||
  32-byte seed)>``.
- A checkpoint's text is ``<origin>\\n<tree size>\\n<base64 root>\\n``; the key name is the
  origin. Unknown signatures are ignored; a note verifies when a known key's does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
DASH = "\u2014"
_NAME = re.compile(r"[^\s+]+")


class NoteError(ValueError):
    """A key or note that cannot be read, or a signature that does not verify."""


def _b64decode(text: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise NoteError(f"not standard base64: {text[:20]!r}") from None


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def _check_name(name: str) -> str:
    if not _NAME.fullmatch(name) or not name.isprintable():
        raise NoteError(f"key name {name!r} must be non-empty, without spaces or '+'")
    return name


def key_id(name: str, public_key: bytes) -> int:
    """The 32-bit key id of an Ed25519 key (signed-note.md)."""
    digest = hashlib.sha256(name.encode() + b"\n" + bytes([ED25519]) + public_key).digest()
    return int.from_bytes(digest[:4], "big")


@dataclass(frozen=True)
class Verifier:
    """A public key that checks notes: its name, id and raw Ed25519 key."""

    name: str
    id: int
    public_key: bytes

    @classmethod
    def parse(cls, text: str) -> Verifier:
        """Read a verifier key ``name+hex id+base64(0x01 || key)``, checking its id."""
        parts = text.strip().split("+", 2)
        if len(parts) != 3 or not re.fullmatch(r"[0-9a-f]{8}", parts[1]):
            raise NoteError("a verifier key is <name>+<8 hex digits>+<base64 key>")
        name = _check_name(parts[0])
        raw = _b64decode(parts[2])
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the verifier key is not an Ed25519 (type 0x01) key")
        public = raw[1:]
        if key_id(name, public) != int(parts[1], 16):
            raise NoteError("the verifier key's id does not match its name and key")
        return cls(name, int(parts[1], 16), public)

    def text(self) -> str:
        return f"{self.name}+{self.id:08x}+{b64(bytes([ED25519]) + self.public_key)}"

    def verify(self, message: bytes, signature: bytes) -> bool:
        try:
            Ed25519PublicKey.from_public_bytes(self.public_key).verify(signature, message)
        except InvalidSignature:
            return False
        return True


@dataclass(frozen=True)
class Signer:
    """A private key that signs notes (Go's ``PRIVATE+KEY+...`` form in a file)."""

    name: str
    seed: bytes

    @classmethod
    def generate(cls, name: str) -> Signer:
        seed = Ed25519PrivateKey.generate().private_bytes_raw()
        return cls(_check_name(name), seed)

    @classmethod
    def parse(cls, text: str) -> Signer:
        parts = text.strip().split("+", 4)
        if len(parts) != 5 or parts[:2] != ["PRIVATE", "KEY"]:
            raise NoteError("a private key is PRIVATE+KEY+<name>+<key id>+<base64 key>")
        name = _check_name(parts[2])
        raw = _b64decode(parts[4])
        if len(raw) != 33 or raw[0] != ED25519:
            raise NoteError("the private key is not an Ed25519 (type 0x01) key")
        signer = cls(name, raw[1:])
        if f"{signer.verifier.id:08x}" != parts[3]:
            raise NoteError("the private key's id does not match its name and key")
        return signer

    @property
    def _key(self) -> Ed25519PrivateKey:
        return Ed25519PrivateKey.from_private_bytes(self.seed)

    @property
    def verifier(self) -> Verifier:
        public = self._key.public_key().public_bytes_raw()
        return Verifier(self.name, key_id(self.name, public), public)

    def text(self) -> str:
        return (f"PRIVATE+KEY+{self.name}+{self.verifier.id:08x}+"
                f"{b64(bytes([ED25519]) + self.seed)}")

    def sign(self, text: str) -> str:
        """The signed note of ``text`` (which must end in a newline)."""
        return sign_note(text, [self])

    def signature_line(self, text: str) -> str:
        value = self.verifier.id.to_bytes(4, "big") + self._key.sign(text.encode())
        return f"{DASH} {self.name} {b64(value)}\n"


def sign_note(text: str, signers: Sequence[Signer]) -> str:
    """``text`` signed by every one of ``signers`` (one signature line each, in order):
    during a key rotation the old and the new key both sign, and each verifier uses the
    line of the key it knows."""
    if not text.endswith("\n") or "\n\n" in text:
        raise NoteError("a note's text ends in one newline and has no blank line")
    if not signers:
        raise NoteError("a note needs at least one signer")
    return text + "\n" + "".join(signer.signature_line(text) for signer in signers)


@dataclass(frozen=True)
class Note:
    """A parsed signed note: its text and its signatures (name, key id, signature)."""

    text: str
    signatures: tuple[tuple[str, int, bytes], ...]

    @classmethod
    def parse(cls, note: str) -> Note:
        if not note.endswith("\n"):
            raise NoteError("a signed note ends in a newline")
        split = note.rfind("\n\n")
        if split < 0:
            raise NoteError("a signed note has a blank line before its signatures")
        text, lines = note[: split + 1], note[split + 2 :].splitlines()
        if not lines:
            raise NoteError("the note has no signature")
        signatures = []
        for line in lines:
            parts = line.split(" ")
            if len(parts) != 3 or parts[0] != DASH:
                raise NoteError("a signature line is '— <key name> <base64 signature>'")
            raw = _b64decode(parts[2])
            if len(raw) < 5:
                raise NoteError("a signature is too short")
            signatures.append((parts[1], int.from_bytes(raw[:4], "big"), raw[4:]))
        return cls(text, tuple(signatures))

    def verified_by(self, verifier: Verifier) -> bool:
        """True if a signature of ``verifier``'s name and id verifies over the text."""
        message = self.text.encode()
        return any(
            name == verifier.name and kid == verifier.id and verifier.verify(message, signature)
            for name, kid, signature in self.signatures
        )


@dataclass(frozen=True)
class Checkpoint:
    """A verified checkpoint: the origin, tree size and root hash, and the note itself."""

    origin: str
    size: int
    root: bytes
    note: str

    @staticmethod
    def body(origin: str, size: int, root: bytes) -> str:
        return f"{origin}\n{size}\n{b64(root)}\n"


def sign_checkpoint(signer: Signer | Sequence[Signer], size: int, root: bytes) -> str:
    """A checkpoint of ``size`` and ``root`` signed by ``signer`` (origin = its key name),
    or by several keys of the same name (a rotation)."""
    signers = [signer] if isinstance(signer, Signer) else list(signer)
    if len({s.name for s in signers}) != 1:
        raise NoteError("the log's keys all carry its origin as their name")
    return sign_note(Checkpoint.body(signers[0].name, size, root), signers)


def open_checkpoint(note: str, verifier: Verifier) -> Checkpoint:
    """The checkpoint in ``note`` if ``verifier`` signed it, else NoteError (what is wrong)."""
    parsed = Note.parse(note)
    if not parsed.verified_by(verifier):
        raise NoteError(f"the checkpoint is not signed by {verifier.name}+{verifier.id:08x}")
    lines = parsed.text.split("\n")
    if len(lines) < 4 or not re.fullmatch(r"0|[1-9][0-9]{0,18}", lines[1]):
        raise NoteError("a checkpoint's text is <origin>, <tree size>, <base64 root hash>")
    if lines[0] != verifier.name:
        raise NoteError(f"the checkpoint's origin {lines[0]!r} is not {verifier.name!r}")
    root = _b64decode(lines[2])
    if len(root) != 32:
        raise NoteError("the checkpoint's root hash is not 32 bytes")
    return Checkpoint(lines[0], int(lines[1]), root, note)
