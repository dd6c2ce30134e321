"""Signing checkpoints, and where the log's private key comes from (检查点签名).

Settings (environment; docs/adr/0051-log-keys.md, 0052-checkpoint-cadence.md):

- ``YISHI_LOG_KEY_FILE``: the private key file (Go's ``PRIVATE+KEY+...`` form, mode 0600),
  outside the database. During a rotation it names two files separated by ``os.pathsep``
  (``new.key:old.key``), both of the log's origin: each checkpoint then carries both
  signatures (docs/adr/0051-log-keys.md). On the embedded SQLite store it defaults to
  ``<database file>.log-key`` and is created on first start with origin
  ``yishi.local/<random suffix>``; on PostgreSQL it is required, with
  ``YISHI_LOG_ORIGIN``, for anything to be signed.
- ``YISHI_LOG_ORIGIN``: the log's origin (= key name); when given it must match the key's.
- ``YISHI_LOG_CHECKPOINT_LEAVES`` (1000) and ``YISHI_LOG_CHECKPOINT_SECONDS`` (60): a
  checkpoint is due when that many leaves are not yet covered, or when any leaf has waited
  that long.

A key file that is missing while checkpoints exist stops signing with ``SigningStopped``:
never is a new key made then. The signer refuses to sign a tree that does not extend the
last signed one (``LogInconsistent``).
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from domain.application import Cases
from domain.storage import Database
from domain.tlog.note import Checkpoint, NoteError, Signer, open_checkpoint, sign_checkpoint
from projections import tlog_store as ls


class SigningStopped(Exception):
    """Checkpoints cannot be signed; the message says why and what to do, in one line."""


class LogInconsistent(SigningStopped):
    """The stored tree does not extend the last signed checkpoint: never signed over."""


def _number(name: str, default: float) -> float:
    text = os.environ.get(name, "").strip()
    if not text:
        return default
    try:
        value = float(text)
    except ValueError:
        raise SigningStopped(f"{name} must be a number") from None
    if value <= 0:
        raise SigningStopped(f"{name} must be more than 0")
    return value


@dataclass(frozen=True)
class LogSettings:
    key_file: str | None = field(
        default_factory=lambda: os.environ.get("YISHI_LOG_KEY_FILE", "").strip() or None)
    origin: str | None = field(
        default_factory=lambda: os.environ.get("YISHI_LOG_ORIGIN", "").strip() or None)
    every_leaves: int = field(
        default_factory=lambda: int(_number("YISHI_LOG_CHECKPOINT_LEAVES", 1000)))
    every_seconds: float = field(
        default_factory=lambda: _number("YISHI_LOG_CHECKPOINT_SECONDS", 60))


def default_key_file(cases: Cases) -> Path | None:
    """Beside the SQLite file of the embedded store; None for other stores."""
    path = cases.env.get("SQLITE_DBNAME") if cases.db.dialect == "sqlite" else None
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return Path(f"{path}.log-key")


def write_key(path: Path, signer: Signer) -> None:
    """Write a new key file, mode 0600, refusing to overwrite one."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(signer.text() + "\n")


def read_key(path: Path) -> Signer:
    try:
        text = path.read_text()
    except OSError as error:
        raise SigningStopped(f"cannot read the log's key file {path}: {error.strerror}") from None
    try:
        return Signer.parse(text)
    except NoteError as error:
        raise SigningStopped(f"the log's key file {path} is not a key: {error}") from None


def latest_checkpoint(db: Database) -> tuple[int, bytes, str] | None:
    """``(size, root, note)`` of the latest signed checkpoint, or None."""
    ls.ensure_tables(db)
    rows = db.execute(f"SELECT size, root, note FROM {ls.table(db, 'checkpoints')}"
                      " ORDER BY size DESC LIMIT 1")
    return (int(rows[0][0]), bytes(rows[0][1]), str(rows[0][2])) if rows else None


def checkpoint_count(db: Database) -> int:
    ls.ensure_tables(db)
    return int(db.execute(f"SELECT COUNT(*) FROM {ls.table(db, 'checkpoints')}")[0][0])


def _signed(note: str, signer: Signer) -> bool:
    try:
        open_checkpoint(note, signer.verifier)
    except NoteError:
        return False
    return True


