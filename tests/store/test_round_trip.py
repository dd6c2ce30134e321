"""Every event type and every personal-data path survive the store and a restart.

Cases are taken along real paths (loops included) on an SQLite file and on the real
PostgreSQL; a new application on the same URL must read back exactly what was recorded.
"""

from __future__ import annotations

from collections.abc import Callable

from domain.application import Cases
from domain.catalogue import EVENT_TYPES
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import People, report_data
from tests.domain.helpers import state_of
from tests.store.paths import every_path, merged_duplicate, the_long_way

AppFactory = Callable[[str], Cases]


def test_every_path_together_records_every_event_type(app: Cases, clock: ManualClock) -> None:
    case_ids = every_path(app, clock)
    recorded = {event.type for case_id in case_ids for event in app.history(case_id)}
    assert recorded == set(EVENT_TYPES)


def test_every_event_type_reads_back_the_same_after_reopening_the_store(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    case_ids = every_path(app, clock)
    recorded = {case_id: app.history(case_id) for case_id in case_ids}
    states = {case_id: state_of(app.get_case(case_id)) for case_id in case_ids}
    assert {e.type for events in recorded.values() for e in events} == set(EVENT_TYPES)
    app.close()

    reopened = app_factory(durable_url)
    in_report_order = sorted(case_ids, key=lambda case_id: recorded[case_id][0].position or 0)
    assert list(reopened.case_ids()) == in_report_order
    for case_id, events in recorded.items():
        read = reopened.history(case_id)
        assert read == events  # data, actors, steps, times, hashes and positions
        assert [(e.actor_id, e.actor_role, e.step_before, e.step_after, e.hash) for e in read] == [
            (e.actor_id, e.actor_role, e.step_before, e.step_after, e.hash) for e in events
        ]
        assert state_of(reopened.get_case(case_id)) == states[case_id]
        assert reopened.verify(case_id).valid
        assert reopened.verify(case_id).head == events[-1].hash


def test_the_long_way_ends_reopened_in_implement_with_its_loops_counted(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    case_id = the_long_way(app, clock)
    app.close()
    case = app_factory(durable_url).get_case(case_id)
    assert case.step is Step.IMPLEMENT
    assert case.reopen_count == 1
    assert case.comment_count == 2
    assert case.resolution is None
    assert case.ratings == {"resident-1": "satisfied", "resident-5": "basically_satisfied"}


def test_a_reporters_contact_is_sealed_in_the_store_and_opens_after_reopening(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    duplicate, target = merged_duplicate(app, clock)
    first = app.history(duplicate)[0]
    assert first.data["reporter"]["subject_id"] == "resident:resident-1"
    assert "张三" not in str(first.data)
    assert "13800000000" not in str(first.data)
    app.close()

    reopened = app_factory(durable_url)
    assert reopened.reporter_of(reopened.get_case(duplicate)) == {
        "name": "张三", "phone": "13800000000"}
    assert reopened.reporter_of(reopened.get_case(target)) == {
        "name": "李四", "phone": "13900000000"}
    no_contact = reopened.report_problem(People.grid, report_data(reporter=None)).case
    assert reopened.reporter_of(no_contact) is None


def test_an_erasure_survives_reopening_the_store(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    duplicate, target = merged_duplicate(app, clock)
    before = app.history(duplicate)
    assert app.erase_subject("resident:resident-1", People.admin)
    app.close()

    reopened = app_factory(durable_url)
    assert reopened.reporter_of(reopened.get_case(duplicate)) == {"erased": True}
    assert reopened.reporter_of(reopened.get_case(target)) == {
        "name": "李四", "phone": "13900000000"}
    assert reopened.history(duplicate) == before
    assert reopened.verify(duplicate).valid
    assert not reopened.erase_subject("resident:resident-1", People.admin)


def test_a_case_past_its_snapshot_interval_loads_the_same_as_its_replay(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    case_id = the_long_way(app, clock)
    while app.get_case(case_id).version < 105:
        app.add_comment(case_id, People.owners, text="跟进")
    app.close()
    reopened = app_factory(durable_url)
    case = reopened.get_case(case_id)
    assert case.version == 105
    assert state_of(case) == state_of(reopened.replay(case_id)[-1][1])
    assert state_of(reopened.get_case(case_id, version=101)) == state_of(
        reopened.replay(case_id, up_to=101)[-1][1])
    assert reopened.verify(case_id).valid
