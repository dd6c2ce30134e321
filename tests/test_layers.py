"""The layers of architecture.md hold: api may import projections and domain; projections
may import domain; domain imports neither, and knows nothing of HTTP, pydantic or drivers.
The demo's simulator (simulation/) stands beside api: it decides events through the domain
only, and nothing below it imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN = {
    "domain": {"api", "projections", "simulation", "fastapi", "pydantic", "starlette", "uvicorn",
               "psycopg"},
    "projections": {"api", "simulation", "fastapi", "pydantic", "starlette", "uvicorn"},
    "simulation": {"api", "projections", "fastapi", "pydantic", "starlette", "uvicorn",
                   "psycopg"},
}


def imported_roots(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_a_layer_imports_nothing_above_it(layer: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(imported_roots(path) & FORBIDDEN[layer])
        for path in sorted((ROOT / layer).rglob("*.py"))
    }
    offenders = {name: found for name, found in offenders.items() if found}
    assert offenders == {}


def test_the_layer_check_would_notice_a_forbidden_import(tmp_path: Path) -> None:
    module = tmp_path / "bad.py"
    module.write_text("from api.http import app\nimport fastapi\n", encoding="utf-8")
    assert imported_roots(module) & FORBIDDEN["domain"] == {"api", "fastapi"}
