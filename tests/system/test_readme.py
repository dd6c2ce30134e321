"""The README's walk-through runs as written (README.md, "Your first token, and a case
from report to close"): its shell blocks, in order, against ``yishi serve`` on a fresh
embedded store. Every append in it answers 201, and the case verifies at the end; a
README that drifts from the program fails here."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.conftest import free_port

ROOT = Path(__file__).resolve().parents[2]
SECTION = re.compile(r"^## Your first token.*?(?=^## )", re.S | re.M)
BLOCK = re.compile(r"^```sh\n(.*?)^```", re.S | re.M)
EXAMPLE_SERVER = "http://127.0.0.1:8000"


def walkthrough() -> list[str]:
    """The section's shell blocks, but the one that fills a demo district (it needs an
    empty store, and the walk-through has filled this one)."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = SECTION.search(text)
    assert section is not None, "the README has no walk-through section"
    return [block for block in BLOCK.findall(section.group(0)) if "yishi demo" not in block]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, dict[str, str]]]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("YISHI_")}
    env["YISHI_DATABASE_URL"] = f"sqlite:///{tmp_path / 'yishi.db'}"
    env["YISHI_SECRET_FILE"] = str(tmp_path / "secret")
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "api.cli", "serve", "--port", str(port)], cwd=ROOT,
            env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, log.read_text(encoding="utf-8")
            try:
                if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "yishi serve did not start"
            time.sleep(0.2)
        yield url, env
    finally:
        process.terminate()
        process.wait(timeout=30)


def test_the_readme_walkthrough_runs_as_written(server: tuple[str, dict[str, str]]) -> None:
    url, env = server
    blocks = walkthrough()
    script = "\n".join(blocks).replace(EXAMPLE_SERVER, url)
    assert "ev $COM   CaseClosed" in script  # the whole way, report to close
    assert (ROOT / ".venv" / "bin" / "yishi").exists(), "scripts/ensure-venv installs yishi"
    done = subprocess.run(["bash", "-euo", "pipefail", "-c", script], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    answers = re.findall(r"^(\d{3}) (\w+)$", done.stdout, re.M)
    assert len(answers) == len(re.findall(r"^ev \$", script, re.M)) >= 14, done.stdout
    assert [event for status, event in answers if status != "201"] == [], done.stdout
    assert re.search(r'"valid":\s*true', done.stdout), done.stdout[-2000:]
