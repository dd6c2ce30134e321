"""The tamper catalogue of the audit-log design, done directly in SQLite and PostgreSQL to
events a checkpoint already covers: ``yishi audit verify`` (with the auditor's earlier
checkpoint) fails naming the case, version and leaf, and ``yishi verify`` fails wherever
the log tables were left intact. An untouched store and a correct bundle pass."""

from __future__ import annotations

import json

import pytest

from domain.application import open_cases
from projections.tlog_service import LogStep
from projections.tlog_signer import latest_checkpoint
from tests.stories import open_case
from tests.tlog.conftest import Logged
from tests.tlog.tampering import delete, rehash, row, set_state, sql

Cap = pytest.CaptureFixture[str]


def leaf_of(logged: Logged, version: int, victim: bool = True) -> int:
    case = logged.victim if victim else logged.bystander
    position = row(logged.url, case, version)[0]
    return int(sql(logged.url, "SELECT leaf_index FROM {log_leaves} WHERE position = %s",
                   (position,))[0][0])


def export_case(logged: Logged, capsys: Cap) -> tuple[int, str]:
    out = logged.tmp / "case.json"
    status, text = logged.cli(capsys, "export", "--case", str(logged.victim), "--out", str(out))
    if status:
        return status, text
    return logged.audit(capsys, "verify", str(out), "--checkpoint", str(logged.checkpoint))


def export_all(logged: Logged, capsys: Cap) -> tuple[int, str]:
    out = logged.tmp / "log.jsonl"
    status, text = logged.cli(capsys, "export", "--all", "--out", str(out))
    assert status == 0, text
    return logged.audit(capsys, "verify", str(out), "--checkpoint", str(logged.checkpoint))


def test_an_untouched_store_and_its_bundles_pass(logged: Logged, capsys: Cap) -> None:
    status, out = export_case(logged, capsys)
    assert status == 0, out
    assert f"case {logged.victim}: 16 event(s), hash chain intact, 16 covered" in out
    assert f"consistent with your checkpoint of size {logged.size}" in out  # the case bundle
    assert status == 0
    status, out = export_all(logged, capsys)
    assert status == 0, out
    assert f"all {logged.size} leaves give the checkpoint's root" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 0, out
    assert f"ok log: the latest checkpoint (size {logged.size}) is signed by the log's key" in out


def test_one_changed_byte(logged: Logged, capsys: Cap) -> None:
    _pos, _topic, state = row(logged.url, logged.victim, 8)
    at = state.index(b'"publicity_days":') + len(b'"publicity_days":')
    set_state(logged.url, logged.victim, 8, state[:at] + b"7" + state[at + 1:])
    leaf = leaf_of(logged, 8)
    status, out = export_case(logged, capsys)
    assert status == 1
    assert f"FAILED: case {logged.victim} version 8 (leaf {leaf})" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN case {logged.victim} at version 8" in out


