"""``yishi audit pull|verify``: the auditor's commands (审计), offline and store-free.

They need only the installed package (standard library, ``cryptography``, ``orjson``):
no store, no server settings, and they import neither (api/cli.py loads only this module
for ``yishi audit``). ``--key`` takes the verifier key text (or a file holding it).

The mirror (``--dir``): ``checkpoints/<size>`` (every checkpoint, as served),
``entries/<N>`` (entry bundles; the last one may be partial) and ``state.json`` (the size
and the compact range of the leaves held, so a pull reads only new entries).
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from domain.tlog import tiles as tl
from domain.tlog.bundle import (
    BundleError,
    Mirror,
    Report,
    read_log_bundle,
    verify_case_bundle,
    verify_log_bundle,
)
from domain.tlog.note import Checkpoint, NoteError, Verifier, open_checkpoint
from domain.tlog.tree import CompactRange, leaf_hash


class AuditError(Exception):
    """Bad usage or an unreadable input: one line, exit status 2."""


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "audit", help="the auditor's commands: mirror the log, verify a bundle (offline)",
        description="Check yishi's log without trusting its operator; needs no store.")
    commands = parser.add_subparsers(dest="audit_command", required=True, metavar="ACTION")
    pull = commands.add_parser(
        "pull", help="update a mirror of the checkpoints and entries, checking each")
    pull.add_argument("url", help="the server, e.g. https://yishi.example")
    pull.add_argument("--token", help="an auditor's bearer token (needed for the entries)")
    pull.add_argument("--key", required=True, help="the log's verifier key")
    pull.add_argument("--dir", required=True, type=Path, help="the mirror directory")
    pull.set_defaults(run=run_pull)
    verify = commands.add_parser(
        "verify", help="verify a case or whole-log bundle; exit 1 naming what is wrong")
    verify.add_argument("file", type=Path, help="the bundle")
    verify.add_argument("--key", required=True, help="the log's verifier key")
    verify.add_argument("--mirror", type=Path, help="a mirror from 'yishi audit pull'")
    verify.add_argument("--checkpoint", action="append", type=Path, default=[],
                        help="an earlier checkpoint you hold (repeatable)")
    verify.set_defaults(run=run_verify)


def _verifier(text: str) -> Verifier:
    if os.path.isfile(text):
        text = Path(text).read_text().strip()
    try:
        return Verifier.parse(text)
    except NoteError as error:
        raise AuditError(f"--key: {error}") from None


# The mirror ------------------------------------------------------------------------------


def _state(root: Path) -> dict[str, Any]:
    path = root / "state.json"
    if not path.exists():
        return {"size": 0, "compact": []}
    state: dict[str, Any] = json.loads(path.read_text())
    return state


def mirror_leaves(root: Path, size: int) -> Iterator[bytes]:
    """The first ``size`` leaves held in a mirror."""
    count = 0
    for n in range((size + tl.TILE_WIDTH - 1) >> tl.TILE_HEIGHT):
        for data in tl.decode_entries((root / "entries" / str(n)).read_bytes()):
            if count == size:
                return
            yield data
            count += 1


def open_mirror(root: Path, verifier: Verifier) -> Mirror:
    if not (root / "state.json").exists():
        raise AuditError(f"{root} is not a mirror (no state.json): run 'yishi audit pull'")
    state = _state(root)
    checkpoints = []
    for path in sorted((root / "checkpoints").iterdir(), key=lambda p: int(p.name)):
        try:
            checkpoints.append(open_checkpoint(path.read_text(), verifier))
        except NoteError as error:
            raise AuditError(f"the mirror's checkpoint {path}: {error}") from None
    return Mirror(tuple(checkpoints), int(state["size"]),
                  lambda n: mirror_leaves(root, n))


def _reason(error: Any) -> str:
    """``": <detail>"`` of the server's problem document (RFC 9457) in an
    ``urllib.error.HTTPError``, or nothing: what the server said is the reason the auditor
    needs ("for district-wide auditors")."""
    try:
        problem = json.loads(error.read(65536).decode("utf-8"))
    except (OSError, ValueError):
        return ""
    detail = problem.get("detail") if isinstance(problem, dict) else None
    return f": {' '.join(str(detail).split())[:300]}" if detail else ""


def _get(url: str, token: str | None) -> bytes:
    import urllib.error  # noqa: PLC0415 (only 'audit pull' needs HTTP: verify starts faster)
    import urllib.request  # noqa: PLC0415

    if not url.startswith(("http://", "https://")):
        raise AuditError(f"{url}: only http:// and https:// servers")
    request = urllib.request.Request(url)  # noqa: S310 (the scheme is checked above)
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310
            body: bytes = answer.read()
            return body
    except urllib.error.HTTPError as error:
        raise AuditError(f"GET {url}: HTTP {error.code}{_reason(error)}") from None
    except (urllib.error.URLError, OSError) as error:
        raise AuditError(f"GET {url}: {getattr(error, 'reason', error)}") from None


def run_pull(args: argparse.Namespace) -> int:
    verifier = _verifier(args.key)
    base = args.url.rstrip("/")
    root: Path = args.dir
    (root / "checkpoints").mkdir(parents=True, exist_ok=True)
    (root / "entries").mkdir(exist_ok=True)
    state = _state(root)
    size = int(state["size"])
    compact = CompactRange(size, [base64.b64decode(h) for h in state["compact"]])
    try:
        latest = open_checkpoint(_get(f"{base}/log/checkpoint", None).decode(), verifier)
    except NoteError as error:
        print(f"yishi: FAILED: the log's latest checkpoint: {error}")
        return 1
    if latest.size < size:
        print(f"yishi: FAILED: the log's checkpoint (size {latest.size}) is smaller than the"
              f" mirror (size {size}): the log was cut")
        return 1
    notes: list[Checkpoint] = []
    after = size - 1 if size else 0
    while True:
        page = json.loads(_get(f"{base}/log/checkpoints?after={after}&limit=1000", None))
        for item in page["checkpoints"]:
            if item["size"] > latest.size:
                continue
            try:
                notes.append(open_checkpoint(item["note"], verifier))
            except NoteError as error:
                print(f"yishi: FAILED: the checkpoint of size {item['size']}: {error}")
                return 1
        if page.get("next_after") is None:
            break
        after = page["next_after"]
    due = {c.size: c for c in notes if c.size >= size}
    due[latest.size] = latest
    failed = _check_root(compact, due, root)
    n = size >> tl.TILE_HEIGHT
    while compact.size < latest.size and not failed:
        width = min(tl.TILE_WIDTH, latest.size - (n << tl.TILE_HEIGHT))
        bundle = _get(f"{base}/log/{tl.tile_path('entries', n, width)}", args.token)
        entries = tl.decode_entries(bundle)
        if len(entries) != width:
            raise AuditError(f"entry bundle {n} has {len(entries)} entries, not {width}")
        held = compact.size - (n << tl.TILE_HEIGHT)
        path = root / "entries" / str(n)
        if held and tl.decode_entries(path.read_bytes())[:held] != entries[:held]:
            print(f"yishi: FAILED: entries {n << tl.TILE_HEIGHT}..{compact.size - 1} changed"
                  " since the last pull: the log rewrote history")
            return 1
        for data in entries[held:]:
            compact.append(leaf_hash(data))
            failed = failed or _check_root(compact, due, root)
        path.write_bytes(bundle)
        n += 1
    if failed:
        return 1
    _save(root, compact, latest)
    print(f"mirror {root}: size {compact.size}, {len(notes)} checkpoint(s) checked,"
          f" latest {latest.origin} size {latest.size}")
    return 0


def _check_root(compact: CompactRange, due: dict[int, Checkpoint], root: Path) -> bool:
    """True (and says so) if a checkpoint of the current size disagrees with the leaves."""
    checkpoint = due.get(compact.size)
    if checkpoint is None:
        return False
    if compact.root() != checkpoint.root:
        print(f"yishi: FAILED: the checkpoint of size {checkpoint.size} does not match the"
              " log's entries: the log rewrote history (re-signed or not)")
        return True
    (root / "checkpoints" / str(checkpoint.size)).write_text(checkpoint.note)
    return False


def _save(root: Path, compact: CompactRange, latest: Checkpoint) -> None:
    state = {"origin": latest.origin, "size": compact.size,
             "compact": [base64.b64encode(h).decode() for h in compact.hashes]}
    temporary = root / "state.json.tmp"
    temporary.write_text(json.dumps(state))
    temporary.replace(root / "state.json")


# Verifying a bundle ------------------------------------------------------------------------


def run_verify(args: argparse.Namespace) -> int:
    verifier = _verifier(args.key)
    earlier = []
    for path in args.checkpoint:
        try:
            earlier.append(open_checkpoint(path.read_text(), verifier))
        except (OSError, NoteError) as error:
            raise AuditError(f"--checkpoint {path}: {error}") from None
    mirror = open_mirror(args.mirror, verifier) if args.mirror else None
    try:
        with args.file.open("rb") as handle:
            first = handle.readline()
            try:
                header = json.loads(first)
            except ValueError:
                header = None
            if isinstance(header, dict) and header.get("kind") == "log":
                handle.seek(0)
                head, records = read_log_bundle(handle)
                report = verify_log_bundle(head, records, verifier, earlier=earlier,
                                           mirror=mirror)
            else:
                handle.seek(0)
                document = json.loads(handle.read())
                report = _verify_document(document, verifier, earlier, mirror)
    except OSError as error:
        raise AuditError(f"cannot read {args.file}: {error.strerror}") from None
    except (ValueError, KeyError, TypeError) as error:
        raise AuditError(f"{args.file} is not a bundle: {error}") from None
    for line in report.proved:
        print(f"ok: {line}")
    for line in report.findings:
        print(f"FAILED: {line}")
    return 0 if report.ok else 1


def _verify_document(document: Any, verifier: Verifier, earlier: list[Checkpoint],
                     mirror: Mirror | None) -> Report:
    if isinstance(document, dict) and document.get("kind") == "cases":
        report = Report()
        for bundle in document.get("bundles", []):
            one = verify_case_bundle(bundle, verifier, earlier=earlier, mirror=mirror)
            report.proved += one.proved
            report.findings += one.findings
        return report
    if not isinstance(document, dict):
        raise BundleError("not a bundle")
    return verify_case_bundle(document, verifier, earlier=earlier, mirror=mirror)


def main(args: argparse.Namespace) -> int:
    """Run an audit command: exit 0 verified, 1 a check failed, 2 bad usage or input."""
    try:
        status: int = args.run(args)
    except (AuditError, BundleError) as error:
        print(f"yishi: {error}", file=sys.stderr)
        return 2
    return status
