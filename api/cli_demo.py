"""``yishi demo``: fill the store with a simulated district (模拟街道)."""

from __future__ import annotations

import argparse
import importlib
import shlex
import sys
from datetime import UTC, datetime, timedelta
from typing import Any

from api.cli import CommandError
from api.cli_store import open_or_create
from api.progress import Progress
from domain.application import Cases
from domain.bounds import check_time
from domain.clock import ManualClock
from domain.config import parse_database_url
from domain.model import Actor, Role
from projections.points_figures import LOCAL, points_stats
from projections.points_policy import PointsPolicy
from projections.service import rebuild
from simulation.directory import STREET_CODE, provider_codes
from simulation.district import District, build_district, grid_code
from simulation.driver import Summary, generate

MAX_CASES = 1_000_000


def register(subparsers: Any) -> None:
    demo = subparsers.add_parser(
        "demo",
        help="fill the store with a simulated district: a year of cases through the eight steps",
        description="Simulate one street of six communities and three dozen compounds, with a "
        "year of cases before --now, every event decided by the domain. The same --seed, "
        "--cases and --now give the same events. The store must hold no events yet.",
    )
    demo.add_argument("--cases", default="2000", metavar="N",
                      help="how many cases (default 2000)")
    demo.add_argument("--seed", default="1", metavar="S", help="random seed (default 1)")
    demo.add_argument("--now", metavar="DATE",
                      help="the simulated present, YYYY-MM-DD or an ISO time in UTC "
                      "(default: today at 00:00 UTC)")
    demo.add_argument("--workers", default="0", metavar="N",
                      help="processes simulating ahead while this one saves (default 0: none); "
                      "worth it only with idle cores; the events are the same")
    demo.add_argument("--database-url", default=argparse.SUPPRESS,
                      help="the store (as for yishi itself)")
    demo.set_defaults(run=run_demo)


