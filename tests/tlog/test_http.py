"""The log over HTTP on the embedded default: the key made beside the SQLite file, the
public checkpoints, the auditor's tiles and consistency proofs, a case's proofs and bundle,
and the auditor's mirror (``yishi audit pull``) and ``yishi audit verify`` against it."""

from __future__ import annotations

import base64
import json
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.cli import main
from api.http.settings import Settings
from domain.clock import ManualClock
from domain.model import Role, Step
from domain.tlog.note import Verifier, open_checkpoint
from domain.tlog.proof_text import parse_proof
from domain.tlog.tree import leaf_hash, verify_consistency, verify_inclusion
from projections import tlog_store as ls
from projections.tlog_signer import LogSigner
from tests.api.conftest import LiveServer, issue
from tests.district import DISTRICT_EVENTS, register_district
from tests.stories import advance, open_case


@pytest.fixture
def server(sqlite_url: str, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
           ) -> Iterator[LiveServer]:
    monkeypatch.delenv("YISHI_LOG_KEY_FILE", raising=False)
    monkeypatch.delenv("YISHI_LOG_ORIGIN", raising=False)
    live = LiveServer(Settings(database_url=sqlite_url, clock=clock)).start()
    register_district(live.cases)
    yield live
    live.stop()


def test_the_log_over_http_and_the_auditors_commands(
    server: LiveServer, sqlite_url: str, clock: ManualClock, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cases = server.cases
    case = open_case(cases)
    advance(cases, clock, case, Step.CLOSED)
    deadline = time.monotonic() + 30
    while ls.read_state(cases.db).position < cases.head_position():
        assert time.monotonic() < deadline, "the log's thread did not catch up"
        time.sleep(0.05)
    LogSigner(cases).sign()
    key_file = Path(sqlite_url.removeprefix("sqlite:///") + ".log-key")
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert key_file.read_text().startswith("PRIVATE+KEY+yishi.local/")

    auditor = {"Authorization": f"Bearer {issue(server, Role.AUDITOR).token}"}
    resident = {"Authorization": f"Bearer {issue(server, Role.RESIDENT, compounds=['JX']).token}"}
    http = httpx.Client(base_url=server.url, timeout=30)
    note = http.get("/log/checkpoint")
    assert note.status_code == 200
    status, out = 0, ""
    assert main(["--database-url", sqlite_url, "log", "status"]) == 0
    out = capsys.readouterr().out
    vkey = out.split()[2]
    verifier = Verifier.parse(vkey)
    checkpoint = open_checkpoint(note.text, verifier)
    size = DISTRICT_EVENTS + 16  # the test district's events, then the case's 16
    assert checkpoint.size == size
    listed = http.get("/log/checkpoints", params={"after": 0}).json()
    assert listed["checkpoints"][-1] == {"size": size, "note": note.text}

    tile = http.get(f"/log/tile/0/000.p/{size}", headers=auditor)
    assert tile.status_code == 200
    assert len(tile.content) == size * 32
    assert http.get(f"/log/tile/0/000.p/{size}", headers=resident).status_code == 403
    assert http.get(f"/log/tile/entries/000.p/{size + 1}", headers=auditor).status_code == 404
    proof = http.get("/log/proof/consistency", params={"from": 5, "to": size},
                     headers=auditor)
    assert proof.status_code == 200
    old_root = ls.root_at(cases.db, 5)
    verify_consistency(5, size, old_root, checkpoint.root,
                       [base64.b64decode(h) for h in proof.json()["proof"]])

    proofs = http.get(f"/cases/{case}/proof", headers=resident).json()
    assert [e["covered"] for e in proofs["events"]] == [True] * 16
    seventh = proofs["events"][6]
    verify_inclusion(seventh["leaf_index"], size, leaf_hash(seventh["leaf"].encode()),
                     [base64.b64decode(h) for h in seventh["inclusion"]], checkpoint.root)
    text = http.get(f"/cases/{case}/proof", params={"version": 7, "format": "tlog-proof"},
                    headers=resident).text
    assert parse_proof(text).index == seventh["leaf_index"]
    stranger = {"Authorization":
                f"Bearer {issue(server, Role.RESIDENT, compounds=['OTHER']).token}"}
    assert http.get(f"/cases/{case}/proof", headers=stranger).status_code == 404
    assert http.get(f"/cases/{case}/export", headers=stranger).status_code == 404
    verified = http.get(f"/cases/{case}/verify", headers=resident).json()
    assert verified["log"][0] == {"version": 1, "position": DISTRICT_EVENTS + 1,
                                  "leaf_index": DISTRICT_EVENTS, "covered": True}

    bundle = tmp_path / "case.json"
    bundle.write_text(http.get(f"/cases/{case}/export", headers=resident).text)
    mirror = tmp_path / "mirror"
    # A resident's token cannot pull the log: the command says what the server said.
    assert main(["audit", "pull", server.url, "--token", resident["Authorization"].split()[1],
                 "--key", vkey, "--dir", str(tmp_path / "refused")]) == 2
    refused = capsys.readouterr().err
    assert "HTTP 403: " in refused
    assert "auditor" in refused
    token = auditor["Authorization"].split()[1]
    assert main(["audit", "pull", server.url, "--token", token, "--key", vkey,
                 "--dir", str(mirror)]) == 0
    assert f"size {size}" in capsys.readouterr().out
    assert main(["audit", "verify", str(bundle), "--key", vkey, "--mirror", str(mirror)]) == 0
    out = capsys.readouterr().out
    assert (f"ok: complete: all 16 leaves of case {case} up to size {size} are in the bundle"
            in out)

    # The case's last event dropped from the bundle: only the mirror can tell.
    document = json.loads(bundle.read_text())
    document["events"] = document["events"][:-1]
    bundle.write_text(json.dumps(document))
    assert main(["audit", "verify", str(bundle), "--key", vkey]) == 0
    assert main(["audit", "verify", str(bundle), "--key", vkey, "--mirror", str(mirror)]) == 1
    out = capsys.readouterr().out
    assert (f"FAILED: case {case} version 16 (leaf {size - 1}, position {size})"
            in out)

    ready = http.get("/readyz").json()
    assert {"name": "log", "position": size, "lag": 0} in ready["projections"]
    http.close()
    assert status == 0
