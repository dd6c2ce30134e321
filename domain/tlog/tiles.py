"""C2SP tlog-tiles: tile paths, hash tiles and entry bundles.

- A hash tile at level ``L``, index ``N`` holds up to 256 consecutive hashes of tree level
  ``8 * L`` (level 0: the leaf hashes), nodes ``N * 256`` onwards; a full tile has 256
  (8,192 bytes), a partial one ``W`` < 256, served at ``tile/<L>/<N>.p/<W>``.
- An entry bundle ``tile/entries/<N>[.p/<W>]`` holds the data of leaves ``N * 256``
  onwards, each as a big-endian 16-bit length and the bytes.
- ``N`` is written in groups of three digits, every group but the last prefixed with ``x``:
  1234067 -> ``x001/x234/067``.

Node hashes never change once their subtree is complete, so the first ``W`` hashes of a
wider tile are the partial tile of width ``W``: a store keeps one row per tile, the widest.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from domain.tlog.tree import HASH_SIZE, Node, node_hash

TILE_HEIGHT = 8
TILE_WIDTH = 1 << TILE_HEIGHT
_PATH = re.compile(r"(entries|0|[1-9][0-9]?)/((?:x[0-9]{3}/)*[0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


class TileError(ValueError):
    """A tile path or bundle that cannot be read."""


def index_path(n: int) -> str:
    """``N`` as in a tile path: 1234067 -> ``x001/x234/067``."""
    text = str(n)
    text = "0" * (-len(text) % 3) + text
    groups = [text[i : i + 3] for i in range(0, len(text), 3)]
    return "/".join([*("x" + g for g in groups[:-1]), groups[-1]])


def tile_path(level: int | str, n: int, width: int = TILE_WIDTH) -> str:
    """``tile/<L>/<N>[.p/<W>]`` (``level`` "entries" for an entry bundle)."""
    suffix = "" if width == TILE_WIDTH else f".p/{width}"
    return f"tile/{level}/{index_path(n)}{suffix}"


def parse_tile_path(path: str) -> tuple[str, int, int]:
    """``(level, N, width)`` of ``<L or entries>/<N>[.p/<W>]`` (after ``tile/``);
    level is "entries" or the decimal level. TileError if not a tile path."""
    match = _PATH.fullmatch(path)
    if match is None:
        raise TileError(f"not a tile path: {path!r}")
    groups = match[2].split("/")
    if len(groups) > 1 and groups[0] == "x000":
        raise TileError("a tile index has no leading zero groups")
    n = int("".join(g.removeprefix("x") for g in groups))
    width = int(match[3]) if match[3] else TILE_WIDTH
    if width > TILE_WIDTH or (match[3] and width == TILE_WIDTH):
        raise TileError("a partial tile is narrower than 256")
    return match[1], n, width


def tile_of(node: Node) -> tuple[int, int, int, int]:
    """Where a complete subtree's hash comes from: ``(tile level, tile index, first
    stored hash in the tile, how many stored hashes it folds)``. A node of tree level
    ``8k + r`` is the root of ``2**r`` consecutive hashes of level ``8k``, all in one tile."""
    level, index = node
    k, r = divmod(level, TILE_HEIGHT)
    first = index << r
    return k, first >> TILE_HEIGHT, first & (TILE_WIDTH - 1), 1 << r


def fold(hashes: Sequence[bytes]) -> bytes:
    """The root of a power-of-two number of consecutive stored hashes."""
    level = list(hashes)
    while len(level) > 1:
        level = [node_hash(level[i], level[i + 1]) for i in range(0, len(level), 2)]
    return level[0]


def split_hashes(tile: bytes) -> list[bytes]:
    if len(tile) % HASH_SIZE:
        raise TileError("a hash tile's length is not a multiple of 32")
    return [tile[i : i + HASH_SIZE] for i in range(0, len(tile), HASH_SIZE)]


def encode_entries(entries: Iterable[bytes]) -> bytes:
    """An entry bundle: each entry as a big-endian uint16 length and its bytes."""
    out = bytearray()
    for entry in entries:
        if len(entry) > 0xFFFF:
            raise TileError("an entry is longer than 65,535 bytes")
        out += len(entry).to_bytes(2, "big") + entry
    return bytes(out)


def decode_entries(bundle: bytes, limit: int | None = None) -> list[bytes]:
    """The entries of a bundle (only the first ``limit`` if given); TileError if it ends
    inside a length or an entry before that."""
    entries: list[bytes] = []
    at = 0
    while at < len(bundle) and (limit is None or len(entries) < limit):
        if at + 2 > len(bundle):
            raise TileError("an entry bundle ends inside a length")
        length = int.from_bytes(bundle[at : at + 2], "big")
        if at + 2 + length > len(bundle):
            raise TileError("an entry bundle ends inside an entry")
        entries.append(bundle[at + 2 : at + 2 + length])
        at += 2 + length
    return entries
