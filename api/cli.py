"""The ``yishi`` command line: the operator's and the auditor's tool (命令行).

Subcommands live in small modules that each add themselves to the parser (``register``)
and run with an opened application. Only the module of the command being run is imported,
so a command pays for nothing it does not use (``yishi verify`` never loads the web stack).

Exit status, the same for every command (docs/adr/0045-exit-status.md):

- 0: done, or everything checked verified;
- 1: a verification failed (a broken chain);
- 2: it could not be done: bad usage, bad input, no store where one was named, a store that
  cannot be reached or was lost. The reason is one line on standard error, never a traceback;
- 130 and 141: stopped from outside (Ctrl-C, a closed pipe as in ``yishi replay ID | head``),
  quietly, as the shell reports a process ended by SIGINT or SIGPIPE;
- 70 (EX_SOFTWARE of sysexits.h): a bug; the traceback is printed to be reported.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING, NoReturn
from uuid import UUID

from api.version import package_version
from domain.bounds import printable
from domain.config import ConfigError
from domain.errors import CaseNotFound, DomainError

if TYPE_CHECKING:
    from domain.application import Cases

#: Each command and the module that adds it (``register(subparsers)``); a module may add
#: several. Adding a command is one line here and a module with ``register``.
COMMANDS: dict[str, str] = {
    "replay": "api.cli_audit",
    "verify": "api.cli_audit",
    "projections": "api.cli_projections",
    "demo": "api.cli_demo",
    "directory": "api.cli_directory",
    "serve": "api.cli_serve",
    "token": "api.cli_token",
    "log": "api.cli_log",
    "export": "api.cli_log",
    "audit": "api.cli_auditor",  # imports no store and no server (the auditor's side)
}

#: The exit statuses (see the module's docstring).
OK, FAILED, UNUSABLE, SOFTWARE, INTERRUPTED, CLOSED_PIPE = 0, 1, 2, 70, 130, 141

#: Top-level options that take a value (to find the command word without importing).
_VALUED_OPTIONS = ("--database-url",)


class CommandError(Exception):
    """A one-line message for standard error; the command exits with status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line: ``yishi: <what is wrong>``."""

    def error(self, message: str) -> NoReturn:
        self.exit(UNUSABLE, f"yishi: {message} (see '{self.prog} --help')\n")


def case_id_arg(text: str) -> UUID:
    try:
        return UUID(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a case id (a UUID)") from None


def open_store(args: argparse.Namespace, *, existing: bool = False) -> Cases:
    """The application on the store of ``--database-url`` (or the environment's default).

    ``existing=True`` is for read-only commands: the store must already exist, and nothing
    (file, database schema, table) is created; otherwise ``CommandError`` names what is
    missing. Without it, a missing store is created, as ``serve`` and ``token`` do.
    """
    from api.cli_store import open_existing, open_or_create  # noqa: PLC0415

    url = getattr(args, "database_url", None)
    cases = open_existing(url) if existing else open_or_create(url)
    _OPENED.append(cases)
    return cases


#: The stores this command opened: ``main`` closes them when the command ends, however it
#: ends (an unclosed store's pool would otherwise be closed by the garbage collector, at
#: any moment, on any thread: even its own worker's, which cannot join itself).
_OPENED: list[Cases] = []


def _close_opened() -> None:
    while _OPENED:
        cases = _OPENED.pop()
        try:
            cases.close()
        except Exception:  # the command's answer stands; a store that will not close is logged
            traceback.print_exc()


def version() -> str:
    """The installed distribution's version (the package metadata), as ``yishi X.Y.Z``."""
    found = package_version()
    return f"yishi {found}" if found else "yishi (not installed)"


def command_word(argv: Sequence[str]) -> str | None:
    """The command named in ``argv`` (the first word that is not a top-level option)."""
    words = iter(argv)
    for word in words:
        if word == "--":
            return next(words, None)
        if word in _VALUED_OPTIONS:
            next(words, None)
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with the module of the command in ``argv`` only; every module when
    ``argv`` names no known command (for ``--help`` and the error listing the commands)."""
    parser = Parser(
        prog="yishi",
        description="yishi (议事): cases through the eight-step deliberation method, "
        "as immutable and verifiable event streams.",
        epilog="Exit status: 0 done or all verified, 1 a verification failed, 2 bad usage, "
        "bad input or no usable store.",
    )
    parser.add_argument("--version", action="version", version=version())
    parser.add_argument(
        "--database-url",
        help="the store (default: $YISHI_DATABASE_URL, else the SQLite file ./yishi.db)",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    word = command_word(argv) if argv is not None else None
    modules = [COMMANDS[word]] if word in COMMANDS else list(dict.fromkeys(COMMANDS.values()))
    for name in modules:
        importlib.import_module(name).register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if command_word(argv) == "audit":  # its own statuses: 0 verified, 1 failed, 2 unusable
        auditor = importlib.import_module(COMMANDS["audit"])
        audit_status: int = auditor.main(build_parser(argv).parse_args(argv))
        return audit_status
    try:
        args = build_parser(argv).parse_args(argv)
        try:
            status: int = args.run(args)
        finally:
            _close_opened()
        sys.stdout.flush()  # a closed pipe shows here rather than at the interpreter's exit
    except (ConfigError, CommandError, CaseNotFound) as error:
        return _fail(str(error))
    except DomainError as error:
        return _fail(f"refused: {error}")
    except KeyboardInterrupt:
        return INTERRUPTED
    except BrokenPipeError:
        # The reader went away (``| head``): end quietly. Standard output now points at
        # /dev/null so that the interpreter's final flush does not complain either.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return CLOSED_PIPE
    except Exception:
        traceback.print_exc()
        print("yishi: internal error (a bug: please report the traceback above)",
              file=sys.stderr)
        return SOFTWARE
    return status


def _fail(message: str) -> int:
    print(f"yishi: {printable(' '.join(message.split()))}", file=sys.stderr)
    return UNUSABLE


__all__ = [
    "COMMANDS", "CommandError", "build_parser", "case_id_arg", "main", "open_store", "version",
]


if __name__ == "__main__":  # pragma: no cover
    # Run as ``python -m api.cli``: use the module's importable copy, so that the
    # subcommands' ``CommandError`` is the class ``main`` catches.
    from api.cli import main as _main

    sys.exit(_main())
