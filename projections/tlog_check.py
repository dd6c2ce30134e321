"""``yishi verify``'s check of the log against the events and the signed checkpoints.

Every leaf must have its event and every event (up to the last leaf) its leaf, equal to
the one the event gives; the leaves must give the root of every stored checkpoint; the
latest checkpoint's signature is checked when the key file is at hand. The chains are
walked by ``Cases.verify_all`` beside this.
"""

from __future__ import annotations

import base64

from domain.application import Cases
from domain.tlog.bundle import Report, check_leaves
from domain.tlog.note import Checkpoint, Note, NoteError, open_checkpoint
from projections import tlog_store as ls
from projections.tlog_reads import checkpoints, log_records
from projections.tlog_signer import LogSigner, SigningStopped, read_key


def _unverified(note: str) -> Checkpoint:
    lines = Note.parse(note).text.split("\n")
    return Checkpoint(lines[0], int(lines[1]), base64.b64decode(lines[2]), note)


def check_store_log(cases: Cases) -> Report:
    """Findings name the case, version and leaf index; an empty log passes."""
    report = Report()
    if not ls.has_tables(cases.db):  # read-only: a store whose log was never built
        report.proved.append("log: not built yet (no leaves, no checkpoint)")
        return report
    held = [note for _size, note in checkpoints(cases, 0, 10**9)]
    if not held:
        state = ls.read_state(cases.db)
        report.proved.append(f"log: {state.size} leaves, no checkpoint signed yet")
        return report
    try:
        parsed = [_unverified(note) for note in held]
    except (NoteError, ValueError, IndexError):
        report.findings.append("log: a stored checkpoint cannot be read")
        return report
    latest = parsed[-1]
    path = LogSigner(cases, create=False).key_path()
    if path is not None and path.exists():
        try:
            open_checkpoint(latest.note, read_key(path).verifier)
            report.proved.append(f"log: the latest checkpoint (size {latest.size}) is signed"
                                 " by the log's key")
        except (NoteError, SigningStopped) as error:
            report.findings.append(f"log: the latest checkpoint: {error}")
    check_leaves(log_records(cases, latest.size), latest, report, earlier=parsed[:-1],
                 chains=False)
    return report
