"""yishi's bundles and their verification: what ``yishi audit verify`` checks offline.

The format is documented in docs/bundle-format.md (so another language can verify it):

- a **case bundle** is one JSON document: ``{"format": "yishi-bundle/v1", "kind": "case",
  "stream_id", "checkpoint": <signed note>, "events": [{"stream_id", "version",
  "position", "topic", "state" | "state_b64", "leaf_index", "inclusion": [base64, ...]}],
  "consistency": {"from", "proof"} (optional)}``; ``leaf_index`` and ``inclusion`` are
  null for an event the checkpoint does not cover yet;
- a **whole-log bundle** is JSON lines: a header ``{"format", "kind": "log", "checkpoint",
  "size"}``, then one record per leaf in order ``{"i", "leaf", "event"}`` (``event`` null if
  the store no longer has it) and ``{"i": null, "leaf": null, "event"}`` for an event that
  has no leaf.

Each event's ``state`` is the stored JSON text whose hash chain docs/adr/0004 specifies.
Findings name the case, version and leaf index of anything wrong.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import orjson

from domain.tlog.leaf import HASH_TAIL, LeafError, hash_from_tail, leaf_data, parse_leaf
from domain.tlog.note import Checkpoint, NoteError, Verifier, open_checkpoint
from domain.tlog.tree import (
    CompactRange,
    ProofError,
    leaf_hash,
    verify_consistency,
    verify_inclusion,
)
from domain.verification import ChainWalker

FORMAT = "yishi-bundle/v1"


class BundleError(ValueError):
    """A file that is not a bundle (bad usage, exit status 2)."""


def state_field(state: bytes) -> dict[str, str]:
    """The stored state as bundled: UTF-8 text as is, anything else in base64."""
    try:
        return {"state": state.decode("utf-8")}
    except UnicodeDecodeError:
        return {"state_b64": base64.b64encode(state).decode("ascii")}


def _state_bytes(event: dict[str, Any]) -> bytes:
    if "state" in event:
        return str(event["state"]).encode("utf-8", "surrogatepass")
    return base64.b64decode(str(event["state_b64"]))


def _event_hash(state: bytes) -> str | None:
    found = hash_from_tail(state[-HASH_TAIL:])
    if found is not None:
        return found
    try:
        value = orjson.loads(state).get("hash")
    except (orjson.JSONDecodeError, AttributeError):
        return None
    return value if isinstance(value, str) else None


@dataclass
class Report:
    """What was proved (``proved``) and what is wrong (``findings``, each naming the case,
    version and leaf)."""

    proved: list[str] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings


@dataclass(frozen=True)
class Mirror:
    """An auditor's mirror, as the verifier sees it: checkpoints it checked on every pull
    and its leaves (every entry up to ``size``)."""

    checkpoints: tuple[Checkpoint, ...]
    size: int
    leaves: Any  # a callable returning an iterator over the first n leaf data


def _b64list(values: Any) -> list[bytes]:
    try:
        return [base64.b64decode(v, validate=True) for v in values]
    except (binascii.Error, ValueError, TypeError):
        raise BundleError("a proof hash is not base64") from None


def _open(note: Any, verifier: Verifier, report: Report) -> Checkpoint | None:
    if not isinstance(note, str):
        report.findings.append("the bundle carries no signed checkpoint")
        return None
    try:
        checkpoint = open_checkpoint(note, verifier)
    except NoteError as error:
        report.findings.append(f"checkpoint: {error}")
        return None
    report.proved.append(f"checkpoint {checkpoint.origin} size {checkpoint.size}"
                         f" signed by {verifier.name}+{verifier.id:08x}")
    return checkpoint


def _chain_findings(walker: ChainWalker, report: Report, leaves: dict[tuple[str, int], int]
                    ) -> int:
    events = 0
    for chain in walker.reports():
        events += chain.events
        if not chain.valid:
            where = leaves.get((str(chain.case_id), chain.broken_at or 0))
            at = f" (leaf {where})" if where is not None else ""
            report.findings.append(
                f"case {chain.case_id} version {chain.broken_at}{at}: {chain.reason}")
    return events


def verify_case_bundle(bundle: dict[str, Any], verifier: Verifier, *,
                       earlier: Iterable[Checkpoint] = (), mirror: Mirror | None = None
                       ) -> Report:
    """Check a case bundle: every event's hash and chain, its leaf and inclusion proof
    against the signed checkpoint, consistency with the auditor's earlier checkpoints,
    and with a mirror, that every leaf of the case up to the checkpoint is in the bundle."""
    if bundle.get("format") != FORMAT or bundle.get("kind") != "case":
        raise BundleError(f"not a {FORMAT} case bundle")
    report = Report()
    checkpoint = _open(bundle.get("checkpoint"), verifier, report)
    try:
        stream = UUID(str(bundle["stream_id"]))
        events = sorted(bundle["events"], key=lambda e: int(e["version"]))
    except (KeyError, TypeError, ValueError):
        raise BundleError("a case bundle names its stream and lists its events") from None
    walker = ChainWalker()
    leaves: dict[tuple[str, int], int] = {}
    covered = 0
    bundled: dict[int, bytes] = {}
    seen_uncovered: int | None = None
    for event in events:
        version, position = int(event["version"]), int(event["position"])
        state = _state_bytes(event)
        walker.feed(stream, version, str(event["topic"]), state)
        digest = _event_hash(state) or ""
        try:
            data = leaf_data(position, stream, version, digest)
        except UnicodeEncodeError:
            data = b""
        bundled[version] = data
        index = event.get("leaf_index")
        if index is None or event.get("inclusion") is None:
            seen_uncovered = seen_uncovered or version
            continue
        leaves[(str(stream), version)] = int(index)
        if seen_uncovered is not None:
            report.findings.append(f"case {stream} version {seen_uncovered}: claimed not yet"
                                   f" covered, but version {version} after it is")
        if checkpoint is None:
            continue
        try:
            verify_inclusion(int(index), checkpoint.size, leaf_hash(data),
                             _b64list(event["inclusion"]), checkpoint.root)
            covered += 1
        except ProofError as error:
            report.findings.append(f"case {stream} version {version} (leaf {index}):"
                                   f" not in the log as bundled: {error}")
    chained = _chain_findings(walker, report, leaves)
    if not report.findings:
        report.proved.append(f"case {stream}: {chained} event(s), hash chain intact,"
                             f" {covered} covered by the checkpoint,"
                             f" {len(events) - covered} not yet covered")
    if checkpoint is not None:
        _check_earlier(checkpoint, earlier, bundle.get("consistency"), report)
        if mirror is not None:
            _check_case_against_mirror(stream, checkpoint, bundled, leaves, mirror, report)
    return report


def _check_earlier(checkpoint: Checkpoint, earlier: Iterable[Checkpoint],
                   consistency: Any, report: Report) -> None:
    for old in earlier:
        if old.size == checkpoint.size:
            ok = old.root == checkpoint.root
        elif old.size > checkpoint.size:
            report.findings.append(f"the bundle's checkpoint (size {checkpoint.size}) is older"
                                   f" than yours (size {old.size}): fetch a newer bundle")
            continue
        elif isinstance(consistency, dict) and consistency.get("from") == old.size:
            try:
                verify_consistency(old.size, checkpoint.size, old.root, checkpoint.root,
                                   _b64list(consistency.get("proof", [])))
                ok = True
            except ProofError:
                ok = False
        else:
            report.findings.append(
                f"no consistency proof from your checkpoint of size {old.size} in the bundle"
                f" (export it with --since {old.size}, or verify with --mirror)")
            continue
        if ok:
            report.proved.append(f"consistent with your checkpoint of size {old.size}")
        else:
            report.findings.append(f"the log is not consistent with your checkpoint of size"
                                   f" {old.size}: history was rewritten")


def _mirror_root(mirror: Mirror, checkpoint: Checkpoint, report: Report) -> bool:
    if checkpoint.size > mirror.size:
        report.findings.append(f"the bundle's checkpoint (size {checkpoint.size}) is newer"
                               f" than the mirror (size {mirror.size}): run 'yishi audit pull'")
        return False
    compact = CompactRange()
    for data in mirror.leaves(checkpoint.size):
        compact.append(leaf_hash(data))
    if compact.root() != checkpoint.root:
        report.findings.append(f"the bundle's checkpoint (size {checkpoint.size}) is not"
                               " consistent with the mirror: the log rewrote history")
        return False
    report.proved.append(f"the checkpoint is consistent with the mirror (size {mirror.size})")
    return True


def _check_case_against_mirror(stream: UUID, checkpoint: Checkpoint, bundled: dict[int, bytes],
                               leaves: dict[tuple[str, int], int], mirror: Mirror,
                               report: Report) -> None:
    if not _mirror_root(mirror, checkpoint, report):
        return
    text = str(stream)
    found = 0
    for index, data in enumerate(mirror.leaves(checkpoint.size)):
        if text.encode() not in data:
            continue
        try:
            leaf = parse_leaf(data)
        except LeafError:
            continue
        if leaf.stream_id != text:
            continue
        found += 1
        if bundled.get(leaf.version) != data or leaves.get((text, leaf.version)) != index:
            report.findings.append(
                f"case {text} version {leaf.version} (leaf {index}, position {leaf.position}):"
                " in the log but missing or different in the bundle")
    if not report.findings:
        report.proved.append(f"complete: all {found} leaves of case {text} up to size"
                             f" {checkpoint.size} are in the bundle")


def read_log_bundle(lines: Iterable[bytes]) -> tuple[dict[str, Any], Iterator[dict[str, Any]]]:
    iterator = iter(lines)
    try:
        header = orjson.loads(next(iterator))
    except (StopIteration, orjson.JSONDecodeError):
        raise BundleError("an empty or unreadable bundle") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BundleError(f"not a {FORMAT} bundle")

    def records() -> Iterator[dict[str, Any]]:
        for line in iterator:
            if line[:1] == b"{" or line.strip():  # a record starts with "{" (no copy)
                try:
                    yield orjson.loads(line)
                except orjson.JSONDecodeError:
                    raise BundleError("a line of the bundle is not JSON") from None

    return header, records()


def verify_log_bundle(header: dict[str, Any], records: Iterable[dict[str, Any]],
                      verifier: Verifier, *, earlier: Iterable[Checkpoint] = (),
                      mirror: Mirror | None = None, max_findings: int = 50) -> Report:
    """Check a whole-log bundle: every leaf, the root, every event's chain and leaf, that
    every leaf has its event and every event its leaf, and the auditor's earlier
    checkpoints and mirror against the same leaves."""
    report = Report()
    checkpoint = _open(header.get("checkpoint"), verifier, report)
    check_leaves(records, checkpoint, report, earlier=earlier, mirror=mirror,
                 max_findings=max_findings)
    return report


class _LeafWalk:
    """The state of a walk over a whole-log bundle's records."""

    def __init__(self, earlier: Iterable[Checkpoint], mirror: Mirror | None, chains: bool
                 ) -> None:
        self.olds = {c.size: c for c in earlier}
        self.mirrored = iter(mirror.leaves(mirror.size)) if mirror is not None else None
        self.walker = ChainWalker() if chains else None
        self.compact = CompactRange()
        self.leaves: dict[tuple[str, int], int] = {}
        self.problems: list[str] = []
        self.proved: list[str] = []
        self.ids: dict[str, UUID] = {}

    def feed(self, event: dict[str, Any], state: bytes) -> str | None:
        """Walk the event's chain; its chain hash if the walker found it a valid link."""
        if self.walker is None:
            return None
        return self.walker.feed(self._uuid(event["stream_id"]), int(event["version"]),
                                str(event["topic"]), state)

    def _uuid(self, text: str) -> UUID:
        found = self.ids.get(text)
        if found is None:
            found = self.ids[text] = UUID(text)
        return found

    def record(self, record: dict[str, Any]) -> None:
        event = record.get("event")
        index = record.get("i")
        if index is None:
            if event is not None:
                self.problems.append(f"case {event['stream_id']} version {event['version']}"
                                     f" (position {event['position']}) has no leaf in the log")
                self.feed(event, _state_bytes(event))
            return
        if index != self.compact.size:
            raise BundleError(f"leaf {index} out of order (expected {self.compact.size})")
        data = str(record.get("leaf", "")).encode("ascii", "replace")
        self.compact.append(leaf_hash(data))
        if self.olds:
            self._earlier()
        theirs = next(self.mirrored, None) if self.mirrored is not None else data
        if event is not None:
            state = _state_bytes(event)
            # A link the walker verified carries exactly its digest as ``hash`` at the end of
            # its bytes (both of its paths check the bytes and the key order), so the digest
            # is what ``_event_hash`` would read there: the state is not searched again.
            linked = self.feed(event, state)
            stream, version = str(event["stream_id"]), int(event["version"])
            mine = leaf_data(int(event["position"]), stream, version,
                             linked or _event_hash(state) or "-")
            if mine == data and theirs in (data, None):  # the usual case: nothing to name
                # A chain can only be found broken at an event the walker did not link
                # (``_chain_findings`` names the leaf): only those are remembered.
                if linked is None and self.walker is not None:
                    self.leaves[(stream, version)] = index
                return
        try:
            leaf = parse_leaf(data)
        except LeafError:
            self.problems.append(f"leaf {index}: not yishi leaf data")
            return
        if theirs is not None and theirs != data:
            self.problems.append(f"leaf {index} (case {leaf.stream_id} version"
                                 f" {leaf.version}): differs from the mirror's")
        self.leaves[(leaf.stream_id, leaf.version)] = index
        if event is None:
            self.problems.append(f"case {leaf.stream_id} version {leaf.version} (leaf {index},"
                                 f" position {leaf.position}): the event is missing")
        else:
            self.problems.append(f"case {leaf.stream_id} version {leaf.version}"
                                 f" (leaf {index}): the event differs from its leaf")

    def _earlier(self) -> None:
        old = self.olds.pop(self.compact.size, None)
        if old is None:
            return
        if self.compact.root() == old.root:
            self.proved.append(f"consistent with the checkpoint of size {old.size}")
        else:
            self.problems.append(f"the log is not consistent with the checkpoint of size"
                                 f" {old.size}: history was rewritten")


