"""``yishi log keygen|checkpoint|status`` and ``yishi export``: the operator's side of the
verifiable log (可验证日志). docs/adr/0051-log-keys.md says how to keep the key."""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path
from typing import Any

import orjson

from api.cli import CommandError, case_id_arg, open_store
from domain.config import parse_database_url
from domain.errors import CaseNotFound
from domain.tlog.note import NoteError, Signer
from projections import tlog_store as ls
from projections.tlog_reads import case_bundle, write_log_bundle
from projections.tlog_service import log_status
from projections.tlog_signer import (
    LogInconsistent,
    LogSigner,
    SigningStopped,
    latest_checkpoint,
    read_key,
    write_key,
)


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "log", help="the verifiable log: make its key, sign a checkpoint, show its state",
        description="The Merkle log over every event, and its signed checkpoints.")
    commands = parser.add_subparsers(dest="log_command", required=True, metavar="ACTION")
    keygen = commands.add_parser(
        "keygen", help="create a signing key file (mode 0600) and print its verifier key")
    keygen.add_argument("--origin", required=True,
                        help="the log's origin, e.g. yishi.example/jiedao-1 (also the key name)")
    keygen.add_argument("--out", required=True, type=Path, help="the key file to create")
    keygen.set_defaults(run=run_keygen)
    checkpoint = commands.add_parser(
        "checkpoint", help="bring the log up to the head and sign a checkpoint now")
    checkpoint.set_defaults(run=run_checkpoint)
    status = commands.add_parser(
        "status", help="verifier key, size, last checkpoint, events not yet covered")
    status.set_defaults(run=run_status)

    export = subparsers.add_parser(
        "export", help="write a case bundle or a whole-log bundle (read-only)",
        description="Read-only: bundles of stored events with their proofs against the "
        "latest checkpoint, for 'yishi audit verify' (docs/bundle-format.md).")
    export.add_argument("--case", dest="cases", action="append", type=case_id_arg,
                        default=[], metavar="CASE_ID", help="a case to export (repeatable)")
    export.add_argument("--all", action="store_true", help="the whole log (JSON lines)")
    export.add_argument("--since", type=int, metavar="SIZE",
                        help="add a consistency proof from this earlier tree size")
    export.add_argument("--out", required=True, type=Path, help="the bundle file to write")
    export.set_defaults(run=run_export)


def run_keygen(args: argparse.Namespace) -> int:
    try:
        signer = Signer.generate(args.origin)
    except NoteError as error:
        raise CommandError(str(error)) from None
    try:
        write_key(args.out, signer)
    except FileExistsError:
        raise CommandError(f"{args.out} exists: a key is never overwritten") from None
    except OSError as error:
        raise CommandError(f"cannot write {args.out}: {error.strerror}") from None
    print(signer.verifier.text())
    return 0


def run_checkpoint(args: argparse.Namespace) -> int:
    cases = open_store(args, existing=True)  # signs an existing store's log; creates none
    ls.LogFollower(cases).catch_up()
    signer = LogSigner(cases)
    try:
        made = signer.sign()
    except LogInconsistent as error:
        print(f"yishi: REFUSED: {error}", file=sys.stderr)
        return 1
    except SigningStopped as error:
        raise CommandError(str(error)) from None
    if signer.created:
        print(f"yishi: {signer.created}", file=sys.stderr)
    if made is None:
        last = latest_checkpoint(cases.db)
        print(f"nothing new to sign: the latest checkpoint covers {last[0] if last else 0}"
              " leaves", file=sys.stderr)
        if last:
            sys.stdout.write(last[2])
        return 0
    sys.stdout.write(made.note)
    return 0


def run_status(args: argparse.Namespace) -> int:
    cases = open_store(args, existing=True)  # read-only: never creates a store
    status = log_status(cases)
    signer = LogSigner(cases, create=False)
    path = signer.key_path()
    out = sys.stdout
    try:
        key = read_key(path).verifier.text() if path is not None and path.exists() else None
    except SigningStopped as error:
        key = f"unreadable ({error})"
    out.write(f"verifier key  {key or '-'}\n")
    out.write(f"key file      {path or '- (set YISHI_LOG_KEY_FILE)'}\n")
    out.write(f"log size      {status['size']} leaves (position {status['position']},"
              f" {status['lag']} event(s) behind the head)\n")
    last = latest_checkpoint(cases.db) if ls.has_tables(cases.db) else None
    out.write(f"checkpoint    size {status['checkpoint_size']}\n")
    out.write(f"not covered   {status['uncovered']} leaves + {status['lag']} events\n")
    if last:
        out.write("\n" + last[2])
    return 0


def _existing_store(args: argparse.Namespace) -> None:
    """Exit status 2 unless the named store exists: export never creates one."""
    settings = parse_database_url(getattr(args, "database_url", None))
    if settings.kind == "sqlite":
        path = Path(settings.library_env["SQLITE_DBNAME"])
        if not path.exists():
            raise CommandError(f"no store at {path}")
        import sqlite3  # noqa: PLC0415

        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            found = conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?",
                                 ("yishi_tlog_checkpoints",)).fetchone()
        if found is None:
            raise CommandError(f"the store at {path} has no log yet")
    elif settings.kind == "postgres":
        import psycopg  # noqa: PLC0415

        env = settings.library_env
        try:
            with psycopg.connect(host=env["POSTGRES_HOST"], port=env["POSTGRES_PORT"],
                                 dbname=env["POSTGRES_DBNAME"], user=env["POSTGRES_USER"],
                                 password=env["POSTGRES_PASSWORD"], connect_timeout=10) as conn:
                row = conn.execute("SELECT to_regclass(%s)",
                                   (f'"{settings.schema}"."yishi_tlog_checkpoints"',)).fetchone()
        except psycopg.Error as error:
            raise CommandError(f"cannot reach {settings.display}: {error}") from None
        if row is None or row[0] is None:
            raise CommandError(f"no store with a log at {settings.display}")


def run_export(args: argparse.Namespace) -> int:
    if bool(args.cases) == bool(args.all):
        raise CommandError("give --case CASE_ID (one or more) or --all")
    _existing_store(args)
    cases = open_store(args)
    if latest_checkpoint(cases.db) is None:
        raise CommandError("the log has no checkpoint yet: run 'yishi log checkpoint'")
    try:
        if args.all:
            with args.out.open("wb") as out:
                written = write_log_bundle(cases, out)
            print(f"wrote {args.out}: the whole log, {written} leaves")
            return 0
        bundles = [case_bundle(cases, case_id, args.since) for case_id in args.cases]
    except CaseNotFound:
        raise
    except ValueError as error:
        raise CommandError(str(error)) from None
    document: Any = bundles[0] if len(bundles) == 1 else {
        "format": bundles[0]["format"], "kind": "cases", "bundles": bundles}
    args.out.write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n")
    events = sum(len(b["events"]) for b in bundles)
    print(f"wrote {args.out}: {len(bundles)} case(s), {events} event(s)")
    return 0
