"""``yishi projections run|rebuild|status``: the read models' operator commands (投影)."""

from __future__ import annotations

import argparse
import contextlib
import signal
import sqlite3
import sys
from typing import Any

import psycopg
from eventsourcing.persistence import PersistenceError

from api.cli import CommandError, open_store
from projections import store
from projections.points_policy import NAME as POLICY_NAME
from projections.points_policy import policy_status
from projections.service import ProjectionService, follow, rebuild
from projections.tlog_service import log_status


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "projections",
        help="run, rebuild or inspect the read models (case list, audit trail, figures)",
        description="The read models derived from the event log, and how far they are.",
    )
    commands = parser.add_subparsers(dest="projections_command", required=True, metavar="ACTION")

    run = commands.add_parser(
        "run",
        help="follow the log as a process of its own (resumes from its tracked position)",
        description="Follow the global log into the read models until stopped (SIGTERM, "
        "Ctrl-C). On PostgreSQL it wakes on the library's NOTIFY and polls in any case.",
    )
    run.add_argument("--batch-size", type=int, default=2000, help="events per transaction")
    run.add_argument("--interval", type=float, default=0.5,
                     help="seconds between polls when idle (default 0.5)")
    run.add_argument("--exit-at-head", action="store_true",
                     help="stop once the read models have caught up with the log")
    run.set_defaults(run=run_follow)

    build = commands.add_parser(
        "rebuild",
        help="rebuild every read model from the first event into fresh tables, then switch",
        description="Readers keep the current tables until the new ones have caught up.",
    )
    build.add_argument("--batch-size", type=int, default=5000, help="events per transaction")
    build.set_defaults(run=run_rebuild)

    status = commands.add_parser("status", help="each projection's position, the head, the lag")
    status.set_defaults(run=run_status)


def _database_error(error: BaseException) -> CommandError:
    text = str(error).strip().splitlines()
    detail = text[0] if text else type(error).__name__
    return CommandError(f"lost the database: {detail}")


def _is_database_error(error: BaseException) -> bool:
    return isinstance(error, psycopg.Error | sqlite3.Error | PersistenceError | OSError)


def run_follow(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be 1 or more")
    cases = open_store(args, existing=True)
    stopping = {"now": False}

    def stop(_signum: int, _frame: Any) -> None:
        stopping["now"] = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        follow(cases, batch_size=args.batch_size, interval=args.interval,
               should_stop=lambda: stopping["now"], exit_at_head=args.exit_at_head)
    except Exception as error:
        if _is_database_error(error):
            raise _database_error(error) from None
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
        with contextlib.suppress(Exception):  # closing a lost connection may fail too
            cases.close()
    return 0


def run_rebuild(args: argparse.Namespace) -> int:
    if args.batch_size < 1:
        raise CommandError("--batch-size must be 1 or more")
    cases = open_store(args, existing=True)
    try:
        result = rebuild(cases, batch_size=args.batch_size)
    except Exception as error:
        if _is_database_error(error):
            raise _database_error(error) from None
        raise
    rate = result["events_per_second"]
    print(
        f"rebuilt generation {result['generation']}: {result['events']} events in "
        f"{result['seconds']:.2f} s" + (f" ({rate:,.0f} events/s)" if rate else "")
    )
    return 0


def run_status(args: argparse.Namespace) -> int:
    cases = open_store(args, existing=True)
    try:
        if store.has_base(cases.db):
            status = ProjectionService(cases).status()
            tlog = log_status(cases)
        else:  # never projected: say so, and create nothing (a read-only command)
            head = cases.head_position()
            status = {"generation": 0, "head": head, "projections": {
                name: {"position": 0, "lag": head} for name in store.PROJECTIONS}}
            tlog = {"position": 0, "size": 0, "checkpoint_size": 0, "uncovered": 0,
                    "lag": head}
        points = policy_status(cases, status["head"])
    except Exception as error:
        if _is_database_error(error):
            raise _database_error(error) from None
        raise
    finally:
        cases.close()
    out = sys.stdout
    out.write(f"generation {status['generation']}, log head {status['head']}\n")
    for name, figures in status["projections"].items():
        out.write(f"{name:<8} position {figures['position']:>10}  lag {figures['lag']:>8}\n")
    out.write(f"{'log':<8} position {tlog['position']:>10}  (size {tlog['size']},"
              f" checkpoint {tlog['checkpoint_size']}, {tlog['uncovered']} not yet covered;"
              f" never rebuilt)  lag {tlog['lag']:>8}\n")
    out.write(f"{POLICY_NAME:<8} position {points['position']:>10}  (the points policy:"
              f" awards, never rebuilt)  lag {points['lag']:>8}\n")
    return 0
