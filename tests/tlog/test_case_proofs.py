"""GET /cases/{id}/proof's reading (two statements, no transaction) on SQLite and
PostgreSQL: every covered event's leaf is the log's, its inclusion proof leads to the signed
root and equals the case bundle's, its tlog-proof text names the same, and events appended
after the checkpoint are answered as not covered."""

from __future__ import annotations

import base64

from domain.tlog.leaf import parse_leaf
from domain.tlog.note import Verifier, open_checkpoint
from domain.tlog.proof_text import parse_proof
from domain.tlog.tree import leaf_hash, verify_inclusion
from projections.tlog_reads import case_bundle, case_proofs
from tests.conftest import People
from tests.tlog.conftest import AppFactory, Logged


def test_each_covered_event_is_proved_against_the_signed_root(
    logged: Logged, app_factory: AppFactory
) -> None:
    app = app_factory(logged.url)
    answer = case_proofs(app, logged.victim)
    checkpoint = open_checkpoint(answer["checkpoint"], Verifier.parse(logged.vkey))
    bundle = case_bundle(app, logged.victim)
    assert [e["version"] for e in answer["events"]] == list(range(1, 17))
    for event, bundled in zip(answer["events"], bundle["events"], strict=True):
        assert event["covered"]
        leaf = parse_leaf(event["leaf"].encode())
        assert (leaf.position, leaf.stream_id, leaf.version) == (
            event["position"], str(logged.victim), event["version"])
        proof = [base64.b64decode(h) for h in event["inclusion"]]
        verify_inclusion(event["leaf_index"], checkpoint.size, leaf_hash(event["leaf"].encode()),
                         proof, checkpoint.root)
        assert event["inclusion"] == bundled["inclusion"]
        assert event["leaf_index"] == bundled["leaf_index"]
        text = parse_proof(event["tlog_proof"])
        assert (text.index, list(text.proof)) == (event["leaf_index"], proof)


def test_events_after_the_checkpoint_are_not_covered(
    logged: Logged, app_factory: AppFactory
) -> None:
    app = app_factory(logged.url)
    app.add_comment(logged.victim, People.resident, text="还有问题")
    events = case_proofs(app, logged.victim)["events"]
    assert [e["covered"] for e in events] == [True] * 16 + [False]
    assert events[-1]["inclusion"] is None
    assert events[-1]["tlog_proof"] is None
