"""``yishi directory import FILE.csv`` and ``yishi directory show [--unregistered]`` (目录).

The file is the contract of practices.md; ``show`` prints the same format, so a district
round-trips its spreadsheet. ``--unregistered`` lists, in that format with the names left
empty, the codes the store's cases and tokens use that the directory does not hold (a
store from before the directory): fill in the names and import the file.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from api.cli import CommandError, open_store
from api.credentials import Credentials
from domain.application import Cases
from domain.case import Case
from domain.csvcells import csv_line
from domain.directory.csvfile import COLUMNS, parse
from domain.errors import DirectoryRefused
from domain.model import Actor, Role

#: The order ``show`` prints levels in (parents before their children).
SHOW_ORDER = ("street", "community", "area", "provider", "compound", "grid")
#: The command line holds the database: it acts as a district-wide admin.
OPERATOR = Actor("cli", Role.ADMIN)


def register(subparsers: Any) -> None:
    directory = subparsers.add_parser(
        "directory", help="import and show the directory (street, community, area, "
        "compound, grid, providers)",
        description="The directory decides where cases are filed and what scopes cover.",
    )
    actions = directory.add_subparsers(dest="directory_command", required=True,
                                       metavar="ACTION")
    importing = actions.add_parser(
        "import", help="add and update units from a CSV file (removes nothing)",
        description="Columns level,code,name,parent and optional name_en,households,kind,"
        "provider,provider_from (practices.md). One bad row refuses the whole file.",
    )
    importing.add_argument("file", metavar="FILE.csv", type=Path)
    importing.set_defaults(run=run_import)
    show = actions.add_parser("show", help="print the directory in the import format")
    show.add_argument("--unregistered", action="store_true",
                      help="the codes cases and tokens use that are not registered")
    show.set_defaults(run=run_show)


def run_import(args: argparse.Namespace) -> int:
    try:
        text = args.file.read_bytes().decode("utf-8")
    except OSError as error:
        raise CommandError(f"cannot read {args.file}: {error.strerror}") from None
    except UnicodeDecodeError:
        raise CommandError(f"{args.file} is not UTF-8") from None
    try:
        rows = parse(text)
    except DirectoryRefused as refused:
        raise CommandError(f"{args.file}: {refused}") from None
    app = open_store(args)
    try:
        result = app.directory.apply_rows(rows, OPERATOR)
    except DirectoryRefused as refused:
        raise CommandError(f"{args.file}: {refused}; nothing was imported") from None
    finally:
        app.close()
    sys.stdout.write(f"added {result.added}, changed {result.changed}, "
                     f"provider assignments {result.assignments}\n")
    return 0


def run_show(args: argparse.Namespace) -> int:
    app = open_store(args, existing=True)  # read-only: never creates a store
    try:
        if args.unregistered:
            rows = unregistered(app)
        else:
            view = app.directory.refresh()
            rows = [[u.level.value, u.code, u.name, u.parent, u.name_en, u.households, u.kind,
                     u.provider, u.provider_from]
                    for u in sorted(view.units.values(),
                                    key=lambda u: (SHOW_ORDER.index(u.level.value), u.code))]
    finally:
        app.close()
    sys.stdout.write(csv_line(COLUMNS))
    for row in rows:
        sys.stdout.write(csv_line(row))
    return 0


def unregistered(app: Cases) -> list[list[Any]]:
    """Rows (names empty) for the codes in cases and tokens that the directory lacks."""
    view = app.directory.refresh()
    found: dict[str, tuple[str, str | None]] = {}
    topic = Case.ProblemReported.TOPIC
    start = 1
    while page := app.recorder.select_notifications(start=start, limit=1000, topics=[topic]):
        for notification in page:
            data = json.loads(notification.state)["data"]
            found.setdefault(data["community_id"], ("community", None))
            found[data["compound_id"]] = ("compound", data["community_id"])
        start = page[-1].id + 1
    for credential in Credentials(app.db).list():
        for level, code in credential.units:
            found.setdefault(code, (level, None))
    order = {"street": 0, "community": 1, "area": 2, "compound": 3, "grid": 4}
    missing = [(level, code, parent) for code, (level, parent) in found.items()
               if view.get(code) is None]
    missing.sort(key=lambda item: (order.get(item[0], 9), item[1]))
    return [[level, code, "", parent or ""] for level, code, parent in missing]
