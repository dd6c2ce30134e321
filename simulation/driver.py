"""A simulated district for demonstrations and load tests (模拟街道).

One street (街道) of six communities (社区) and three dozen compounds (小区), some without a
property company (无物业小区), and a year of cases through the eight steps. Every event is
decided by the domain (``Case.report``, ``Case.record``, ``merge_cases``) at a plausible
historical time, so the rules hold and every hash chain verifies; nothing is written
around the aggregate.

The simulation is a discrete-event one: each case is a story (a generator) that yields its
next action and the time it happens; the cases of one chunk run together in time order, so
a duplicate can be merged into a case of the same compound that is open at that moment.
Each chunk is saved with one ``app.save(*cases)``: one transaction for hundreds of cases.

The same seed, ``now`` and case count give the same events: ids are ``uuid5`` of the seed
and the case's index, each case draws from its own ``random.Random``, and reporter contacts
are sealed under keys and nonces derived from the seed (fake people, fake keys).
"""

from __future__ import annotations

import bisect
import heapq
import itertools
import multiprocessing
import random
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid5

from domain.application import Cases
from domain.case import Case, merge_cases
from domain.deadlines import TimeLimits
from domain.grids import stamp_grid
from domain.privacy import KEYS_TABLE
from simulation.directory import register_district
from simulation.district import (
    LOCAL,
    NAMESPACE,
    YEAR,
    build_district,
    grid_code,
    people_of,
    subject_key,
)
from simulation.fees import simulate_fees
from simulation.points import record_year, register_participants
from simulation.problems import PROBLEMS, Problem
from simulation.providers import ServiceBook, register_providers
from simulation.story import Act, Plan, Story, story, working_time

#: Cases simulated together and saved in one transaction. Part of what a seed means:
#: merges only join cases of the same chunk, so changing it changes the district.
CHUNK = 500

# The driver ---------------------------------------------------------------------------------


@dataclass
class Summary:
    """What was generated: counts for the report and a few cases worth looking at."""

    cases: int = 0
    events: int = 0
    seconds: float = 0.0
    open: int = 0
    overdue: int = 0
    resolutions: Counter[str] = field(default_factory=Counter)
    categories: Counter[str] = field(default_factory=Counter)
    event_types: Counter[str] = field(default_factory=Counter)
    assignee_roles: Counter[str] = field(default_factory=Counter)
    examples: dict[str, UUID] = field(default_factory=dict)
    first_report: datetime | None = None
    last_report: datetime | None = None
    #: Participation points: participants registered, hours and redemptions recorded.
    participants: int = 0
    points: dict[str, int] = field(default_factory=dict)
    #: Fee collection's events (simulation/fees.py), also counted in ``events``.
    fee_events: int = 0  # not in ``events``, which counts the cases' events


def case_id_of(seed: int, index: int) -> UUID:
    return uuid5(NAMESPACE, f"demo:{seed}:{index}")


def report_times(seed: int, count: int, now: datetime) -> list[datetime]:
    """When each case is reported: over the year before now, more in summer and winter."""
    rng = random.Random(f"times:{seed}")  # noqa: S311
    start = now - YEAR
    month_weight = (1.1, 0.8, 1.0, 1.0, 1.0, 1.3, 1.5, 1.4, 1.0, 0.9, 1.0, 1.2)  # 春节 dip
    top = max(month_weight)
    times: list[datetime] = []
    while len(times) < count:
        t = start + timedelta(seconds=rng.uniform(0, YEAR.total_seconds()))
        if rng.random() * top <= month_weight[(t + LOCAL).month - 1]:
            times.append(working_time(t, rng))
    times = [min(t, now) for t in times]
    times.sort()
    return times


