"""One batch of the log's leaves, prepared in memory before it is written (日志批次).

The follower (``tlog_store``) appends leaves a batch per transaction. What a batch writes
depends only on the tree's *right edge* before it (its size, its partial hash tiles and its
partial entry bundle) and on the batch's leaves, so ``prepare`` computes it here, with no
database: the leaf rows (as COPY text too), every hash tile the batch touches at its new
width, and every entry bundle it touches. ``prepare`` also moves the edge on to the tree
after the batch, so a catch-up can prepare the next batch while the last one is written.
Node hashes never change once their subtree is complete: a tile or bundle row is only ever
widened.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field

from domain.tlog import tiles as tl

_sha256 = hashlib.sha256
_WIDTH = tl.TILE_WIDTH
_HEIGHT = tl.TILE_HEIGHT


class LogError(Exception):
    """The log cannot go on (an event without a chain hash, tables that disagree)."""


def right_edge(size: int) -> tuple[list[tuple[int, int]], int | None]:
    """The partial hash tiles ``(level, idx)`` of a tree of ``size`` leaves, and the
    partial entry bundle's index (None when the last bundle is full)."""
    partial = []
    level = 0
    count = size
    while count:
        if count % _WIDTH:
            partial.append((level, count >> _HEIGHT))
        count >>= _HEIGHT
        level += 1
    return partial, (size >> _HEIGHT if size % _WIDTH else None)


@dataclass
class Edge:
    """The right edge of a tree of ``size`` leaves: its partial hash tiles by
    ``(level, idx)`` and its partial entry bundle by index (the data stored for them)."""

    size: int
    tiles: dict[tuple[int, int], bytearray] = field(default_factory=dict)
    bundles: dict[int, bytearray] = field(default_factory=dict)


@dataclass(frozen=True)
class Batch:
    """What one batch writes: ``leaves`` rows ``(leaf_index, position)`` (``copy_text``:
    the same rows as PostgreSQL COPY text), ``tiles`` rows ``(level, idx, width, data)``,
    ``entries`` rows ``(idx, width, data)``, and the tree after it."""

    size: int
    position: int
    leaves: list[tuple[int, int]]
    copy_text: bytes
    tiles: list[tuple[int, int, int, bytes]]
    entries: list[tuple[int, int, bytes]]


def fold(hashes: bytes) -> bytes:
    """The root of a power-of-two number of consecutive 32-byte hashes given as one byte
    string: ``tl.fold`` (RFC 9162 node hashes, pairwise level by level), with each pair
    hashed straight from its 64 bytes."""
    while len(hashes) > 32:
        hashes = b"".join([_sha256(b"\x01" + hashes[i : i + 64]).digest()
                           for i in range(0, len(hashes), 64)])
    return hashes


def _add_hashes(tiles: dict[tuple[int, int], bytearray], level: int, first: int,
                hashes: list[bytes]) -> None:
    """Append hashes of tree level ``8 * level`` from node index ``first`` to their tiles;
    each tile they fill adds its root one tile level up."""
    completed: list[bytes] = []
    at = 0
    while at < len(hashes):
        index = first + at
        key = (level, index >> _HEIGHT)
        tile = tiles.get(key)
        if tile is None:
            tile = tiles[key] = bytearray()
        offset = index & (_WIDTH - 1)
        if len(tile) != offset * 32:
            raise LogError(f"the log's hash tile {key} does not end where the tree does")
        take = min(_WIDTH - offset, len(hashes) - at)
        tile += b"".join(hashes[at : at + take])
        at += take
        if offset + take == _WIDTH:
            completed.append(fold(bytes(tile)))
    if completed:
        first_up = (first + len(hashes)) // _WIDTH - len(completed)
        _add_hashes(tiles, level + 1, first_up, completed)


def prepare(edge: Edge, positions: Sequence[int], datas: Sequence[bytes]) -> Batch:
    """The batch that appends these leaves (``datas``, of the events at ``positions``) to
    the tree whose right edge is ``edge``; ``edge`` becomes the right edge after it.
    LogError if the edge's tiles do not end where its size says."""
    size = edge.size
    tiles = {key: bytearray(tile) for key, tile in edge.tiles.items()}
    bundles = {key: bytearray(bundle) for key, bundle in edge.bundles.items()}
    _add_hashes(tiles, 0, size, [_sha256(b"\x00" + d).digest() for d in datas])  # leaf_hash
    index = size
    at = 0
    while at < len(datas):  # each entry bundle's share of the batch at once
        take = min(_WIDTH - (index & (_WIDTH - 1)), len(datas) - at)
        bundle = bundles.get(index >> _HEIGHT)
        if bundle is None:
            bundle = bundles[index >> _HEIGHT] = bytearray()
        bundle += b"".join([len(d).to_bytes(2, "big") + d for d in datas[at : at + take]])
        at += take
        index += take
    leaves = list(zip(range(size, index), positions, strict=True))
    copy_text = b"".join([b"%d\t%d\n" % row for row in leaves])
    new_size = index
    tile_rows = [(lv, ix, len(t) // 32, bytes(t)) for (lv, ix), t in tiles.items()]
    entry_rows = [(ix, min(_WIDTH, new_size - (ix << _HEIGHT)), bytes(b))
                  for ix, b in bundles.items()]
    partial, partial_bundle = right_edge(new_size)
    edge.size = new_size
    edge.tiles = {key: tiles[key] for key in partial}
    edge.bundles = {partial_bundle: bundles[partial_bundle]} if partial_bundle is not None else {}
    position = positions[-1] if positions else 0
    return Batch(new_size, position, leaves, copy_text, tile_rows, entry_rows)
