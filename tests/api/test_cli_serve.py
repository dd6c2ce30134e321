"""``yishi serve`` as an operator runs it: a separate process that answers HTTP."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.api.conftest import free_port


def test_serve_answers_on_the_embedded_default_and_refuses_anonymous_writes(
    tmp_path: Path,
) -> None:
    port = free_port()
    root = Path(__file__).resolve().parents[2]
    server = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--port", str(port), "--no-projections"],
        cwd=tmp_path, env={"PYTHONPATH": str(root), "PATH": "/usr/bin:/bin"},
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    with server:
        try:
            url = f"http://127.0.0.1:{port}"
            for _ in range(150):
                try:
                    if httpx.get(url + "/healthz").status_code == 200:
                        break
                except httpx.TransportError:
                    assert server.poll() is None, server.stderr.read() if server.stderr else ""
                    time.sleep(0.1)
            assert httpx.get(url + "/readyz").json()["status"] == "ready"
            refused = httpx.post(url + "/cases", json={"title": "x"})
            assert refused.status_code == 401
            assert refused.headers["content-type"] == "application/problem+json"
            assert (tmp_path / "yishi.db").exists()
        finally:
            server.terminate()
            server.wait(timeout=30)


def test_serve_with_an_unusable_store_says_so_in_one_line(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "api.cli", "--database-url", "mysql://x/y", "serve"],
        check=False, cwd=tmp_path, capture_output=True, text=True, timeout=60,
        env={"PYTHONPATH": str(Path(__file__).resolve().parents[2]), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("yishi: ")
