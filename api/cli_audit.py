"""``yishi replay`` and ``yishi verify``: what an auditor runs (审计)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli import CommandError, case_id_arg, open_store
from domain.bounds import printable
from domain.case import Case
from domain.summaries import summarise
from domain.verification import ChainReport
from projections.tlog_check import check_store_log
from projections.tlog_reads import coverage


def register(subparsers: Any) -> None:
    replay = subparsers.add_parser(
        "replay",
        help="print a case's history event by event, and its state after the last shown",
        description="Replay a case from its stored events (no snapshot), as an auditor reads it.",
    )
    replay.add_argument("case_id", type=case_id_arg, metavar="CASE_ID")
    replay.add_argument("--version", type=_version, help="stop after this version")
    replay.set_defaults(run=run_replay)

    verify = subparsers.add_parser(
        "verify",
        help="recompute the hash chains of one case or of every case",
        description="Exit status 0 only when every chain checked verifies.",
    )
    verify.add_argument("case_id", nargs="?", type=case_id_arg, metavar="CASE_ID")
    verify.set_defaults(run=run_verify)


def _version(text: str) -> int:
    """A whole number (its range is checked with the others: 1 to 2^31, as the API's)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def run_replay(args: argparse.Namespace) -> int:
    if args.version is not None and args.version < 1:
        raise CommandError("--version must be 1 or more")
    if args.version is not None and args.version > 2**31:
        raise CommandError(f"--version must be at most {2**31} (no case has more versions)")
    app = open_store(args, existing=True)
    steps = app.replay(args.case_id, up_to=args.version)
    if args.version is not None and steps[-1][0].version < args.version:
        raise CommandError(
            f"case {args.case_id} has no version {args.version} (its last is"
            f" {steps[-1][0].version})"
        )
    logged = {c["version"]: c for c in coverage(app, args.case_id)}
    out = sys.stdout
    out.write(f"case {args.case_id}\n")
    for event, _state in steps:
        leaf = logged.get(event.version, {})
        out.write(
            f"v{event.version:<4} {event.recorded_at.isoformat(timespec='seconds')}  "
            f"{event.actor_role}:{printable(event.actor_id)}  "
            f"{event.step_before or '-'} -> {event.step_after}  "
            f"{event.type}: {printable(summarise(event.type, event.data))}  "
            f"hash {event.hash[:16]}  "
            + (f"log leaf {leaf['leaf_index']}, covered\n" if leaf.get("covered")
               else "log: not yet covered by a checkpoint\n")
        )
    _event, state = steps[-1]
    out.write(f"\nstate after version {state.version}:\n")
    for key, value in describe(state, app.reporter_of(state)).items():
        out.write(f"  {key}: {printable(str(value))}\n")
    return 0


def describe(case: Case, reporter: dict[str, Any] | None) -> dict[str, Any]:
    if reporter is None:
        contact = "-"
    elif reporter.get("erased"):
        contact = "erased (personal data shredded)"
    else:
        contact = "sealed (personal data)"
    return {
        "step": case.step.value,
        "status": "open" if case.is_open else "closed",
        "resolution": case.resolution or "-",
        "compound": case.compound_id,
        "community": case.community_id,
        "title": case.title,
        "category": case.category,
        "support": case.support_count,
        "assignment": case.assignment or "-",
        "reporter": contact,
        "head hash": case.head_hash,
    }


#: What each kind of stream is called in ``yishi verify``'s lines (ChainReport.stream),
#: in the order they are counted: cases first, then the directory and the practices.
STREAM_NAMES = {
    "case": "case",
    "unit": "directory stream",
    "provider": "provider",  # issue 13: providers (docs/adr/0090)
    "participant": "points ledger",  # participation points (docs/adr/0101)
    "fee": "fee period",  # fee collection (docs/adr/0110)
}


def run_verify(args: argparse.Namespace) -> int:
    app = open_store(args, existing=True)
    everything: list[ChainReport] = (
        [app.verify(args.case_id)] if args.case_id else list(app.verify_all())
    )
    for report in everything:
        if not report.valid:
            name = STREAM_NAMES.get(report.stream, report.stream)
            print(f"BROKEN {name} {report.case_id} at version {report.broken_at}: "
                  f"{report.reason}", file=sys.stdout)
    reports = [r for r in everything if r.stream == "case"]
    broken = [r for r in reports if not r.valid]
    events = sum(r.events for r in reports)
    log_report = check_store_log(app) if not args.case_id else None
    if log_report is not None:
        for line in log_report.proved:
            print(f"ok {line}")
        for line in log_report.findings:
            print(f"BROKEN log: {line}")
    if args.case_id and not broken:
        print(f"ok case {args.case_id}: {events} events, head {reports[0].head}")
    print(
        f"checked {len(reports)} case(s), {events} event(s): "
        f"{len(reports) - len(broken)} valid, {len(broken)} broken"
    )
    for stream, name in STREAM_NAMES.items():
        streams = [r for r in everything if r.stream == stream]
        if stream == "case" or not streams:
            continue
        broken_here = [r for r in streams if not r.valid]
        print(f"checked {len(streams)} {name}(s), {sum(r.events for r in streams)} "
              f"event(s): {len(streams) - len(broken_here)} valid, {len(broken_here)} broken")
        broken += broken_here
    return 1 if broken or (log_report is not None and not log_report.ok) else 0