def test_a_middle_event_deleted(logged: Logged, capsys: Cap) -> None:
    leaf = leaf_of(logged, 8)
    delete(logged.url, logged.victim, 8)
    status, out = export_case(logged, capsys)
    assert status == 1
    assert f"case {logged.victim} version 8" in out
    assert "missing" in out
    status, out = export_all(logged, capsys)
    assert status == 1
    assert f"case {logged.victim} version 8 (leaf {leaf}" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN log: case {logged.victim} version 8 (leaf {leaf}" in out


def test_two_events_swapped(logged: Logged, capsys: Cap) -> None:
    _p7, _t7, seven = row(logged.url, logged.victim, 7)
    _p8, _t8, eight = row(logged.url, logged.victim, 8)
    sql(logged.url, "UPDATE {events} SET state = %s, topic = %s WHERE {pos} = %s",
        (eight, _t8, _p7))
    sql(logged.url, "UPDATE {events} SET state = %s, topic = %s WHERE {pos} = %s",
        (seven, _t7, _p8))
    status, out = export_case(logged, capsys)
    assert status == 1
    assert f"FAILED: case {logged.victim} version 7" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN case {logged.victim} at version 7" in out


def test_the_last_events_of_a_case_deleted(logged: Logged, capsys: Cap) -> None:
    leaf = leaf_of(logged, 15)
    delete(logged.url, logged.victim, 15, 16)
    status, out = export_all(logged, capsys)
    assert status == 1
    assert f"case {logged.victim} version 15 (leaf {leaf}" in out
    assert "the event is missing" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN log: case {logged.victim} version 15 (leaf {leaf}" in out


def test_a_tail_rewritten_with_recomputed_hashes(logged: Logged, capsys: Cap) -> None:
    _p15, topic15, state15 = row(logged.url, logged.victim, 15)
    _p16, topic16, state16 = row(logged.url, logged.victim, 16)
    doc = json.loads(state15)
    doc["data"] = {**doc["data"], "note": "改写"} if "note" in doc["data"] else doc["data"]
    doc["actor_id"] = "someone-else"
    forged15 = rehash(logged.victim, 15, topic15,
                      json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode(),
                      doc["prev_hash"])
    forged16 = rehash(logged.victim, 16, topic16, state16, json.loads(forged15)["hash"])
    set_state(logged.url, logged.victim, 15, forged15)
    set_state(logged.url, logged.victim, 16, forged16)
    status, out = logged.cli(capsys, "verify", str(logged.victim))
    assert status == 0, "the chain alone does not see it"
    leaf = leaf_of(logged, 15)
    status, out = export_case(logged, capsys)
    assert status == 1
    assert f"FAILED: case {logged.victim} version 15 (leaf {leaf}): not in the log" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN log: case {logged.victim} version 15 (leaf {leaf})" in out


def test_a_whole_case_deleted(logged: Logged, capsys: Cap) -> None:
    leaf = leaf_of(logged, 1)
    delete(logged.url, logged.victim, *range(1, 17))
    status, out = export_case(logged, capsys)
    assert status == 2  # no such case in the store any more
    status, out = export_all(logged, capsys)
    assert status == 1
    assert f"case {logged.victim} version 1 (leaf {leaf}" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert f"BROKEN log: case {logged.victim} version 1 (leaf {leaf}" in out


def test_an_event_inserted(logged: Logged, capsys: Cap) -> None:
    position, topic, state = row(logged.url, logged.bystander, 1)
    forged_id = "0" * 31 + "1"
    sql(logged.url, "INSERT INTO {events} (originator_id, originator_version, topic, state,"
        " {pos}) VALUES (%s, 1, %s, %s, 0)",
        (forged_id if logged.url.startswith("sqlite") else
         "00000000-0000-0000-0000-000000000001", topic, state))
    status, out = export_all(logged, capsys)
    assert status == 1
    assert ("case 00000000-0000-0000-0000-000000000001 version 1 (position 0)"
            " has no leaf in the log") in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert "version 1 (position 0) has no leaf in the log" in out
    assert position


def test_a_checkpoint_altered(logged: Logged, capsys: Cap) -> None:
    note = sql(logged.url, "SELECT note FROM {log_checkpoints} WHERE size = %s",
               (logged.size,))[0][0]
    lines = note.split("\n")
    lines[1] = str(logged.size - 1)
    sql(logged.url, "UPDATE {log_checkpoints} SET note = %s WHERE size = %s",
        ("\n".join(lines), logged.size))
    status, out = export_case(logged, capsys)
    assert status == 1
    assert "checkpoint: the checkpoint is not signed by yishi.test/jiedao-1" in out
    status, out = logged.cli(capsys, "verify")
    assert status == 1
    assert "BROKEN log: log: the latest checkpoint: the checkpoint is not signed" in out


def test_the_whole_log_rebuilt_and_resigned(logged: Logged, capsys: Cap) -> None:
    delete(logged.url, logged.victim, 16)
    for name in ("leaves", "tiles", "entries", "checkpoints"):
        sql(logged.url, f"DELETE FROM {{log_{name}}}")
    sql(logged.url, "UPDATE {log_state} SET size = 0, position = 0")
    app = open_cases(logged.url)
    for _ in range(3):  # new events, so that the forged log is longer than the auditor's
        open_case(app)
    step = LogStep(app)
    while step():
        pass
    step.signer.sign()  # the same key re-signs a different history
    assert latest_checkpoint(app.db) is not None
    assert latest_checkpoint(app.db)[0] == logged.size + 2  # type: ignore[index]
    app.close()
    status, out = export_all(logged, capsys)
    assert status == 1
    assert (f"not consistent with the checkpoint of size {logged.size}: history was rewritten"
            in out)
