"""The demo district's participation points (积分制): participants, hours, redemptions.

Each compound registers ``LINKED`` residents (linked to the simulation's resident actors
``res-<compound>-001``...) and ``OTHERS`` party members and volunteers at the start of the
simulated year, before the first case, so the points policy sees the links when it follows
the log (docs/adr/0101). Case stories list some of them in ``MeetingHeld.attendee_ids``
(``attendees_of``). After the cases, ``record_year`` records volunteer hours month by month
and redemptions (a fee discount, vouchers at the vegetable market) spread over the year, each
decided by the ledger at its time, so no balance goes below zero. Topic, meeting and rating
awards are the policy's, when ``yishi demo`` (or a server) runs it.

Deterministic like the rest of the demo: ids are ``uuid5`` of the seed, compound and index;
names are sealed under keys and nonces derived from the seed (fake people, fake keys).
"""

from __future__ import annotations

import hashlib
import random
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from domain.application import Cases
from domain.model import Actor, Role
from domain.points.ledger import Participant
from domain.points.rules import Rule
from domain.points.service import subject_of
from domain.privacy import KEYS_TABLE, seal
from simulation.district import GIVEN, LOCAL, NAMESPACE, SURNAMES, YEAR, District, subject_key

#: Residents linked to a participant in each compound, and other participants.
LINKED = 12
OTHERS = 6
#: Compound surnames some demo participants have (so the leaderboard shows 欧阳**).
COMPOUND_SURNAMES = ("欧阳", "司马", "上官", "诸葛")
REWARDS = (("物业费抵扣", 20), ("菜市场代金券", 10), ("菜市场代金券", 5), ("洗衣粉一袋", 8))


def participant_id(seed: int, compound: str, n: int) -> UUID:
    return uuid5(NAMESPACE, f"participant:{seed}:{compound}:{n}")


def attendees_of(seed: int, compound: str, case_index: int, meeting: int) -> list[str]:
    """The participants attending one meeting of a case (0 to 4 of the compound's), drawn
    from an rng of their own (the story's draws stay as they were)."""
    rng = random.Random(f"attend:{seed}:{case_index}:{meeting}")  # noqa: S311
    count = rng.choice((0, 1, 2, 2, 3, 4))
    chosen = rng.sample(range(LINKED + OTHERS), count)
    return [str(participant_id(seed, compound, n)) for n in sorted(chosen)]


def _name(rng: random.Random) -> str:
    surname = rng.choice(COMPOUND_SURNAMES) if rng.random() < 0.08 else rng.choice(SURNAMES)
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))


def _staff(compound: object) -> Actor:
    community = getattr(getattr(compound, "community"), "id")  # noqa: B009
    return Actor(f"community-{community}", Role.COMMUNITY, communities=frozenset({community}))


def register_participants(app: Cases, district: District, seed: int, now: datetime) -> int:
    """Register each compound's participants at the start of the year; how many."""
    start = now - YEAR
    participants: list[Participant] = []
    keys: list[tuple[str, bytes, str]] = []
    for compound in district.compounds:
        rng = random.Random(f"participants:{seed}:{compound.id}")  # noqa: S311
        for n in range(LINKED + OTHERS):
            pid = participant_id(seed, compound.id, n)
            subject = subject_of(pid)
            key = subject_key(seed, subject)
            nonce = hashlib.sha256(f"nonce:{seed}:{subject}".encode()).digest()[:12]
            kinds = ["resident"] if n < LINKED else list(
                rng.choice((["party_member"], ["volunteer"], ["party_member", "volunteer"])))
            data = {"compound_id": compound.id, "community_id": compound.community.id,
                    "kinds": kinds, "name": seal(subject, key, {"name": _name(rng)}, nonce)}
            if n < LINKED:
                data["resident_id"] = f"res-{compound.id}-{n + 1:03d}"
            at = start + timedelta(minutes=n)
            participants.append(Participant.register(pid, data, _staff(compound), at))
            keys.append((subject, key, at.isoformat()))
    with app.db.transaction() as curs:
        curs.executemany(
            f"INSERT INTO {app.db.table(KEYS_TABLE)} (subject_id, key_bytes, created_at)"
            " VALUES (%s, %s, %s) ON CONFLICT (subject_id) DO NOTHING", keys)
    app.save(*participants)
    return len(participants)


def record_year(app: Cases, district: District, seed: int, now: datetime) -> dict[str, int]:
    """Volunteer hours each month (a few reversed the next day as entered twice) and
    redemptions over the year, decided by each ledger at its time; counts of each."""
    start = now - YEAR
    counts = {"hours": 0, "redemptions": 0, "reversals": 0}
    ledgers: list[Participant] = []
    hourly = app.points.table[Rule.VOLUNTEER_HOURS]
    for compound in district.compounds:
        staff = _staff(compound)
        for n in range(LINKED + OTHERS):
            rng = random.Random(f"ledger:{seed}:{compound.id}:{n}")  # noqa: S311
            ledger: Any = app.repository.get(participant_id(seed, compound.id, n))
            assert isinstance(ledger, Participant)
            keen = n >= LINKED or rng.random() < 0.2  # volunteers, and a few residents
            for month in range(12):
                at = _working(start + timedelta(days=30 * month + rng.uniform(2, 27)), rng)
                if at > now:
                    break
                if keen and rng.random() < 0.7:
                    hours = rng.randint(1, 6)
                    ledger.award({"rule": Rule.VOLUNTEER_HOURS.value,
                                  "points": hours * hourly, "hours": hours,
                                  "source": f"hours:{seed}:{compound.id}:{n}:{month}",
                                  "note": rng.choice(("垃圾分类值守", "楼道清理", "文明劝导",
                                                      "敬老探访"))}, staff, at)
                    counts["hours"] += 1
                    if rng.random() < 0.03:  # a record entered twice, undone the next day
                        ledger.reverse(ledger.version, "重复登记", staff, at + timedelta(days=1))
                        counts["reversals"] += 1
                reward, points = rng.choice(REWARDS)
                if month % 3 == 2 and ledger.balance >= points and rng.random() < 0.6:
                    ledger.redeem(reward, points, staff, at + timedelta(hours=2))
                    counts["redemptions"] += 1
            ledgers.append(ledger)
    app.save(*ledgers)
    return counts


def _working(t: datetime, rng: random.Random) -> datetime:
    """A time between 09:00 and 17:00 China time on the same day."""
    local = t + LOCAL
    hour = rng.randint(9, 16)
    return local.replace(hour=hour, minute=rng.randint(0, 59)) - LOCAL