def check_leaves(records: Iterable[dict[str, Any]], checkpoint: Checkpoint | None,
                 report: Report, *, earlier: Iterable[Checkpoint] = (),
                 mirror: Mirror | None = None, chains: bool = True,
                 max_findings: int = 50) -> None:
    """The whole-log checks of ``verify_log_bundle`` against an opened checkpoint (``yishi
    verify`` runs them on the store's own leaves, with ``chains=False`` as it walks the
    chains itself)."""
    walk = _LeafWalk(earlier, mirror, chains)
    for record in records:
        walk.record(record)
    report.proved += walk.proved
    chained = (_chain_findings(walk.walker, report, walk.leaves)
               if walk.walker is not None else None)
    compact = walk.compact
    if checkpoint is not None:
        if compact.size != checkpoint.size:
            walk.problems.append(f"the bundle has {compact.size} leaves, the checkpoint"
                                 f" {checkpoint.size}")
        elif compact.root() != checkpoint.root:
            walk.problems.append("the leaves do not give the checkpoint's root hash")
        else:
            report.proved.append(f"all {compact.size} leaves give the checkpoint's root")
    for old in walk.olds.values():
        walk.problems.append(f"the checkpoint of size {old.size} is beyond these leaves")
    report.findings.extend(walk.problems)
    if len(report.findings) > max_findings:
        more = len(report.findings) - max_findings
        report.findings[max_findings:] = [f"... and {more} more"]
    if report.ok and chained is not None and walk.walker is not None:
        report.proved.append(f"{chained} event(s) in {len(walk.walker.reports())} stream(s):"
                             " every hash chain intact, every event has its leaf")
