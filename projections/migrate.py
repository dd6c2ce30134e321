"""Bringing a generation projected by an older yishi up to today's support rule (迁移).

Before ADR 0062 every ReportMerged added one to its case's support count, so a chain of
merges (a into b, then b into c) counted c as 2, not 3. Today's fold counts a merged
duplicate's own reports (``projections.fold._reports``); a generation made under the old
rule (``proj_shape.support`` below ``SUPPORT_RULE``) is recounted in place when a runner
first opens it: the merges up to the generation's position are read from the log in order,
the counts folded again, and the changed case rows written in the transaction that holds
the generation's tracking rows, so no batch runs in between.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.application import Cases
from domain.case import Case
from projections import shape, store


def recount_support(cases: Cases, generation: int) -> int:
    """Recount the generation's support counts if it follows the old rule; cases changed."""
    db = cases.db
    with db.transaction() as cur:
        if db.dialect == "postgres":
            cur.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (db.table("proj"),))
        known = shape.of(db, cur, generation)
        if known is None or known[1] >= shape.SUPPORT_RULE:
            return 0
        position = min(store.lock_positions(db, cur, generation).values(), default=0)
        counts, merged_into = _merges(cases, position)
        facts = store.load_facts(db, cur, generation, [*counts, *merged_into])
        changed = []
        for case_id, value in facts.items():
            count = counts.get(case_id, value.support_count)
            into = merged_into.get(case_id, value.merged_into)
            if (count, into) != (value.support_count, value.merged_into):
                value.support_count, value.merged_into = count, into
                changed.append(value)
        store.write_cases(db, cur, generation, changed)
        cur.execute(
            f"UPDATE {db.table('proj_shape')} SET support = %s WHERE generation = %s",
            (shape.SUPPORT_RULE, generation),
        )
        return len(changed)


def _merges(cases: Cases, until: int) -> tuple[dict[str, int], dict[str, str]]:
    """Each merge target's support count and each duplicate's target, from the log's
    ReportMerged and CaseMerged events up to position ``until``, under today's rule."""
    topics = [get_topic(Case.ReportMerged), get_topic(Case.CaseMerged)]
    counts: dict[str, int] = {}
    merged_into: dict[str, str] = {}
    start = 1
    while start <= until:
        page = cases.recorder.select_notifications(
            start=start, limit=1000, stop=until, topics=topics)
        if not page:
            break
        for notification in page:
            event: Any = cases.mapper.to_domain_event(notification)
            case_id = str(UUID(str(event.originator_id)))
            data = event.data
            if isinstance(event, Case.CaseMerged):
                merged_into[case_id] = str(data["into_case_id"])
                continue
            if "reports" in data:
                joined = int(data["reports"])
            else:
                source = str(data.get("source_case_id") or "")
                joined = counts.get(source, 1) if merged_into.get(source) == case_id else 1
            counts[case_id] = counts.get(case_id, 1) + joined
        start = page[-1].id + 1
    return counts, merged_into