def _whole(text: str, name: str, minimum: int, maximum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise CommandError(f"{name} must be a whole number, not {text!r}") from None
    if not minimum <= value <= maximum:
        raise CommandError(f"{name} must be from {minimum:,} to {maximum:,}, not {value}")
    return value


def _now(text: str | None) -> datetime:
    if text is None:
        today = datetime.now(UTC).date()
        return datetime(today.year, today.month, today.day, tzinfo=UTC)
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return check_time(moment).astimezone(UTC)
    except ValueError as error:
        raise CommandError(
            f"--now must be YYYY-MM-DD or an RFC 3339 time from 2000-01-01 to 2100-01-01, "
            f"not {text!r} ({error})"
        ) from None


def run_demo(args: argparse.Namespace) -> int:
    cases = _whole(args.cases, "--cases", 1, MAX_CASES)
    seed = _whole(args.seed, "--seed", 0, 2**63 - 1)
    now = _now(args.now)
    workers = _whole(args.workers, "--workers", 0, 32)
    url = getattr(args, "database_url", None)
    display = parse_database_url(url).display
    app = open_or_create(url, clock=ManualClock(now))
    try:
        existing = app.head_position()
        if existing:
            raise CommandError(
                f"the store at {display} already holds {existing:,} events: the demo fills an "
                "empty store (pass another --database-url)"
            )
        print(f"simulating {cases:,} cases (seed {seed}, now {now.isoformat()}) into {display}",
              file=sys.stderr)
        summary = generate(app, cases=cases, seed=seed, now=now,
                           progress=Progress(cases, "cases"), workers=workers)
        awarded = PointsPolicy(app).catch_up()  # participation points (docs/adr/0101)
        _project(app)
        district = build_district(seed)
        _print_summary(summary, district, now)
        _print_points(app, summary, awarded, now)
        _print_access(app, summary, district, url)
    finally:
        app.close()
    return 0


def _project(app: Cases) -> None:
    """Build the read models to the head now, with a progress bar, so that ``yishi serve``
    starts ready with the whole district (a fresh store: one rebuild in bulk)."""
    head = app.head_position()
    progress = Progress(head, "events projected")
    rebuild(app, on_batch=lambda _events, position: progress(min(position, head)))
    progress(head)


def _print_summary(s: Summary, district: District, now: datetime) -> None:
    rate = s.cases / s.seconds if s.seconds else 0.0
    erate = s.events / s.seconds if s.seconds else 0.0
    out = sys.stdout
    out.write(f"\n{district.street}: {len(district.communities)} communities, "
              f"{len(district.compounds)} compounds "
              f"({len(district.without_property())} without a property company)\n")
    out.write(f"{s.cases:,} cases, {s.events:,} events in {s.seconds:.1f} s "
              f"({rate:,.0f} cases/s, {erate:,.0f} events/s)\n")
    if s.first_report and s.last_report:
        out.write(f"reported from {s.first_report:%Y-%m-%d} to {s.last_report:%Y-%m-%d}; "
                  f"now is {now:%Y-%m-%d %H:%M} UTC\n")
    out.write(f"open: {s.open:,} ({s.overdue:,} overdue); closed: "
              + ", ".join(f"{k} {v:,}" for k, v in s.resolutions.most_common()) + "\n")
    out.write("categories: " + ", ".join(f"{k} {v:,}" for k, v in s.categories.most_common())
              + "\n")
    if s.fee_events:  # simulation/fees.py: GET /stats/fees, /dashboard/fees
        out.write(f"fee collection: {s.fee_events:,} events (a period per compound and month;"
                  " GET /stats/fees)\n")


def _print_points(app: Cases, s: Summary, awarded: int, now: datetime) -> None:
    """Participation points: what was recorded, and last month's top three per community."""
    out = sys.stdout
    out.write(f"points: {s.participants:,} participants, {s.points.get('hours', 0):,} records "
              f"of volunteer hours ({s.points.get('reversals', 0):,} reversed), "
              f"{s.points.get('redemptions', 0):,} redemptions, "
              f"{awarded:,} awards by the policy\n")
    month = f"{(now.astimezone(LOCAL).replace(day=1) - timedelta(days=1)):%Y-%m}"
    figures = points_stats(app, Actor("demo", Role.ADMIN), group_by="community", month=month,
                           top=3)
    for group in figures["groups"]:
        top = ", ".join(f"{t['name']} {t['balance']}" for t in group["top"])
        out.write(f"  {month} {group['group']['community_id']}: awarded {group['awarded']}, "
                  f"redeemed {group['redeemed']}, reversed {group['reversed']}; top {top}\n")


def _credentials(app: Cases) -> Any | None:
    try:
        module = importlib.import_module("api.credentials")
    except ImportError:
        return None
    return module.Credentials(app.db)


def _print_access(app: Cases, s: Summary, district: District, url: str | None) -> None:
    out = sys.stdout
    yishi = "yishi" + (f" --database-url {shlex.quote(url)}" if url else "")
    compound = next(c for c in district.compounds if c.has_property_company)
    community = compound.community.id
    credentials = _credentials(app)
    auditor_token = None
    if credentials is not None:
        out.write(f"\ntokens (shown once; scope: compound {compound.id} {compound.name}, "
                  f"community {community}):\n")
        grants: list[tuple[Role, tuple[str, ...], tuple[str, ...], str]] = [
            (Role.RESIDENT, (compound.id,), (), f"{compound.name}居民"),
            (Role.GRID_WORKER, (), (), f"{compound.name}网格员"),  # --grid, below
            (Role.COMMUNITY, (), (community,), compound.community.name),
            (Role.PARTY_BRANCH, (compound.id,), (), f"{compound.name}党支部"),
            (Role.OWNERS_COMMITTEE, (compound.id,), (), f"{compound.name}业委会"),
            (Role.PROPERTY_COMPANY, (compound.id,), (), str(compound.property_company)),
            (Role.AUDITOR, (), (), f"{district.street}审计"),
            (Role.ADMIN, (), (), f"{district.street}管理员"),
        ]
        for role, compounds, communities, name in grants:
            # The grid worker's token names its grid (--grid), as the demo's worker does.
            grids = [grid_code(compound.id)] if role is Role.GRID_WORKER else []
            token = credentials.create(role, compounds, communities, name, grids=grids)
            if role is Role.AUDITOR:
                auditor_token = token
            out.write(f"  {role.value:<17} {token}  ({name})\n")
        # Issue 13: the street (红黑榜, 约谈, 更换) and the compound's provider's own token.
        street = credentials.create(Role.STREET, name=f"{district.street}街道办",
                                    streets=[STREET_CODE])
        out.write(f"  {'street':<17} {street}  ({district.street}, the red/black list)\n")
        code = provider_codes(district)[str(compound.property_company)]
        own = credentials.create(Role.PROPERTY_COMPANY, name=f"{compound.property_company}"
                                 f" ({code})", provider=code)
        out.write(f"  {'property_company':<17} {own}  ({compound.property_company}, provider"
                  f" {code}: its own orders and figures)\n")
    out.write("\nlook around:\n")
    for label, case_id in list(s.examples.items())[:6]:
        out.write(f"  {yishi} replay {case_id}    # {label}\n")
    out.write(f"  {yishi} verify\n")
    if auditor_token is not None and s.examples:
        case_id = next(iter(s.examples.values()))
        serve = (f"YISHI_DATABASE_URL={shlex.quote(url)} " if url else "") + "scripts/serve"
        out.write(f"  {serve}   # then, in another terminal:\n")
        out.write(f"  curl -H 'Authorization: Bearer {auditor_token}' "
                  f"http://127.0.0.1:8000/cases/{case_id}\n")
        out.write(f"  curl -H 'Authorization: Bearer {auditor_token}' "
                  f"http://127.0.0.1:8000/cases/{case_id}/events\n")
        out.write(f"  curl -H 'Authorization: Bearer {auditor_token}' "
                  "'http://127.0.0.1:8000/stats/closure?group_by=grid'\n")
