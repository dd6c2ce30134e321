"""The ``yishi`` command line: the operator's and the auditor's tool (命令行).

Subcommands live in small modules that each add themselves to the parser (``register``)
and run with an opened application. Errors are one line on standard error and a non-zero
exit status, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from typing import NoReturn
from uuid import UUID

from domain.application import Cases, open_cases
from domain.config import ConfigError
from domain.errors import CaseNotFound, DomainError

#: Modules that add subcommands: each has ``register(subparsers)``.
SUBCOMMAND_MODULES: tuple[str, ...] = (
    "api.cli_audit",
    "api.cli_projections",
    "api.cli_demo",
    "api.cli_directory",
    "api.cli_serve",
    "api.cli_token",
)


class CommandError(Exception):
    """A one-line message for standard error; the command exits with status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``yishi: <what is wrong>``."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"yishi: {message} (see '{self.prog} --help')\n")


def case_id_arg(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a case id (a UUID)") from None


def open_store(args: argparse.Namespace) -> Cases:
    return open_cases(getattr(args, "database_url", None))


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(
        prog="yishi",
        description="yishi (议事): cases through the eight-step deliberation method, "
        "as immutable and verifiable event streams.",
    )
    parser.add_argument(
        "--database-url",
        help="the store (default: $YISHI_DATABASE_URL, else the SQLite file ./yishi.db)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in SUBCOMMAND_MODULES:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        status: int = args.run(args)
    except (ConfigError, CommandError) as error:
        print(f"yishi: {error}", file=sys.stderr)
        return 2
    except CaseNotFound as error:
        print(f"yishi: {error}", file=sys.stderr)
        return 2
    except DomainError as error:
        print(f"yishi: refused: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    return status


__all__ = ["CommandError", "build_parser", "case_id_arg", "main", "open_store"]


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