class DistrictSimulation:
    """Simulates a district's cases, one chunk at a time, as aggregates not yet saved."""

    def __init__(self, seed: int, now: datetime, cases: int) -> None:
        self.seed = seed
        self.now = now
        self.count = cases
        self.district = build_district(seed)
        self.people = {c.id: people_of(c) for c in self.district.compounds}
        #: Where each grid lies (one per compound, simulation/directory.py): a grid
        #: worker's reports and collections carry its grid, as the server stamps it.
        self.grids = {grid_code(c.id): c.id for c in self.district.compounds}.get
        compound_weights = [c.buildings ** 0.7 for c in self.district.compounds]
        self._compound_cum = _cumulative(compound_weights)
        self.times = report_times(seed, cases, now)
        self.service = ServiceBook(self.district, seed, now)  # issue 13: providers

    def plan(self, index: int, reported_at: datetime) -> tuple[Plan, Problem, random.Random]:
        rng = random.Random(f"case:{self.seed}:{index}")  # noqa: S311
        compound = self.district.compounds[bisect.bisect(self._compound_cum, rng.random())]
        month = (reported_at + LOCAL).month - 1
        weights = [pr.weight * pr.season[month] for pr in PROBLEMS]
        problem = rng.choices(PROBLEMS, weights)[0]
        plan = Plan(index, case_id_of(self.seed, index), reported_at, compound,
                    self.people[compound.id], self.service)
        return plan, problem, rng

    def simulate(self, indices: range) -> tuple[list[Case], dict[str, datetime]]:
        """Run the stories of one chunk in time order; the cases with their pending events."""
        heap: list[tuple[datetime, int, Act]] = []
        stories: dict[int, Story] = {}
        cases: dict[int, Case] = {}
        by_compound: dict[str, list[int]] = {}
        keys: dict[str, datetime] = {}
        times = self.times
        for index in indices:
            plan, problem, rng = self.plan(index, times[index])
            stories[index] = story(plan, problem, self.seed, rng)
            heapq.heappush(heap, (times[index], index, next(stories[index])))
        while heap:
            at, index, act = heapq.heappop(heap)
            if at > self.now:
                continue  # the rest of this story has not happened yet: the case stays open
            result: Any = None
            if act.kind == "report":
                case_id = case_id_of(self.seed, index)
                data = stamp_grid("ProblemReported", act.data, act.actor,
                                  act.data["compound_id"], self.grids)
                cases[index] = Case.report(case_id, data, act.actor, at, act.sealed)
                if act.sealed is not None:
                    keys.setdefault(act.sealed["subject_id"], at)
                by_compound.setdefault(act.data["compound_id"], []).append(index)
            elif act.kind == "merge":
                result = self._merge(cases, by_compound, index, act)
            else:
                data = stamp_grid(act.event_type, act.data, act.actor,
                                  cases[index].compound_id, self.grids)
                cases[index].record(act.event_type, data, act.actor, at)
            try:
                following = stories[index].send(result)
            except StopIteration:
                continue
            if following.at < at:  # a story's clock never runs backwards
                raise AssertionError(f"case {index}: {following.event_type} before {at}")
            heapq.heappush(heap, (following.at, index, following))
        return [cases[i] for i in sorted(cases)], keys

    def _merge(self, cases: dict[int, Case], by_compound: dict[str, list[int]], index: int,
               act: Act) -> bool:
        duplicate = cases[index]
        candidates = [cases[i] for i in reversed(by_compound.get(duplicate.compound_id, []))
                      if i != index and cases[i].is_open][:20]
        if not candidates:
            return False
        same = [c for c in candidates if c.category == duplicate.category]
        target = (same or candidates)[0]
        merge_cases(duplicate, target, act.actor, act.at, act.data.get("note"))
        return True

def _cumulative(weights: list[float]) -> list[float]:
    total = sum(weights)
    running, result = 0.0, []
    for w in weights:
        running += w / total
        result.append(running)
    result[-1] = 1.0
    return result


def _store_keys(app: Cases, seed: int, keys: dict[str, datetime]) -> None:
    """The subjects' keys, as ``SubjectKeys.key_for`` stores them, in one transaction."""
    if not keys:
        return
    table = app.db.table(KEYS_TABLE)
    rows = [(subject, subject_key(seed, subject), at.isoformat())
            for subject, at in keys.items()]
    with app.db.transaction() as curs:
        curs.executemany(
            f"INSERT INTO {table} (subject_id, key_bytes, created_at) VALUES (%s, %s, %s)"
            " ON CONFLICT (subject_id) DO NOTHING",
            rows,
        )


