"""Fixtures of the log's tests: stores with a few closed cases, a signing key, and the
auditor's side (verifier key, an earlier checkpoint, bundles)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from uuid import UUID

import pytest

from api.cli import main
from domain.application import Cases
from domain.clock import ManualClock
from domain.model import Step
from domain.tlog.note import Signer
from projections.tlog_service import LogStep
from projections.tlog_signer import latest_checkpoint, write_key
from tests.district import DISTRICT_EVENTS
from tests.stories import advance, open_case

AppFactory = Callable[[str], Cases]


@pytest.fixture(params=["sqlite", "postgres"])
def durable_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{'sqlite' if request.param == 'sqlite' else 'pg'}_url"))


@pytest.fixture
def log_key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Signer:
    """A key file named by the settings, as on PostgreSQL (the origin too)."""
    signer = Signer.generate("yishi.test/jiedao-1")
    path = tmp_path / "log.key"
    write_key(path, signer)
    monkeypatch.setenv("YISHI_LOG_KEY_FILE", str(path))
    monkeypatch.setenv("YISHI_LOG_ORIGIN", signer.name)
    return signer


@dataclass
class Logged:
    url: str
    victim: UUID
    bystander: UUID
    vkey: str
    checkpoint: Path  # the auditor's copy of the first checkpoint
    tmp: Path
    size: int = DISTRICT_EVENTS + 32  # the first checkpoint's: the district's and two cases'

    def cli(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        status = main(["--database-url", self.url, *args])
        captured = capsys.readouterr()
        return status, captured.out + captured.err

    def audit(self, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
        status = main(["audit", *args, "--key", self.vkey])
        captured = capsys.readouterr()
        return status, captured.out + captured.err


def build_logged(url: str, app_factory: AppFactory, clock: ManualClock, signer: Signer,
                 tmp: Path) -> Logged:
    app = app_factory(url)
    victim, bystander = open_case(app), open_case(app, title="另一件事")
    advance(app, clock, victim, Step.CLOSED)
    advance(app, clock, bystander, Step.CLOSED)
    step = LogStep(app)
    while step():
        pass
    step.signer.sign()
    made = latest_checkpoint(app.db)
    assert made is not None
    assert made[0] == DISTRICT_EVENTS + 32
    path = tmp / "auditor-checkpoint.txt"
    path.write_text(made[2])
    return Logged(url, victim, bystander, signer.verifier.text(), path, tmp)


@pytest.fixture
def logged(durable_url: str, app_factory: AppFactory, clock: ManualClock, log_key: Signer,
           tmp_path: Path) -> Logged:
    """Two closed cases (16 events each) after the district's events, all covered by a
    signed checkpoint of size DISTRICT_EVENTS + 32."""
    return build_logged(durable_url, app_factory, clock, log_key, tmp_path)
