"""``yishi token create|list|revoke``: bearer tokens for the HTTP API (令牌)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from api.cli import CommandError, open_store
from api.credentials import Credentials
from domain.bounds import printable
from domain.errors import article
from domain.model import Role


def register(subparsers: Any) -> None:
    token = subparsers.add_parser(
        "token", help="create, list and revoke API tokens",
        description="Tokens carry a role and a scope; only their hash is stored.",
    )
    actions = token.add_subparsers(dest="token_command", required=True, metavar="ACTION")

    create = actions.add_parser(
        "create", help="create a token and print it (shown once, and nothing else)",
        description="A scope names registered units of the directory (--street, --community,"
        " --area, --compound, --grid) and covers everything beneath them; without any the"
        " token covers the whole store.",
    )
    create.add_argument("--role", required=True, choices=[r.value for r in Role])
    create.add_argument("--compound", action="append", default=[], metavar="C",
                        help="a compound (小区) in scope; repeatable")
    create.add_argument("--community", action="append", default=[], metavar="M",
                        help="a community (社区) in scope; repeatable")
    for level, chinese in (("street", "街道"), ("area", "片区"), ("grid", "网格")):
        create.add_argument(f"--{level}", action="append", default=[], metavar="CODE",
                            help=f"{article(level)} ({chinese}) in scope, and all beneath;"
                            " repeatable")
    create.add_argument("--provider", metavar="CODE",
                        help="the provider (物业公司 or 自管业委会) a property_company or"
                        " owners_committee token acts for: it records the implementation events"
                        " of its provider's orders only and reads its own figures only")
    create.add_argument("--name", help="what the token is for, a role label such as 网格员 "
                        "(a resident's is sealed as personal data)")
    create.set_defaults(run=run_create)

    listing = actions.add_parser("list", help="list tokens (never the tokens themselves)")
    listing.set_defaults(run=run_list)

    revoke = actions.add_parser("revoke", help="revoke a token by its id")
    revoke.add_argument("token_id", metavar="ID")
    revoke.set_defaults(run=run_revoke)


def _credentials(args: argparse.Namespace, *, existing: bool = True) -> tuple[Any, Credentials]:
    """``token create`` may set a store up; ``list`` and ``revoke`` need one that exists."""
    app = open_store(args, existing=existing)
    return app, Credentials(app.db)


def run_create(args: argparse.Namespace) -> int:
    app, credentials = _credentials(args, existing=False)
    try:
        named = [("street", c) for c in args.street] + [("community", c) for c in args.community]
        named += [("area", c) for c in args.area] + [("compound", c) for c in args.compound]
        named += [("grid", c) for c in args.grid]
        for level, code in named:
            unit = app.directory.unit(code)
            if unit is None or unit.level.value != level:
                raise CommandError(f"--{level} {code} is not a registered {level}; register it"
                                   " first (yishi directory import FILE.csv)")
        if args.role == Role.RESIDENT.value and not (args.compound or args.grid):
            raise CommandError("a resident token names the compound the resident lives in"
                               " (--compound C); without one it would cover the whole store")
        if args.provider is not None:
            _check_provider(app, args.role, args.provider)
        token = credentials.issue(args.role, args.compound, args.community, args.name,
                                  streets=args.street, areas=args.area, grids=args.grid,
                                  provider=args.provider).token
    finally:
        app.close()
    sys.stdout.write(token + "\n")
    return 0


def _check_provider(app: Any, role: str, code: str) -> None:
    """``--provider``: a provider of the directory whose kind is the token's role."""
    if role not in (Role.PROPERTY_COMPANY.value, Role.OWNERS_COMMITTEE.value):
        raise CommandError("--provider goes with --role property_company or owners_committee")
    unit = app.directory.unit(code)
    if unit is None or unit.level.value != "provider":
        raise CommandError(f"--provider {code} is not a registered provider; register it"
                           " first (yishi directory import FILE.csv)")
    if unit.kind != role:
        raise CommandError(f"--provider {code} is {article(str(unit.kind))},"
                           f" not {article(str(role))}")


def run_list(args: argparse.Namespace) -> int:
    app, credentials = _credentials(args)
    try:
        rows = credentials.list()
    finally:
        app.close()
    for c in rows:
        scope = ",".join(f"{level}:{code}" for level, code in c.units) or (
            "provider-served" if c.provider else "district")
        if c.provider:
            scope += f",provider:{c.provider}"
        state = f"revoked {c.revoked_at}" if c.revoked_at else "live"
        name = c.name or ("(erased)" if c.name_erased else "-")
        sys.stdout.write(f"{c.id}\t{c.role.value}\t{printable(scope)}\t{printable(name)}\t"
                         f"{c.created_at}\t{state}\n")
    return 0


def run_revoke(args: argparse.Namespace) -> int:
    app, credentials = _credentials(args)
    try:
        if credentials.get(args.token_id) is None:
            raise CommandError(f"no token with id {args.token_id}")
        revoked = credentials.revoke(args.token_id)
    finally:
        app.close()
    sys.stdout.write(f"revoked {args.token_id}\n" if revoked else
                     f"{args.token_id} was already revoked\n")
    return 0
