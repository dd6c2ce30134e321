"""The points policy: awards that follow case events, exactly once (积分奖励规则执行器).

A process application in the library's sense, written as the other followers here are: it
reads the log after its tracked position (``yishi_points_policy``), keeps the resident ->
participant links as of each event (folded from the participants' own events in log
order), asks the domain's table (``domain.points.rules.awards_for``) what each case event
earns, and records each award through ``Points.award_once``. Then it moves its position,
guarded (only from where it read).

Exactly once (docs/adr/0101-exactly-once-awards.md): an award carries a key (``topic:<case>``,
``meeting:<case>:<version>``, ``rating:<case>``); the ledger refuses a key it holds, on its
newest state, and the award's command id (derived from participant and key) commits in the
award's transaction under ``yishi_commands``' primary key. So a batch processed again after
a crash between the awards and the position, two policies running at once (the server's
thread and ``yishi projections run``), or a position lost altogether, award nothing twice.
``projections rebuild`` never touches the policy: it rebuilds read models, and awards are
events, not read models. An award is dated by the event that earned it, so processing later
(or again) records the same content.

It runs where the other followers run: ``PointsPolicyService`` in the server's background
thread (embedded default), and one step per loop of ``yishi projections run``.
"""

from __future__ import annotations

import logging
import os
import time
from typing import Any
from uuid import UUID

from domain.application import Cases
from domain.case import Case
from domain.participant_topics import PARTICIPANT_TOPICS
from domain.points.ledger import Participant
from domain.points.rules import POLICY_EVENT_TYPES, CaseEvent, awards_for
from projections.follower import FollowerThread

log = logging.getLogger(__name__)

TABLE = "yishi_points_policy"
NAME = "points"
DEFAULT_BATCH = 500
#: Seconds to sleep after each award (tests that kill the process mid-batch).
SLOWDOWN_ENV = "YISHI_POINTS_SLOWDOWN"
_LINK_TOPICS = [t for t, name in PARTICIPANT_TOPICS.items()
                if name in ("ParticipantRegistered", "ParticipantLinked")]
_CASE_TOPICS = [f"yishi:Case.{name}" for name in POLICY_EVENT_TYPES]


def ensure_table(cases: Cases) -> None:
    db = cases.db
    db.create(f"CREATE TABLE IF NOT EXISTS {db.table(TABLE)} ("
              " name TEXT PRIMARY KEY, position BIGINT NOT NULL)")
    rows = db.execute(f"SELECT position FROM {db.table(TABLE)} WHERE name = %s", (NAME,))
    if not rows:
        db.execute(f"INSERT INTO {db.table(TABLE)} (name, position) VALUES (%s, 0)"
                   " ON CONFLICT (name) DO NOTHING", (NAME,))


def policy_status(cases: Cases, head: int) -> dict[str, int]:
    """``{"position", "lag"}`` of the points policy as tracked in the database (0 and the
    head when it never ran); creates nothing (``projections status`` is read-only)."""
    position = read_position(cases) if cases.db.has_table(TABLE) else 0
    return {"position": position, "lag": max(head - position, 0)}


def read_position(cases: Cases) -> int:
    db = cases.db
    rows = db.execute(f"SELECT position FROM {db.table(TABLE)} WHERE name = %s", (NAME,))
    return int(rows[0][0]) if rows else 0


class PointsPolicy:
    """One follower of the log that awards points (see the module's docstring)."""

    def __init__(self, cases: Cases, *, batch_size: int = DEFAULT_BATCH) -> None:
        self.cases = cases
        self.batch_size = batch_size
        ensure_table(cases)
        #: resident credential id -> participant id, and the registered participants,
        #: as of ``_folded`` (a log position).
        self._linked: dict[str, str] = {}
        self._known: set[str] = set()
        self._folded = 0
        #: Awards recorded by this instance (tests and logs).
        self.awarded = 0
        self._slowdown = float(os.environ.get(SLOWDOWN_ENV, "0") or 0)

    def position(self) -> int:
        return read_position(self.cases)

    def run_batch(self) -> int:
        """Process the next batch after the tracked position; notifications read (0 at
        the head)."""
        start = self.position()
        if start < self._folded:  # the position went back: fold the links again
            self._linked, self._known, self._folded = {}, set(), 0
        self._fold_links(start)
        recorder = self.cases.recorder
        head = self.cases.head_position()
        if head <= start:
            return 0
        page = list(recorder.select_notifications(
            start=start + 1, limit=self.batch_size, stop=head,
            topics=[*_LINK_TOPICS, *_CASE_TOPICS]))
        end = head if len(page) < self.batch_size else page[-1].id
        for notification in page:
            self._process(self.cases.mapper.to_domain_event(notification))
        self._folded = end
        db = self.cases.db
        db.execute(f"UPDATE {db.table(TABLE)} SET position = %s WHERE name = %s"
                   " AND position = %s", (end, NAME, start))
        return max(len(page), 1)

    def catch_up(self) -> int:
        """Process until the head seen now; awards recorded by this call."""
        before = self.awarded
        head = self.cases.head_position()
        while self.position() < head:
            self.run_batch()
        return self.awarded - before

    def _fold_links(self, until: int) -> None:
        """The participants' registrations and links up to ``until`` (after a start)."""
        if self._folded >= until:
            return
        start = self._folded + 1
        while start <= until:
            page = self.cases.recorder.select_notifications(
                start=start, limit=1000, stop=until, topics=_LINK_TOPICS)
            for notification in page:
                self._process(self.cases.mapper.to_domain_event(notification))
            if len(page) < 1000:
                break
            start = page[-1].id + 1
        self._folded = until

    def _process(self, event: Any) -> None:
        if isinstance(event, Participant.Event):
            participant = str(event.originator_id)
            if isinstance(event, Participant.ParticipantRegistered):
                self._known.add(participant)
            resident = event.data.get("resident_id")
            if resident:
                self._linked[str(resident)] = participant
            return
        if not isinstance(event, Case.Event):
            return
        name = type(event).__name__
        reporter = channel = None
        if name == "TopicFormed":
            case: Any = self.cases.repository.get(event.originator_id,
                                             version=event.originator_version)
            assert isinstance(case, Case)
            reporter, channel = case.reporter_actor_id, case.channel
        seen = CaseEvent(
            case_id=str(event.originator_id), version=event.originator_version, type=name,
            data=event.data, actor_id=event.actor_id, actor_role=event.actor_role,
            reporter_actor_id=reporter, channel=channel,
        )
        for award in awards_for(seen, self._linked, self._known, self.cases.points.table):
            if self.cases.points.award_once(award, event.timestamp):
                self.awarded += 1
            if self._slowdown:
                time.sleep(self._slowdown)


class PointsPolicyService(FollowerThread):
    """The policy in a daemon thread of the server (polls, as the projections do)."""

    name = "points"

    def __init__(self, cases: Cases, *, interval: float = 0.2) -> None:
        super().__init__(interval=interval)
        self.cases = cases
        self.policy = PointsPolicy(cases)

    def step(self) -> int:
        return self.policy.run_batch()

    def position(self) -> int:
        return self.policy.position()


def participant_ids(cases: Cases) -> list[UUID]:
    """Every participant id, in the order they were registered."""
    ids: list[UUID] = []
    start = 1
    topic = [t for t, n in PARTICIPANT_TOPICS.items() if n == "ParticipantRegistered"]
    while True:
        page = cases.recorder.select_notifications(start=start, limit=1000, topics=topic)
        ids.extend(UUID(str(n.originator_id)) for n in page)
        if len(page) < 1000:
            return ids
        start = page[-1].id + 1