def _tally(summary: Summary, limits: TimeLimits, now: datetime, cases: list[Case]) -> None:
    """Count what a chunk holds (before it is saved: its events are still pending)."""
    s = summary
    for case in cases:
        s.cases += 1
        s.events += case.version
        s.categories[case.category] += 1
        if case.assignment:
            s.assignee_roles[case.assignment["assignee_role"]] += 1
        if case.is_open:
            s.open += 1
            if limits.is_overdue(case, now):
                s.overdue += 1
                s.examples.setdefault("overdue", case.id)
            else:
                s.examples.setdefault(f"open in {case.step.value}", case.id)
        else:
            resolution = str(case.resolution)
            s.resolutions[resolution] += 1
            s.examples.setdefault(resolution, case.id)
        if case.reopen_count:
            s.examples.setdefault("reopened", case.id)
        s.first_report = min(filter(None, (s.first_report, case.reported_at)))
        s.last_report = max(filter(None, (s.last_report, case.reported_at)))
        s.event_types.update(type(event).__name__ for event in case.pending_events)



def generate(app: Cases, *, cases: int, seed: int, now: datetime,
             progress: Callable[[int, int], None] | None = None,
             workers: int = 0, chunk: int = CHUNK) -> Summary:
    """Fill the application's store with a simulated district; what was generated.

    Each chunk of cases is saved with one ``app.save(*cases)``. With ``workers`` > 0 the
    chunks are simulated in that many processes while this one saves them, in order; the
    events are the same either way.
    """
    started = time.perf_counter()
    summary = Summary()
    district = build_district(seed)
    register_district(app, district, seed, now)
    register_providers(app, district, ServiceBook(district, seed, now))  # issue 13
    # Participation points: participants first, so the policy sees links (simulation/points.py).
    summary.participants = register_participants(app, district, seed, now)
    chunks = [range(first, min(first + chunk, cases)) for first in range(0, cases, chunk)]
    for simulated in _simulated(chunks, seed, now, cases, workers):
        done, (aggregates, keys) = simulated
        _store_keys(app, seed, keys)
        _tally(summary, app.limits, now, aggregates)
        app.save(*aggregates)
        if progress:
            progress(done, summary.events)
    summary.points = record_year(app, build_district(seed), seed, now)  # hours, redemptions
    # A year of fee collection (simulation/fees.py, docs/adr/0110).
    summary.fee_events = simulate_fees(app, build_district(seed), seed, now)
    summary.seconds = time.perf_counter() - started
    return summary


Simulated = tuple[list[Case], dict[str, datetime]]


def _simulated(chunks: list[range], seed: int, now: datetime, cases: int,
               workers: int) -> Iterator[tuple[int, Simulated]]:
    """Each chunk's cases, in order: simulated here, or in worker processes ahead of us."""
    if workers <= 0 or len(chunks) < 2:
        simulation = DistrictSimulation(seed, now, cases)
        for indices in chunks:
            yield indices.stop, simulation.simulate(indices)
        return
    context = multiprocessing.get_context("spawn")  # no fork of a process holding a pool
    with ProcessPoolExecutor(workers, mp_context=context, initializer=_start_worker,
                             initargs=(seed, now, cases)) as pool:
        pending: deque[tuple[int, Future[Simulated]]] = deque()
        upcoming = iter(chunks)
        for indices in itertools.islice(upcoming, 2 * workers):
            pending.append((indices.stop, pool.submit(_simulate_chunk, indices)))
        while pending:
            done, future = pending.popleft()
            result = future.result()
            following = next(upcoming, None)
            if following is not None:  # keep a bounded number of chunks in flight
                pending.append((following.stop, pool.submit(_simulate_chunk, following)))
            yield done, result


_worker: DistrictSimulation | None = None


def _start_worker(seed: int, now: datetime, cases: int) -> None:
    global _worker  # noqa: PLW0603 - one simulation per worker process
    _worker = DistrictSimulation(seed, now, cases)


def _simulate_chunk(indices: range) -> Simulated:
    assert _worker is not None
    return _worker.simulate(indices)
