"""A rebuild keeps only the most recently changed cases' facts in memory and reads the
others back from its generation's table: the read models are the same as incremental."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from projections import runner
from projections.service import ProjectionService, rebuild
from tests.projections.conftest import dump
from tests.projections.histories import play, random_history


@pytest.mark.parametrize("url_fixture", ["sqlite_url", "pg_url"])
def test_a_rebuild_with_room_for_two_cases_equals_incremental(
    app_factory: Callable[[str], Cases], clock: ManualClock, url_fixture: str,
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch,
) -> None:
    app = app_factory(str(request.getfixturevalue(url_fixture)))
    play(app, clock, random_history(seed=11, length=240))
    ProjectionService(app, batch_size=17).catch_up()
    before = dump(app)
    monkeypatch.setattr(runner, "KEEP_FACTS_MAX", 2)
    loads: list[int] = []
    load_facts = runner.store.load_facts

    def counted(*args: object) -> object:
        result = load_facts(*args)  # type: ignore[arg-type]
        loads.append(len(result))
        return result

    monkeypatch.setattr(runner.store, "load_facts", counted)
    rebuild(app, batch_size=9)
    assert sum(loads) > 0  # cases were evicted and read back
    assert dump(app) == before
