"""The residents' notice board (公示栏), ``/board/<compound>``: no login, read on phones
and printed for the physical board.

What we plan, must and are doing (想干、要干、正在干), per compound: topics under
deliberation (steps review, pre-consult, negotiate), decisions published (the notice,
when the publicity period ends, objections raised), work being carried out (implement and
supervise: who, by when, how far) and cases resolved in the last 90 days with their
ratings. Only texts staff wrote appear: the topic's title (TopicFormed), the decision's
notice (DecisionPublished), the assignee named at assignment. Never the resident's title
or description, and never a name or phone: the board reads the event data of these
event types only, and the reporter's envelope is never opened.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any
from uuid import UUID

from eventsourcing.postgres import PostgresApplicationRecorder
from eventsourcing.utils import get_topic
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.i18n import text
from api.pages.access import cases_of
from api.pages.names import unit_names
from api.pages.render import page_language, render
from domain.application import Cases
from domain.case import Case
from domain.directory.model import Level
from projections import queries
from projections.fold import EventView
from projections.queries import EVERYTHING
from projections.runner import decode

router = APIRouter(prefix="/board", include_in_schema=False)

REVIEW_STEPS = ("review", "pre-consult", "negotiate")
WORK_STEPS = ("implement", "supervise")
RECENT = timedelta(days=90)
#: Items shown per section (a board, on paper or a phone, is read at a glance).
SHOWN = 12
#: Open cases read to count the sections (a compound with more shows "LISTED+" at most).
LISTED = 500
#: The event types whose staff-written fields the board may show, and those fields.
SHOWN_FIELDS: dict[str, tuple[str, ...]] = {
    "TopicFormed": ("title",),
    "MeetingScheduled": ("scheduled_at",),
    "DecisionPublished": ("notice", "publicity_days"),
    "ObjectionRaised": (),
    "ImplementationAssigned": ("assignee", "assignee_role", "due_at"),
    "ProgressReported": ("percent",),
    "ImplementationCompleted": (),
    "ResidentRated": ("satisfaction",),
}
#: Their stored topics (explicit since the first day, docs/adr/0002-stored-topics.md): the
#: board reads and decodes these events only.
SHOWN_TOPICS = [get_topic(getattr(Case, name)) for name in SHOWN_FIELDS]


def events_of(cases: Cases, ids: list[UUID]) -> dict[UUID, list[EventView]]:
    """The events of several cases whose fields the board shows (``SHOWN_FIELDS``), as the
    projections read them: one query on PostgreSQL decoded by the projections' runner
    (``projections.runner.decode``, which honours a cipher or compressor), one read per
    case elsewhere."""
    recorder = cases.recorder
    found: dict[UUID, list[EventView]] = {case_id: [] for case_id in ids}
    if isinstance(recorder, PostgresApplicationRecorder) and ids:
        rows = cases.db.execute(
            "SELECT originator_id, originator_version, topic, state FROM"
            f" {cases.db.table(recorder.events_table_name)} WHERE originator_id = ANY(%s)"
            " AND topic = ANY(%s) ORDER BY originator_id, originator_version",
            (ids, SHOWN_TOPICS),
        )
        stored = [SimpleNamespace(id=0, originator_id=row[0], originator_version=int(row[1]),
                                  topic=str(row[2]), state=bytes(row[3])) for row in rows]
        for _position, view in decode(cases, stored):  # type: ignore[arg-type]
            found[UUID(view.originator_id)].append(view)
        return found
    for case_id in ids:
        found[case_id] = [EventView.of(e) for e in cases.events.get(case_id)
                          if isinstance(e, Case.Event)]
    return found


def board_item(row: dict[str, Any], events: list[EventView]) -> dict[str, Any] | None:
    """What the board shows of one case, from its staff-written events; None without a
    topic (a case not yet formed into a topic is not on the board)."""
    item: dict[str, Any] = {"id": row["id"], "step": row["step"], "deadline": row["deadline"],
                            "closed_at": row["closed_at"], "objections": 0, "progress": None,
                            "ratings": {}, "topic": None, "notice": None, "assignee": None,
                            "assignee_role": None, "due_at": None, "meeting_at": None,
                            "publicity_ends_at": None}
    ratings: dict[str, str] = {}
    for event in events:
        kind = event.type
        if kind not in SHOWN_FIELDS:
            continue
        data = {name: event.data.get(name) for name in SHOWN_FIELDS[kind]}
        if kind == "TopicFormed":
            item["topic"] = data["title"]
        elif kind == "MeetingScheduled":
            item["meeting_at"] = data["scheduled_at"]
        elif kind == "DecisionPublished":
            item["notice"] = data["notice"]
            item["objections"] = 0
            item["publicity_ends_at"] = event.timestamp + timedelta(
                days=int(data["publicity_days"] or 0))
        elif kind == "ObjectionRaised":
            item["objections"] += 1
        elif kind == "ImplementationAssigned":
            item.update(assignee=data["assignee"], assignee_role=data["assignee_role"],
                        due_at=data["due_at"], progress=0)
        elif kind == "ProgressReported":
            item["progress"] = data["percent"]
        elif kind == "ImplementationCompleted":
            item["progress"] = 100
        elif kind == "ResidentRated":  # each resident's latest rating counts (ADR 0021)
            resident = str(event.data.get("resident_id") or event.actor_id)
            ratings[resident] = str(data["satisfaction"])
    for value in ratings.values():
        item["ratings"][value] = item["ratings"].get(value, 0) + 1
    return item if item["topic"] else None


def _section(step: str) -> str:
    if step in REVIEW_STEPS:
        return "review"
    return "published" if step == "publish" else "working"


@dataclass(frozen=True)
class _Read:
    """What a board reads from the projections and the log: fixed by the position."""

    open_rows: list[dict[str, Any]]
    closed_rows: list[dict[str, Any]]
    known: bool
    items: dict[str, dict[str, Any] | None]


#: Boards read, per database: by (generation, position, compound), the most recent first.
BOARDS_KEPT = 64
_BOARDS: weakref.WeakKeyDictionary[Any, OrderedDict[tuple[int, int, str], _Read]] = (
    weakref.WeakKeyDictionary())
_BOARDS_LOCK = threading.Lock()


def _read(cases: Cases, compound: str) -> _Read:
    """The board's reads, remembered by the projections' generation and position: every
    row and event it shows was recorded by then, so until an event moves the position a
    board is not read again (the same reasoning as docs/adr/0083-figures-by-position.md)."""
    key = (*queries.generation_position(cases), compound)
    with _BOARDS_LOCK:
        kept = _BOARDS.setdefault(cases.db, OrderedDict())
        found = kept.get(key)
        if found is not None:
            kept.move_to_end(key)
            return found
    listed = queries.list_cases(cases, EVERYTHING, compound=[compound], status="open",
                                step=[*REVIEW_STEPS, "publish", *WORK_STEPS],
                                sort="deadline", limit=LISTED, count_limit=1)
    closed = queries.list_cases(cases, EVERYTHING, compound=[compound], status="closed",
                                resolution=["resolved"], sort="-updated_at", limit=SHOWN,
                                count_limit=1)
    shown: dict[str, list[dict[str, Any]]] = {"review": [], "published": [], "working": []}
    for row in listed["data"]:
        shown[_section(row["step"])].append(row)
    candidates = [row for found in shown.values() for row in found[:SHOWN]] + closed["data"]
    events = events_of(cases, [UUID(row["id"]) for row in candidates])
    known = listed["count"] + closed["count"] > 0 or bool(
        queries.list_cases(cases, EVERYTHING, compound=[compound], limit=1,
                           count_limit=1)["count"])
    read = _Read(listed["data"], closed["data"], known,
                 {row["id"]: board_item(row, events[UUID(row["id"])]) for row in candidates})
    with _BOARDS_LOCK:
        kept = _BOARDS.setdefault(cases.db, OrderedDict())
        kept[key] = read
        while len(kept) > BOARDS_KEPT:
            kept.popitem(last=False)
    return read


def board_data(cases: Cases, compound: str) -> dict[str, Any]:
    """The four sections of a compound's board, read with list_cases (GET /cases): at most
    ``SHOWN`` items each (the nearest deadlines first; the most recently closed), with the
    number of cases in each section (up to ``LISTED``). Whether the compound has a case at
    all needs no full count: each list counts one row at most (``count_limit=1``). What is
    read is remembered by position (``_read``); "resolved recently" is judged at now."""
    now = cases.clock.now()
    read = _read(cases, compound)
    rows: dict[str, list[dict[str, Any]]] = {"review": [], "published": [], "working": []}
    for row in read.open_rows:
        rows[_section(row["step"])].append(row)
    rows["resolved"] = [row for row in read.closed_rows if row["closed_at"] is not None
                        and now - datetime.fromisoformat(row["closed_at"]) <= RECENT]
    counts = {key: len(found) for key, found in rows.items()}
    sections = {key: [item for item in (read.items[row["id"]] for row in found[:SHOWN])
                      if item is not None]
                for key, found in rows.items()}
    return {"sections": sections, "counts": counts, "known": read.known, "as_of": now}


@router.get("/{compound}", response_class=HTMLResponse)
def board(request: Request, compound: str) -> HTMLResponse:
    lang = page_language(request)
    cases = cases_of(request)
    if len(compound) > 64:
        return render(request, "board_missing.html", status=404,
                      message=text("board.unknown", lang))
    unit = cases.directory.unit(compound)
    if unit is not None and unit.level is not Level.COMPOUND:  # a street, grid, provider...
        return render(request, "board_missing.html", status=404,
                      message=text("board.unknown", lang))
    names = unit_names(request, [compound])
    data = board_data(cases, compound)
    if not data["known"] and names[compound] == compound:
        return render(request, "board_missing.html", status=404,
                      message=text("board.unknown", lang))
    return render(request, "board.html", compound=compound, name=names[compound], **data)
