"""A count that is exact up to a bound, then says "more than" (projections.scope.count_rows,
docs/adr/0084-bounded-counts.md): the pages' case list and audit trail count no further
than they show, the API keeps counting every row."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import queries
from projections.queries import QueryError
from projections.service import ProjectionService
from tests.projections.histories import play, random_history


@pytest.fixture
def projected(app_factory: Callable[[str], Cases], sqlite_url: str,
              clock: ManualClock) -> Cases:
    app = app_factory(sqlite_url)
    play(app, clock, random_history(seed=3, length=200))
    ProjectionService(app, batch_size=9).catch_up()
    return app


def test_the_case_list_counts_exactly_up_to_the_bound(projected: Cases) -> None:
    everything = queries.list_cases(projected, limit=5)
    total = everything["count"]
    assert total > 6
    assert "count_exact" not in everything, "the API's answer is unchanged"
    at = queries.list_cases(projected, limit=5, count_limit=total)
    assert (at["count"], at["count_exact"]) == (total, True)
    below = queries.list_cases(projected, limit=5, count_limit=total - 1)
    assert (below["count"], below["count_exact"]) == (total - 1, False)
    assert below["data"] == everything["data"], "the page itself is the same"
    open_ = queries.list_cases(projected, status="open", limit=5)["count"]
    bounded = queries.list_cases(projected, status="open", limit=5, count_limit=10**6)
    assert (bounded["count"], bounded["count_exact"]) == (open_, True)
    with pytest.raises(QueryError):
        queries.list_cases(projected, count_limit=-1)


def test_the_audit_trail_counts_exactly_up_to_the_bound(projected: Cases) -> None:
    everything = queries.audit(projected, limit=5)
    total = everything["count"]
    assert "count_exact" not in everything
    assert queries.audit(projected, limit=5, count_limit=total)["count_exact"] is True
    below = queries.audit(projected, limit=5, count_limit=3)
    assert (below["count"], below["count_exact"]) == (3, False)
    assert below["data"] == everything["data"]
    assert below["next_after"] == everything["next_after"]
