"""Figure cells: what each case adds to the figures, packed by compound and month (统计单元).

The figures of metrics.md are counts, sums and percentiles over the cases of a cohort.
Folding every case's facts in Python on each request costs 30-90 us a case: seconds at a
million events. A cell holds, for the cases of one compound reported in one calendar month
(UTC+8), what each case contributes to every figure: one fixed-width row per case and one
row per finished stay in a step, as two numpy arrays stored as bytes. A dashboard query
reads the cells its scope and filters select (12 a year per compound) and computes the
figures vectorised (projections/cell_figures.py), at well under a microsecond a case.

A contribution is taken *once its facts are in the past*: a case's figures depend on
``as_of`` only through the times in its facts, so once ``as_of`` is at or after every one
of them they are fixed, with one exception, overdue, which compares the current deadline
with ``as_of`` and is therefore kept as the deadline itself. Each cell records the latest
time in its cases' facts (``settled``). A query whose ``as_of`` is before that in any cell
it selects (a look into the past) is answered by the per-case fold instead, and so is a cell
holding a value the codes below cannot represent (``exact`` false). The default ``as_of``,
now, is after every event.

The runner writes cells in the same transaction as the case rows they summarise
(projections/store.py), so they are exactly as fresh as the rest of the read models.
docs/adr/0022-figure-cells.md records the design and what it costs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from uuid import UUID

import numpy as np

from domain.catalogue import Category, Channel
from domain.model import WORKING_STEPS, Resolution, Role
from projections.fold import LOOP_KINDS, CaseFacts
from projections.periods import period_key

#: The codes of the enumerations a cell stores as small integers (-1: none).
STEPS: tuple[str, ...] = tuple(s.value for s in WORKING_STEPS)
RESOLUTIONS: tuple[str, ...] = tuple(r.value for r in Resolution)
CATEGORIES: tuple[str, ...] = tuple(c.value for c in Category)
CHANNELS: tuple[str, ...] = tuple(c.value for c in Channel)
ROLES: tuple[str, ...] = tuple(r.value for r in Role)
SATISFACTIONS: tuple[str, ...] = ("satisfied", "basically_satisfied", "dissatisfied")

#: One row per case. Durations and times are integer microseconds (exact, as in the facts).
CASE_DTYPE = np.dtype([
    ("reported_at", "<i8"),
    ("category", "i1"),
    ("channel", "i1"),
    ("assignee_role", "i1"),  # the current assignee party, -1: none
    ("open_step", "i1"),  # the working step of the open stay, -1: closed
    ("has_deadline", "u1"),
    ("deadline", "<i8"),  # the open stay's deadline as it stands
    ("closed", "u1"),  # closed and not reopened since
    ("resolution", "i1"),  # of that closing, -1: open
    ("time_to_close", "<i8"),  # that closing's time - reported time
    ("ever_closed", "u1"),
    ("reopened", "u1"),
    ("responded", "u1"),  # a non-resident has handled it
    ("response", "<i8"),  # first handling time - reported time
    ("ratings", "<i4", (len(SATISFACTIONS),)),  # live ratings per satisfaction value
    ("loops", "<i4", (len(LOOP_KINDS),)),
])
#: One row per finished stay in a working step: the case's row in its cell, step, duration.
STAY_DTYPE = np.dtype([("case", "<i4"), ("step", "i1"), ("duration", "<i8")])


def encode_stays(stays: np.ndarray) -> bytes:
    """Stays stored step by step, in columns: the count per step (int32 each), then every
    stay's case row (int32), then every duration (int64). A query for one step's durations
    then reads one contiguous run per cell, with no sort and no gather."""
    ordered = stays[np.argsort(stays["step"], kind="stable")]
    counts = np.bincount(ordered["step"].astype(np.int64), minlength=len(STEPS))
    return (counts.astype("<i4").tobytes() + ordered["case"].astype("<i4").tobytes()
            + ordered["duration"].astype("<i8").tobytes())


def stay_columns(raw: bytes) -> tuple[list[int], np.ndarray, np.ndarray]:
    """The counts per step, case rows and durations of stays encoded by ``encode_stays``."""
    if not raw:
        return [0] * len(STEPS), np.empty(0, "<i4"), np.empty(0, "<i8")
    counts = np.frombuffer(raw, "<i4", len(STEPS)).tolist()
    total = sum(counts)
    head = 4 * len(STEPS)
    return (counts, np.frombuffer(raw, "<i4", total, head),
            np.frombuffer(raw, "<i8", total, head + 4 * total))


def decode_stays(raw: bytes) -> np.ndarray:
    counts, cases, durations = stay_columns(raw)
    stays = np.empty(len(durations), STAY_DTYPE)
    stays["case"] = cases
    stays["step"] = np.repeat(np.arange(len(STEPS), dtype="i1"), counts)
    stays["duration"] = durations
    return stays
#: A case id is stored as its 16 UUID bytes (plain bytes: numpy's "S" type drops trailing NULs).
ID_SIZE = 16


def _code(values: tuple[str, ...], value: str | None) -> int | None:
    """The code of ``value`` (-1 for None); None when the codes do not know it."""
    if value is None:
        return -1
    try:
        return values.index(value)
    except ValueError:
        return None


@dataclass(frozen=True)
class Contribution:
    """What one case adds to its cell, once every time in its facts is past."""

    row: tuple[object, ...]
    stays: tuple[tuple[int, int], ...]
    settled: int
    exact: bool


def contribution(facts: CaseFacts) -> Contribution:
    """A case's contribution, from its facts: the same reading projections/queries.py makes
    of them at an ``as_of`` after all their times."""
    times = [facts.reported_at, facts.updated_at]
    active = None
    reopened = 0
    for closed_at, reopened_at, resolution in facts.closures:
        times.append(closed_at)
        if reopened_at is None:
            active = (closed_at, resolution)
        else:
            times.append(reopened_at)
            reopened = 1
    open_step: str | None = None
    deadline: int | None = None
    stays: list[tuple[int, int]] = []
    exact = True
    for step, entered, left, deadlines in facts.visits:
        times.append(entered)
        times.extend(changed_at for changed_at, _value in deadlines)
        if left is None:
            open_step = step
            deadline = deadlines[-1][1] if deadlines else None
            continue
        times.append(left)
        code = _code(STEPS, step)
        if code is None:
            exact = False
            continue
        stays.append((code, left - entered))
    loops = [0] * len(LOOP_KINDS)
    for kind, at in facts.loops:
        times.append(at)
        loops[LOOP_KINDS.index(kind)] += 1
    live: dict[str, str] = {}
    for resident, value, at in facts.ratings:
        times.append(at)
        live[resident] = value
    ratings = [0] * len(SATISFACTIONS)
    for value in live.values():
        ratings[SATISFACTIONS.index(value)] += 1
    if facts.first_response_at is not None:
        times.append(facts.first_response_at)
    codes = (
        _code(CATEGORIES, facts.category),
        _code(CHANNELS, facts.channel),
        _code(ROLES, facts.assignee_role),
        _code(STEPS, open_step),
        _code(RESOLUTIONS, None if active is None else active[1]),
    )
    if any(c is None for c in codes) or (active is not None and active[1] is None):
        exact = False
    category, channel, role, step_code, resolution = (-1 if c is None else c for c in codes)
    row = (
        facts.reported_at, category, channel, role, step_code,
        int(deadline is not None), deadline or 0,
        int(active is not None), resolution,
        0 if active is None else active[0] - facts.reported_at,
        int(bool(facts.closures)), reopened,
        int(facts.first_response_at is not None),
        0 if facts.first_response_at is None else facts.first_response_at - facts.reported_at,
        ratings, loops,
    )
    return Contribution(row, tuple(stays), max(times), exact)


def cell_key(facts: CaseFacts) -> tuple[str, str, str]:
    """The cell a case belongs to: its compound, community and month of report (UTC+8)."""
    return facts.compound_id, facts.community_id, period_key(facts.reported_at, "month")


def case_key(case_id: str) -> bytes:
    return UUID(case_id).bytes


@dataclass
class Cell:
    """The contributions of the cases of one compound reported in one month."""

    compound_id: str
    community_id: str
    month: str
    ids: list[bytes] = field(default_factory=list)
    cases: np.ndarray = field(default_factory=lambda: np.empty(0, CASE_DTYPE))
    stays: np.ndarray = field(default_factory=lambda: np.empty(0, STAY_DTYPE))
    settled: int = 0
    exact: bool = True

    @property
    def key(self) -> tuple[str, str, str]:
        return self.compound_id, self.community_id, self.month

    def merged(self, changes: Mapping[bytes, Contribution]) -> Cell:
        """This cell with the given cases' contributions replaced or added."""
        position = {k: i for i, k in enumerate(self.ids)}
        cases = self.cases.copy()
        ids = list(self.ids)
        added: list[tuple[object, ...]] = []
        changed: list[int] = []
        new_stays: list[tuple[int, int, int]] = []
        settled, exact = self.settled, self.exact
        for case_id, part in changes.items():
            index = position.get(case_id)
            if index is None:
                index = len(ids)
                ids.append(case_id)
                position[case_id] = index
                added.append(part.row)
            else:
                cases[index] = part.row
            changed.append(index)
            new_stays.extend((index, step, duration) for step, duration in part.stays)
            settled = max(settled, part.settled)
            exact = exact and part.exact
        if added:
            cases = np.concatenate([cases, np.array(added, dtype=CASE_DTYPE)])
        kept = self.stays[~np.isin(self.stays["case"], np.array(changed, dtype="<i4"))]
        stays = np.concatenate([kept, np.array(new_stays, dtype=STAY_DTYPE)])
        return Cell(self.compound_id, self.community_id, self.month, ids, cases, stays,
                    settled, exact)

    def encoded(self) -> tuple[bytes, bytes, bytes]:
        return b"".join(self.ids), self.cases.tobytes(), encode_stays(self.stays)

    @classmethod
    def decoded(
        cls,
        key: Sequence[str],
        ids: bytes,
        cases: bytes,
        stays: bytes,
        settled: int,
        exact: bool,
    ) -> Cell:
        raw = bytes(ids)
        return cls(key[0], key[1], key[2],
                   [raw[i : i + ID_SIZE] for i in range(0, len(raw), ID_SIZE)],
                   np.frombuffer(bytes(cases), CASE_DTYPE).copy(),
                   decode_stays(bytes(stays)), int(settled), bool(exact))


def cell_changes(
    facts: Sequence[CaseFacts],
) -> dict[tuple[str, str, str], dict[bytes, Contribution]]:
    """The changed cases' contributions, by the cell each belongs to."""
    changes: dict[tuple[str, str, str], dict[bytes, Contribution]] = {}
    for f in facts:
        changes.setdefault(cell_key(f), {})[case_key(f.case_id)] = contribution(f)
    return changes
