"""Reading the verifiable log: proofs, coverage, case and whole-log bundles (日志读取).

The bundle format is docs/bundle-format.md; ``domain.tlog.bundle`` verifies it. Proofs are
against the latest signed checkpoint: an event the checkpoint does not cover yet has
``covered: false`` and no proof.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any
from uuid import UUID

import orjson

from domain.application import Cases
from domain.errors import CaseNotFound
from domain.storage import Cursor, Database
from domain.tlog import tiles as tl
from domain.tlog.bundle import FORMAT, state_field
from domain.tlog.note import b64
from domain.tlog.proof_text import format_proof
from domain.tlog.tree import Node, consistency_ranges, inclusion_ranges, node_hash, range_nodes
from projections import tlog_store as ls
from projections.tlog_signer import latest_checkpoint


@dataclass(frozen=True)
class StoredEvent:
    """One event as stored: the bytes its hash chain covers, and where it is."""

    stream_id: UUID
    version: int
    position: int
    topic: str
    state: bytes


def stream_events(cases: Cases, stream_id: UUID) -> list[StoredEvent]:
    """Every stored event of one stream, by version; CaseNotFound if it has none."""
    stored = cases.recorder.select_events(stream_id)
    if not stored:
        raise CaseNotFound(stream_id)
    positions = cases.positions(stream_id)
    return [StoredEvent(stream_id, s.originator_version, positions[s.originator_version],
                        s.topic, bytes(s.state)) for s in stored]


def _combiner(hashes: dict[Node, bytes]) -> Any:
    def combine(lo: int, hi: int) -> bytes:
        parts = range_nodes(lo, hi)
        result = hashes[parts[-1]]
        for node in reversed(parts[:-1]):
            result = node_hash(hashes[node], result)
        return result

    return combine


def _hash_source(cases: Cases, ranges: list[tuple[int, int]], cur: Cursor | None = None
                 ) -> Any:
    nodes = {n for lo, hi in ranges for n in range_nodes(lo, hi)}
    return _combiner(ls.load_hashes(cases.db, nodes, cur))


#: What a case's proofs start from: ``(version, position)`` by version, the leaf index of
#: each position that has a leaf, the latest checkpoint's size (0 if none) and note.
_Start = tuple[list[tuple[int, int]], dict[int, int], int, str | None]


def _case_start(cases: Cases, case_id: UUID, cur: Cursor) -> _Start:
    """The case's events with the latest checkpoint (one statement where the events are in
    SQL), then their leaves (one statement). The leaves are not joined in the first: with
    stale statistics PostgreSQL plans that join as a scan of every leaf."""
    recorder = cases.recorder
    table = getattr(recorder, "events_table_name", None)
    if table is None:  # the in-memory store
        events = sorted(cases.positions(case_id).items())
        return (events, *_leaves_and_checkpoint(cases, [p for _v, p in events], cur))
    db = cases.db
    ident: UUID | str
    if db.dialect == "postgres":
        source, key, ident = db.table(table), "notification_id", case_id
    else:
        source, key, ident = f'"{table}"', "rowid", case_id.hex
    rows = cur.execute(
        f"SELECT e.originator_version, e.{key}, c.size, c.note FROM {source} e"
        f" LEFT JOIN (SELECT size, note FROM {ls.table(db, 'checkpoints')}"
        " ORDER BY size DESC LIMIT 1) c ON 1 = 1"
        " WHERE e.originator_id = %s ORDER BY e.originator_version", (ident,)).fetchall()
    events = [(int(v), int(p)) for v, p, _s, _n in rows]
    size, note = (int(rows[0][2]), str(rows[0][3])) if rows and rows[0][2] is not None else (
        0, None)
    return events, ls.leaf_indexes(db, [p for _v, p in events], cur), size, note


def _leaves_and_checkpoint(cases: Cases, positions: list[int], cur: Cursor
                           ) -> tuple[dict[int, int], int, str | None]:
    rows = cur.execute(f"SELECT size, note FROM {ls.table(cases.db, 'checkpoints')}"
                       " ORDER BY size DESC LIMIT 1").fetchall()
    size, note = (int(rows[0][0]), str(rows[0][1])) if rows else (0, None)
    return ls.leaf_indexes(cases.db, positions, cur), size, note


def case_proofs(cases: Cases, case_id: UUID) -> dict[str, Any]:
    """``{"checkpoint", "events": [{"version", "position", "leaf_index", "leaf",
    "covered", "inclusion", "tlog_proof"}]}`` for GET /cases/{id}/proof: three statements
    (the events and the checkpoint; their leaves; the tiles and entry bundles the proofs
    need), without a transaction: what the checkpoint covers is never rewritten
    (tiles and entries only grow). CaseNotFound if the stream has no event."""
    ls.ensure_tables(cases.db)
    with cases.db.reading() as cur:
        start = _case_start(cases, case_id, cur)
        if not start[0]:
            raise CaseNotFound(case_id)
        return _proofs(start, cur, cases.db)


def _proofs(start: _Start, cur: Cursor, db: Database) -> dict[str, Any]:
    events, indexes, size, note = start
    covered = {p: indexes[p] for _v, p in events if indexes.get(p, size) < size}
    ranges = {p: inclusion_ranges(i, size) for p, i in covered.items()}
    nodes = {n for r in {r for rs in ranges.values() for r in rs} for n in range_nodes(*r)}
    hashes, texts = _proof_material(db, nodes, list(indexes.values()), cur)
    combine = _combiner(hashes)
    # The events of a case share the upper parts of their paths: each range once.
    done: dict[tuple[int, int], tuple[bytes, str]] = {}
    out = []
    for version, position in events:
        index = indexes.get(position)
        entry: dict[str, Any] = {
            "version": version, "position": position, "leaf_index": index,
            "leaf": None, "covered": position in covered, "inclusion": None,
            "tlog_proof": None,
        }
        if index is not None:
            entry["leaf"] = texts[index].decode("ascii")
        if position in covered:
            for key in ranges[position]:
                if key not in done:
                    digest = combine(*key)
                    done[key] = (digest, b64(digest))
            proof = [done[key][0] for key in ranges[position]]
            entry["inclusion"] = [done[key][1] for key in ranges[position]]
            assert note is not None
            entry["tlog_proof"] = format_proof(index or 0, proof, note,
                                               extra=str(position).encode())
        out.append(entry)
    return {"checkpoint": note, "events": out}


def _proof_material(db: Database, nodes: set[Node], indexes: list[int], cur: Cursor
                    ) -> tuple[dict[Node, bytes], dict[int, bytes]]:
    """The hashes of these complete subtrees and the leaf data of these leaves, from the
    tiles and entry bundles they are in: one statement (for up to 200 tiles)."""
    wanted = {node: tl.tile_of(node) for node in nodes}
    keys = sorted({(k, idx) for k, idx, _f, _c in wanted.values()})
    bundles = sorted({i >> tl.TILE_HEIGHT for i in indexes})
    hashes = None
    if len(keys) > 200:  # a very long list of proofs: the tiles in chunks, then the bundles
        hashes = ls.load_hashes(db, nodes, cur)
        keys = []
    parts: list[str] = []
    params: list[int] = []
    if keys:
        parts.append(f"SELECT 0, level, idx, data FROM {ls.table(db, 'tiles')}"
                     f" WHERE {ls.tiles_where(keys)}")
        params += [v for key in keys for v in key]
    if bundles:
        parts.append(f"SELECT 1, 0, idx, data FROM {ls.table(db, 'entries')}"
                     f" WHERE idx IN ({','.join(['%s'] * len(bundles))})")
        params += bundles
    tiles: dict[tuple[int, int], bytes] = {}
    entries: dict[int, bytes] = {}
    if parts:
        for kind, level, idx, data in cur.execute(" UNION ALL ".join(parts), params
                                                  ).fetchall():
            if kind:
                entries[int(idx)] = bytes(data)
            else:
                tiles[(int(level), int(idx))] = bytes(data)
    if hashes is None:
        hashes = ls.hashes_from_tiles(wanted, tiles)
    return hashes, _leaf_data(entries, indexes)


def _leaf_data(entries: dict[int, bytes], indexes: list[int]) -> dict[int, bytes]:
    """The leaf data of these leaves from their entry bundles (each read only as far as
    its last wanted entry); LogError if a bundle is missing or too short."""
    wanted: dict[int, list[int]] = {}
    for index in indexes:
        wanted.setdefault(index >> tl.TILE_HEIGHT, []).append(index & (tl.TILE_WIDTH - 1))
    texts = {}
    for idx, offsets in wanted.items():
        bundle = entries.get(idx)
        found = tl.decode_entries(bundle, max(offsets) + 1) if bundle is not None else []
        for offset in offsets:
            if offset >= len(found):
                raise ls.LogError(f"the log's entry bundle for leaf"
                                  f" {(idx << tl.TILE_HEIGHT) + offset} is missing")
            texts[(idx << tl.TILE_HEIGHT) + offset] = found[offset]
    return texts


def entry_bundle(cases: Cases, idx: int) -> tuple[int, bytes] | None:
    rows = cases.db.execute(f"SELECT width, data FROM {ls.table(cases.db, 'entries')}"
                            " WHERE idx = %s", (idx,))
    return (int(rows[0][0]), bytes(rows[0][1])) if rows else None


def hash_tile(cases: Cases, level: int, idx: int) -> tuple[int, bytes] | None:
    rows = cases.db.execute(f"SELECT width, data FROM {ls.table(cases.db, 'tiles')}"
                            " WHERE level = %s AND idx = %s", (level, idx))
    return (int(rows[0][0]), bytes(rows[0][1])) if rows else None


def consistency(cases: Cases, old: int, new: int) -> list[bytes]:
    ranges = consistency_ranges(old, new)
    combine = _hash_source(cases, ranges, None)
    return [combine(lo, hi) for lo, hi in ranges]


def checkpoints(cases: Cases, after: int, limit: int) -> list[tuple[int, str]]:
    ls.ensure_tables(cases.db)
    rows = cases.db.execute(f"SELECT size, note FROM {ls.table(cases.db, 'checkpoints')}"
                            " WHERE size > %s ORDER BY size LIMIT %s", (after, limit))
    return [(int(s), str(n)) for s, n in rows]


def coverage(cases: Cases, case_id: UUID) -> list[dict[str, Any]]:
    """Per event of the case: version, position, leaf index and whether the latest
    checkpoint covers it."""
    ls.ensure_tables(cases.db)
    positions = cases.positions(case_id)
    indexes = ls.leaf_indexes(cases.db, list(positions.values()))
    last = latest_checkpoint(cases.db)
    size = last[0] if last else 0
    return [{"version": v, "position": p, "leaf_index": indexes.get(p),
             "covered": indexes.get(p, size) < size}
            for v, p in sorted(positions.items())]


def _event_json(event: StoredEvent) -> dict[str, Any]:
    return {"stream_id": str(event.stream_id), "version": event.version,
            "position": event.position, "topic": event.topic, **state_field(event.state)}


def case_bundle(cases: Cases, case_id: UUID, since: int | None = None) -> dict[str, Any]:
    """The case bundle of docs/bundle-format.md."""
    events = stream_events(cases, case_id)
    ls.ensure_tables(cases.db)
    with cases.db.transaction() as cur:
        pairs = [(e.version, e.position) for e in events]
        start = (pairs, *_leaves_and_checkpoint(cases, [p for _v, p in pairs], cur))
        proofs = _proofs(start, cur, cases.db)
    bundle: dict[str, Any] = {
        "format": FORMAT, "kind": "case", "stream_id": str(case_id),
        "checkpoint": proofs["checkpoint"],
        "events": [{**_event_json(e), "leaf_index": p["leaf_index"] if p["covered"] else None,
                    "inclusion": p["inclusion"]}
                   for e, p in zip(events, proofs["events"], strict=True)],
    }
    if since is not None and proofs["checkpoint"] is not None:
        size = latest_checkpoint(cases.db)[0]  # type: ignore[index]
        if not 0 < since <= size:
            raise ValueError(f"since must be from 1 to the checkpoint's size {size}")
        bundle["consistency"] = {"from": since,
                                 "proof": [b64(h) for h in consistency(cases, since, size)]}
    return bundle


def write_log_bundle(cases: Cases, out: IO[bytes]) -> int:
    """The whole-log bundle (JSON lines) up to the latest checkpoint; leaves written."""
    ls.ensure_tables(cases.db)
    last = latest_checkpoint(cases.db)
    if last is None:
        raise ls.LogError("the log has no checkpoint yet: run 'yishi log checkpoint'")
    size, _root, note = last
    out.write(orjson.dumps({"format": FORMAT, "kind": "log", "checkpoint": note,
                            "size": size}) + b"\n")
    dumps = orjson.dumps
    for record in log_records(cases, size):
        out.write(dumps(record) + b"\n")
    return size


def log_records(cases: Cases, size: int) -> Iterator[dict[str, Any]]:
    """The records of a whole-log bundle up to ``size`` leaves: each leaf with its event
    (null if the store lost it), and each event with no leaf (``i`` null)."""
    events = _positioned_events(cases)
    event = next(events, None)
    last_position = -1
    for index, data in enumerate(_leaves(cases, size)):
        position = int(data.split(b"\n", 2)[1])
        last_position = position
        while event is not None and event.position < position:
            yield {"i": None, "leaf": None, "event": _event_json(event)}
            event = next(events, None)
        record: dict[str, Any] = {"i": index, "leaf": data.decode("ascii"), "event": None}
        if event is not None and event.position == position:
            record["event"] = _event_json(event)
            event = next(events, None)
        yield record
    while event is not None and event.position <= last_position:
        yield {"i": None, "leaf": None, "event": _event_json(event)}
        event = next(events, None)


def _leaves(cases: Cases, size: int) -> Iterator[bytes]:
    count = 0
    for idx in range((size + tl.TILE_WIDTH - 1) >> tl.TILE_HEIGHT):
        bundle = entry_bundle(cases, idx)
        if bundle is None:
            raise ls.LogError(f"the log's entry bundle {idx} is missing")
        for data in tl.decode_entries(bundle[1]):
            if count == size:
                return
            yield data
            count += 1


def _positioned_events(cases: Cases, page: int = 5000) -> Iterator[StoredEvent]:
    recorder = cases.recorder
    after = -1  # from position 0: a row forged before the first event is read too
    while True:
        notes = recorder.select_notifications(start=after + 1, limit=page)
        for n in notes:
            yield StoredEvent(UUID(str(n.originator_id)), n.originator_version, n.id, n.topic,
                              bytes(n.state))
        if len(notes) < page:
            return
        after = notes[-1].id

