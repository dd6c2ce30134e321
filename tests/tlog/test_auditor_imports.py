"""``yishi audit`` imports no store and no server: only the package's pure parts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROBE = """
import json, sys
from api.cli import main
status = main(["audit", "verify", sys.argv[1], "--key", sys.argv[2]])
print(json.dumps([status, sorted(m.split(".")[0] for m in sys.modules)]))
"""


def test_the_audit_commands_import_no_store_and_no_server(tmp_path: Path) -> None:
    bundle = tmp_path / "b.json"
    bundle.write_text("{}")
    vkey = "yishi.test/x+5ac3ef84+AQ0Fu3tMNe4MCDyjIRqVnNDKTzrsPeSBwEgPXBZrsO3n"
    done = subprocess.run([sys.executable, "-c", PROBE, str(bundle), vkey], cwd=ROOT,
                          capture_output=True, text=True, check=False, timeout=60)
    status, modules = json.loads(done.stdout.strip().splitlines()[-1])
    assert status == 2, done.stderr  # an empty document is not a bundle (or the key is bad)
    assert not {"eventsourcing", "fastapi", "starlette", "psycopg", "uvicorn", "pydantic",
                "sqlite3", "projections"} & set(modules)
