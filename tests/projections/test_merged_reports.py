"""A case counts every report that joined it, directly or through merged duplicates.

Cases a, b, c and d report one problem; a is merged into b, then b and d into c: c counts
4 reports. New ReportMerged events carry the duplicate's count; events stored before that
replay as recorded in the aggregate, and the case list counts their chains right, after an
incremental run, a rebuild, or the in-place recount of a generation made under the old rule.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from uuid import UUID

import pytest

from domain.application import Cases
from domain.errors import InvalidEventData
from projections import queries, shape, store
from projections.service import ProjectionService, rebuild
from tests.conftest import People
from tests.legacy import merge_as_before
from tests.projections.conftest import dump
from tests.stories import open_case

Merge = Callable[[Cases, UUID, UUID], None]


def _merge_now(app: Cases, duplicate: UUID, target: UUID) -> None:
    app.merge_case(duplicate, target, People.grid)


def _merge_before(app: Cases, duplicate: UUID, target: UUID) -> None:
    merge_as_before(app, duplicate, target, People.grid)


def _chain(app: Cases, merge: Merge) -> dict[str, UUID]:
    ids = {name: open_case(app, title=f"电梯坏了 {name}") for name in "abcde"}
    app.join_report(ids["e"], People.grid)  # e: 2 reports, joined directly
    merge(app, ids["a"], ids["b"])
    merge(app, ids["b"], ids["c"])
    merge(app, ids["d"], ids["c"])
    return ids


def _listed(app: Cases) -> dict[str, int]:
    rows = queries.list_cases(app, sort="-support_count", limit=10)["data"]
    return {r["title"][-1]: r["support_count"] for r in rows}


@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_a_chain_of_merges_counts_every_report(
    app_factory: Callable[[str], Cases], url: str, request: pytest.FixtureRequest
) -> None:
    app = app_factory(request.getfixturevalue(url))
    ids = _chain(app, _merge_now)
    assert app.get_case(ids["c"]).support_count == 4
    joined = app.history(ids["c"])[-2]
    assert (joined.type, joined.data["reports"]) == ("ReportMerged", 2)
    ProjectionService(app, batch_size=3).catch_up()
    listed = _listed(app)
    assert listed == {"c": 4, "e": 2, "b": 2, "a": 1, "d": 1}
    assert list(listed.values()) == [4, 2, 2, 1, 1]  # the sort agrees
    trail = queries.audit(app, case_id=str(ids["c"]), event_type="ReportMerged")["data"]
    assert trail[0]["summary"].startswith("2 reports of the same problem joined")
    with pytest.raises(InvalidEventData):
        app.record(ids["e"], "ReportMerged", {"reports": 1000}, People.grid)


@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_merges_stored_before_replay_as_recorded_and_the_list_counts_their_chains(
    app_factory: Callable[[str], Cases], url: str, request: pytest.FixtureRequest
) -> None:
    app = app_factory(request.getfixturevalue(url))
    ids = _chain(app, _merge_before)
    assert app.get_case(ids["c"]).support_count == 3  # each old ReportMerged counted one
    assert app.verify(ids["c"]).valid
    service = ProjectionService(app, batch_size=2)
    service.catch_up()
    assert _listed(app) == {"c": 4, "e": 2, "b": 2, "a": 1, "d": 1}
    incremental = dump(app)
    rebuild(app)
    assert _listed(app)["c"] == 4
    assert dump(app)["cases"] == incremental["cases"]


@pytest.mark.parametrize("url", ["sqlite_url", "pg_url"])
def test_a_generation_counted_under_the_old_rule_is_recounted_in_place(
    app_factory: Callable[[str], Cases], url: str, request: pytest.FixtureRequest
) -> None:
    app = app_factory(request.getfixturevalue(url))
    ids = _chain(app, _merge_before)
    ProjectionService(app).catch_up()
    right = dump(app)["cases"]
    generation = store.current_generation(app.db)
    table = store.cases_table(app.db, generation)
    # What the old rule left: c counted 3, and no case knew where it was merged.
    with app.db.transaction() as cur:
        for case_id, state in cur.execute(f"SELECT case_id, state FROM {table}").fetchall():
            old = json.loads(state)
            old["merged_into"] = None
            if case_id == str(ids["c"]):
                old["support_count"] = 3
            cur.execute(f"UPDATE {table} SET state = %s, support_count = %s WHERE case_id = %s",
                        (store._json(old), old["support_count"], case_id))
        cur.execute(f"UPDATE {app.db.table('proj_shape')} SET support = 1")
    assert _listed(app)["c"] == 3
    ProjectionService(app)  # a runner opening the generation recounts it
    assert _listed(app)["c"] == 4
    assert dump(app)["cases"] == right
    with app.db.transaction() as cur:
        assert shape.of(app.db, cur, generation) is not None
        assert shape.of(app.db, cur, generation)[1] == shape.SUPPORT_RULE  # type: ignore[index]
