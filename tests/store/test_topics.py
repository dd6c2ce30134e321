"""Stored topics are explicit (``yishi:Case.<Name>``), and an old stored form still reads.

See docs/adr/0002-stored-topics.md: module paths must never reach the store, so moving a
module cannot orphan events. The golden rows below were written by this version of yishi;
any later version must read them, verify them and fold them into the same case.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlsplit
from uuid import UUID

import psycopg
from eventsourcing.persistence import StoredEvent

from domain.application import Cases
from domain.case import Case
from domain.catalogue import EVENT_TYPES
from domain.clock import ManualClock
from domain.model import Step
from tests.conftest import POSTGRES_BASE
from tests.store.paths import every_path

AppFactory = Callable[[str], Cases]


def stored_rows(url: str) -> list[tuple[str, int, str, bytes]]:
    """Every stored event row: originator id (text), version, topic, state."""
    if url.startswith("sqlite:"):
        with sqlite3.connect(url.removeprefix("sqlite:///")) as conn:
            rows = conn.execute(
                "SELECT originator_id, originator_version, topic, state FROM stored_events"
            ).fetchall()
        conn.close()
    else:
        schema = parse_qs(urlsplit(url).query)["schema"][0]
        with psycopg.connect(POSTGRES_BASE) as pg:
            rows = pg.execute(
                f'SELECT originator_id::text, originator_version, topic, state'
                f' FROM "{schema}"."yishi_events"'
            ).fetchall()
    return [(str(r[0]), int(r[1]), str(r[2]), bytes(r[3])) for r in rows]


def test_every_stored_row_carries_the_explicit_topic_of_its_event(
    durable_url: str, app_factory: AppFactory, clock: ManualClock
) -> None:
    app = app_factory(durable_url)
    case_ids = every_path(app, clock)
    expected = {
        (case_id.hex, event.version): f"yishi:Case.{event.type}"
        for case_id in case_ids for event in app.history(case_id)
    }
    rows = [r for r in stored_rows(durable_url) if r[2].startswith("yishi:Case.")]
    assert len(rows) == len(expected)
    for originator_id, version, topic, state in rows:
        assert topic == expected[(UUID(originator_id).hex, version)]
        assert "domain" not in topic
        assert ":" in topic
        assert b"domain.case" not in state
    assert {topic for _, _, topic, _ in rows} == {f"yishi:Case.{name}" for name in EVENT_TYPES}


def test_each_event_class_declares_its_catalogue_topic() -> None:
    for name in EVENT_TYPES:
        assert f"yishi:Case.{name}" == Case.EVENT_CLASSES[name].TOPIC
    assert Case.TOPIC == "yishi:Case"


CASE = UUID("6f1c1d3e-4a3b-4c2d-9e8f-0a1b2c3d4e5f")
GOLDEN: list[tuple[str, str]] = [
    ("yishi:Case.ProblemReported",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T09:00:00+00:00"},'
     '"originator_topic":"yishi:Case","actor_id":"grid-1","actor_role":"grid_worker",'
     '"step_before":null,"step_after":"collect","data":{"compound_id":"JX",'
     '"community_id":"C1","title":"Rubbish not collected",'
     '"description":"Bins at gate 2 overflow.","category":"sanitation",'
     '"channel":"grid_patrol","location":"2号门"},'
     '"prev_hash":"0000000000000000000000000000000000000000000000000000000000000000",'
     '"hash":"52f610b8e3b024c0d72da239b3e9e7e5ff323aca415b4bbda610599df2ea1c5c"}'),
    ("yishi:Case.ProblemCollected",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T11:00:00+00:00"},'
     '"actor_id":"grid-1","actor_role":"grid_worker","step_before":"collect",'
     '"step_after":"topic","data":{"category":"sanitation","description":"核实: 垃圾满溢"},'
     '"prev_hash":"52f610b8e3b024c0d72da239b3e9e7e5ff323aca415b4bbda610599df2ea1c5c",'
     '"hash":"de4bf2758bfde1701cc7b2f3caf5c223b2cdd19485f28f7745b12bdd6787bbb4"}'),
    ("yishi:Case.CommentAdded",
     '{"timestamp":{"_type_":"datetime_iso","_data_":"2026-03-02T11:30:00.000250+00:00"},'
     '"actor_id":"owners-1","actor_role":"owners_committee","step_before":"topic",'
     '"step_after":"topic","data":{"text":"已联系保洁"},'
     '"prev_hash":"de4bf2758bfde1701cc7b2f3caf5c223b2cdd19485f28f7745b12bdd6787bbb4",'
     '"hash":"177b209501405c58203d4131c82f9b62e87cf726d395fb2ea7f7e05d367a1083"}'),
]


def test_events_stored_in_the_first_form_still_read_verify_and_fold(
    store_url: str, app_factory: AppFactory
) -> None:
    app = app_factory(store_url)
    app.recorder.insert_events([
        StoredEvent(originator_id=CASE, originator_version=version, topic=topic,
                    state=state.encode("utf-8"))
        for version, (topic, state) in enumerate(GOLDEN, start=1)
    ])
    report = app.verify(CASE)
    assert report.valid
    assert report.head == json.loads(GOLDEN[-1][1])["hash"]
    history = app.history(CASE)
    assert [e.type for e in history] == ["ProblemReported", "ProblemCollected", "CommentAdded"]
    assert history[2].recorded_at == datetime(2026, 3, 2, 11, 30, 0, 250, tzinfo=UTC)
    assert history[1].data == {"category": "sanitation", "description": "核实: 垃圾满溢"}
    case = app.get_case(CASE)
    assert case.step is Step.TOPIC
    assert case.version == 3
    assert case.title == "Rubbish not collected"
    assert case.comment_count == 1
    assert case.reporter is None
    assert list(app.case_ids()) == [CASE]
