"""Every RFC 9162 inclusion and consistency vector of transparency-dev/merkle (196 files):
the ones marked valid verify, every other one is refused."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

from domain.tlog.tree import ProofError, verify_consistency, verify_inclusion

VECTORS = Path(__file__).parent / "vectors"
INCLUSION = sorted((VECTORS / "inclusion").rglob("*.json"))
CONSISTENCY = sorted((VECTORS / "consistency").rglob("*.json"))


def _b(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text())
    return data


def test_all_vectors_are_there() -> None:
    assert len(INCLUSION) + len(CONSISTENCY) == 196


@pytest.mark.parametrize("path", INCLUSION, ids=lambda p: str(p.relative_to(VECTORS)))
def test_inclusion_vector(path: Path) -> None:
    v = _load(path)
    proof = [_b(h) for h in v["proof"] or []]

    def check() -> None:
        verify_inclusion(v["leafIdx"], v["treeSize"], _b(v["leafHash"]), proof, _b(v["root"]))

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()


@pytest.mark.parametrize("path", CONSISTENCY, ids=lambda p: str(p.relative_to(VECTORS)))
def test_consistency_vector(path: Path) -> None:
    v = _load(path)
    proof = [_b(h) for h in v["proof"] or []]

    def check() -> None:
        verify_consistency(v["size1"], v["size2"], _b(v["root1"]), _b(v["root2"]), proof)

    if v["wantErr"]:
        with pytest.raises(ProofError):
            check()
    else:
        check()