class LogSigner:
    """Signs checkpoints of one store's log with its key (found, or made, once)."""

    def __init__(self, cases: Cases, settings: LogSettings | None = None,
                 *, create: bool = True) -> None:
        self.cases = cases
        self.db = cases.db
        self.settings = settings or LogSettings()
        self.create = create
        self._signer: Signer | None = None
        self._others: list[Signer] = []
        #: A line for logs: where a key was created (None if none was).
        self.created: str | None = None

    def key_path(self) -> Path | None:
        """The (first) key file."""
        if self.settings.key_file:
            return Path(self.settings.key_file.split(os.pathsep)[0])
        return default_key_file(self.cases)

    def _other_keys(self, origin: str) -> list[Signer]:
        paths = (self.settings.key_file or "").split(os.pathsep)[1:]
        others = []
        for path in map(Path, filter(None, paths)):
            if not path.exists():
                raise SigningStopped(f"the log's key file {path} is missing: signing stopped")
            other = read_key(path)
            if other.name != origin:
                raise SigningStopped(f"the key file {path} signs as {other.name!r}, not as"
                                     f" the log's origin {origin!r}")
            others.append(other)
        return others

    def signer(self) -> Signer:
        """The key, read once; made beside an embedded store with no checkpoints yet."""
        if self._signer is not None:
            return self._signer
        path = self.key_path()
        if path is None:
            raise SigningStopped(
                "the log is not signed: set YISHI_LOG_ORIGIN and YISHI_LOG_KEY_FILE "
                "(a file from 'yishi log keygen'); they are required on PostgreSQL")
        if not path.exists():
            held = checkpoint_count(self.db)
            if held:
                raise SigningStopped(
                    f"the log's key file {path} is missing and {held} checkpoint(s) exist:"
                    " signing stopped; restore the key from its backup (docs/adr/0051)")
            if not self.create or self.settings.key_file or self.db.dialect != "sqlite":
                raise SigningStopped(f"the log's key file {path} does not exist:"
                                     " create it with 'yishi log keygen'")
            origin = self.settings.origin or f"yishi.local/{secrets.token_hex(4)}"
            made = Signer.generate(origin)
            try:
                write_key(path, made)
            except FileExistsError:
                pass  # another process made it first: use theirs
            else:
                self.created = (f"created the log's signing key {path} (origin {origin});"
                                f" verifier key {made.verifier.text()}")
        signer = read_key(path)
        if self.settings.origin and signer.name != self.settings.origin:
            raise SigningStopped(f"the key file {path} signs as {signer.name!r},"
                                 f" not as YISHI_LOG_ORIGIN {self.settings.origin!r}")
        others = self._other_keys(signer.name)
        last = latest_checkpoint(self.db)
        if last is not None and not any(_signed(last[2], k) for k in [signer, *others]):
            raise SigningStopped(
                f"the key file {path} ({signer.verifier.text()}) did not sign the log's"
                " latest checkpoint: signing stopped (docs/adr/0051)")
        self._signer = signer
        self._others = others
        return signer

    def due(self, now: float | None = None) -> bool:
        """Whether the cadence asks for a checkpoint now."""
        state = ls.read_state(self.db)
        last = latest_checkpoint(self.db)
        signed = last[0] if last else 0
        if state.size <= signed:
            return False
        if state.size - signed >= self.settings.every_leaves:
            return True
        since = self._last_signed_at()
        now = datetime.now(UTC).timestamp() if now is None else now
        return since is None or now - since >= self.settings.every_seconds

    def _last_signed_at(self) -> float | None:
        rows = self.db.execute(f"SELECT signed_at FROM {ls.table(self.db, 'checkpoints')}"
                               " ORDER BY size DESC LIMIT 1")
        return datetime.fromisoformat(str(rows[0][0])).timestamp() if rows else None

    def sign(self) -> Checkpoint | None:
        """Sign the current tree if it grew since the last checkpoint; the new checkpoint,
        or None when there is nothing new. LogInconsistent if the stored tree does not
        reproduce the last signed root."""
        signer = self.signer()
        db = self.db
        with db.transaction() as cur:
            state = ls.lock_state(db, cur)
            rows = cur.execute(f"SELECT size, root FROM {ls.table(db, 'checkpoints')}"
                               " ORDER BY size DESC LIMIT 1").fetchall()
            last_size, last_root = (int(rows[0][0]), bytes(rows[0][1])) if rows else (0, b"")
            if state.size <= last_size:
                if state.size < last_size:
                    raise LogInconsistent(
                        f"the log holds {state.size} leaves but a checkpoint of size"
                        f" {last_size} was signed: the log tables were cut; never signing")
                return None
            if last_size and ls.root_at(db, last_size, cur) != last_root:
                raise LogInconsistent(
                    f"the stored tree no longer has the root signed at size {last_size}:"
                    " the log was altered; never signing over it")
            root = ls.root_at(db, state.size, cur)
            note = sign_checkpoint([signer, *self._others], state.size, root)
            cur.execute(f"INSERT INTO {ls.table(db, 'checkpoints')} (size, root, note,"
                        " signed_at) VALUES (%s, %s, %s, %s)",
                        (state.size, root, note, datetime.now(UTC).isoformat()))
        return Checkpoint(signer.name, state.size, root, note)
