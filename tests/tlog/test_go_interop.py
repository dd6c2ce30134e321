"""Go's reference code (golang.org/x/mod/sumdb/note and sumdb/tlog, from Debian's
golang-go and golang-golang-x-mod-dev) accepts yishi's checkpoints, tlog-proofs and
consistency proofs, and refuses altered ones. Without ``go`` the test fails: CI installs
it (.ci/run)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from domain.tlog.note import Signer, b64
from projections.tlog_reads import case_proofs, consistency
from projections.tlog_service import LogStep
from projections.tlog_signer import latest_checkpoint
from tests.stories import advance, open_case

SOURCE = Path(__file__).parent / "gocheck" / "main.go"
GOPATH = "/usr/share/gocode"


@pytest.fixture(scope="module")
def gocheck(tmp_path_factory: pytest.TempPathFactory) -> Path:
    go = shutil.which("go")
    if go is None or not Path(GOPATH, "src/golang.org/x/mod/sumdb/note").is_dir():
        pytest.fail("Go and golang.org/x/mod are required: apt-get install golang-go "
                    "golang-golang-x-mod-dev (as .ci/run does)", pytrace=False)
    out = tmp_path_factory.mktemp("go") / "gocheck"
    env = {**os.environ, "GO111MODULE": "off", "GOPATH": GOPATH,
           "GOCACHE": str(out.parent / "cache"), "GOFLAGS": ""}
    subprocess.run([go, "build", "-o", str(out), str(SOURCE)], check=True, env=env,
                   capture_output=True, timeout=300)
    return out


def run(gocheck: Path, *args: Path | str) -> tuple[int, str]:
    done = subprocess.run([str(gocheck), *map(str, args)], check=False, capture_output=True,
                          text=True, timeout=60)
    return done.returncode, done.stdout


def flip(text: str, at: int) -> str:
    """One base64 character changed."""
    return text[:at] + ("A" if text[at] != "A" else "B") + text[at + 1:]


def test_go_checks_yishi_checkpoints_and_proofs(
    gocheck: Path, sqlite_url: str, app_factory: object, clock: ManualClock,
    log_key: Signer, tmp_path: Path,
) -> None:
    app: Cases = app_factory(sqlite_url)  # type: ignore[operator]
    first = open_case(app)
    advance(app, clock, first, Step.CLOSED)
    step = LogStep(app)
    while step():
        pass
    old = latest_checkpoint(app.db)
    assert old is not None
    second = open_case(app)
    advance(app, clock, second, Step.PUBLISH)
    while step():
        pass
    step.signer.sign()
    new = latest_checkpoint(app.db)
    assert new is not None
    assert new[0] > old[0]

    vkey = tmp_path / "vkey"
    vkey.write_text(log_key.verifier.text() + "\n")
    old_note, new_note = tmp_path / "old", tmp_path / "new"
    old_note.write_text(old[2])
    new_note.write_text(new[2])
    assert run(gocheck, "checkpoint", vkey, new_note) == (0, f"OK: checkpoint size {new[0]}\n")

    event = case_proofs(app, first)["events"][6]
    proof, leaf = tmp_path / "p.tlog-proof", tmp_path / "leaf"
    proof.write_text(event["tlog_proof"])
    leaf.write_text(event["leaf"])
    status, out = run(gocheck, "inclusion", vkey, proof, leaf)
    assert (status, out) == (0, f"OK: leaf {event['leaf_index']} is in the tree of size"
                                f" {new[0]}\n")

    hashes = tmp_path / "consistency"
    hashes.write_text("\n".join(b64(h) for h in consistency(app, old[0], new[0])))
    status, out = run(gocheck, "consistency", vkey, old_note, new_note, hashes)
    assert (status, out) == (0, f"OK: size {old[0]} is a prefix of size {new[0]}\n")

    # Altered: a signature, a leaf, a proof hash, a consistency hash.
    signature_at = new[2].rindex(" ") + 10
    new_note.write_text(flip(new[2], signature_at))
    status, out = run(gocheck, "checkpoint", vkey, new_note)
    assert status == 1
    assert "checkpoint signature" in out
    new_note.write_text(new[2])
    text = event["leaf"]
    leaf.write_text(text[:-2] + ("0" if text[-2] != "0" else "1") + "\n")
    assert run(gocheck, "inclusion", vkey, proof, leaf)[0] == 1
    leaf.write_text(event["leaf"])
    text = event["tlog_proof"]
    proof.write_text(flip(text, text.index("\n", text.index("index ")) + 3))
    status, out = run(gocheck, "inclusion", vkey, proof, leaf)
    assert status == 1
    assert "inclusion" in out
    hashes.write_text(flip(hashes.read_text(), 5))
    status, out = run(gocheck, "consistency", vkey, old_note, new_note, hashes)
    assert status == 1
    assert "consistency" in out
