"""Tree hashing and proofs against a plain recursive RFC 9162 computation (Hypothesis)."""

from __future__ import annotations

import hashlib

from hypothesis import given
from hypothesis import strategies as st

from domain.tlog import tiles
from domain.tlog.tree import (
    CompactRange,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    root_of,
    tree_root,
    verify_consistency,
    verify_inclusion,
)


def mth(data: list[bytes]) -> bytes:
    """RFC 9162 §2.1.1, written as the RFC writes it."""
    n = len(data)
    if n == 0:
        return hashlib.sha256(b"").digest()
    if n == 1:
        return hashlib.sha256(b"\x00" + data[0]).digest()
    k = 1
    while k * 2 < n:
        k *= 2
    return hashlib.sha256(b"\x01" + mth(data[:k]) + mth(data[k:])).digest()


def hash_source(data: list[bytes]):  # type: ignore[no-untyped-def]
    def hash_at(level: int, index: int) -> bytes:
        lo = index << level
        assert lo + (1 << level) <= len(data), "only complete subtrees are asked for"
        return mth(data[lo : lo + (1 << level)])

    return hash_at


leaves = st.lists(st.binary(max_size=8), max_size=70)


@given(leaves)
def test_root_equals_the_recursive_definition(data: list[bytes]) -> None:
    hashes = [leaf_hash(d) for d in data]
    compact = CompactRange()
    for h in hashes:
        compact.append(h)
    expected = mth(data)
    assert root_of(hashes) == expected
    assert compact.root() == expected
    assert tree_root(len(data), hash_source(data)) == expected


@given(st.lists(st.binary(max_size=4), min_size=1, max_size=70), st.data())
def test_generated_proofs_verify_and_tampered_ones_do_not(
    data: list[bytes], draw: st.DataObject
) -> None:
    size = len(data)
    index = draw.draw(st.integers(0, size - 1))
    old = draw.draw(st.integers(1, size))
    source = hash_source(data)
    root = mth(data)
    proof = inclusion_proof(index, size, source)
    verify_inclusion(index, size, leaf_hash(data[index]), proof, root)
    consistency = consistency_proof(old, size, source)
    verify_consistency(old, size, mth(data[:old]), root, consistency)
    if proof:
        bad = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
        try:
            verify_inclusion(index, size, leaf_hash(data[index]), bad, root)
        except ValueError:
            pass
        else:
            raise AssertionError("a flipped bit verified")


def test_tile_paths() -> None:
    assert tiles.index_path(1234067) == "x001/x234/067"
    assert tiles.tile_path(0, 5, 17) == "tile/0/005.p/17"
    assert tiles.parse_tile_path("entries/x001/x234/067.p/3") == ("entries", 1234067, 3)
    assert tiles.decode_entries(tiles.encode_entries([b"a", b"", b"xyz"])) == [b"a", b"", b"xyz"]
