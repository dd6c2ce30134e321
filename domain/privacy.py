"""Personal data under per-subject keys, and erasure by shredding the key (个人信息保护).

A reporter's name and phone (PIPL personal information) never enter the event stream in
plain text. The application seals them with AES-256-GCM under a key that belongs to one
data subject and lives in the ``yishi_subject_keys`` table, outside the streams. The event
stores only ``{"subject_id", "alg", "ciphertext"}``, and the hash chain covers that
envelope. Erasing the subject deletes the key: the envelope stays, the chain still
verifies, and the contact reads as erased. See docs/adr/0005-personal-data.md.

An erasure is complete when no copy of the key remains in the database's files
(docs/adr/0073-erasure.md): ``purge`` rewrites the key table on PostgreSQL (``VACUUM
FULL``, once every transaction that could still see the old row has ended) and, on
SQLite, where every side-table write runs with ``secure_delete`` on (domain/storage.py),
checkpoints the write-ahead log and truncates it once its readers are done. It waits a
bounded time; an erasure not yet purged is *pending* (``erasure_state``) and a later
``purge`` (the server retries in the background) completes it.
"""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Literal

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from domain.storage import Database

#: An erasure is complete when no copy of the key is left in the database's files.
ErasureState = Literal["complete", "pending"]
ALGORITHM = "AES-256-GCM"
ERASED = "erased"
KEYS_TABLE = "yishi_subject_keys"


class SubjectKeys:
    """The per-subject keys, in the same database as the events."""

    def __init__(self, db: Database) -> None:
        self._db = db
        self._table = db.table(KEYS_TABLE)
        key_type = "bytea" if db.dialect == "postgres" else "BLOB"
        db.create(
            f"CREATE TABLE IF NOT EXISTS {self._table} ("
            " subject_id text PRIMARY KEY,"
            f" key_bytes {key_type},"
            " created_at text NOT NULL,"
            " erased_at text,"
            " erased_by text)"
        )
        db.add_columns(KEYS_TABLE, ["purged_at"])

    def key_for(self, subject_id: str, now: datetime) -> bytes:
        """The subject's key, created on first use (and again after an erasure)."""
        fresh = AESGCM.generate_key(bit_length=256)
        with self._db.transaction() as curs:
            curs.execute(
                f"INSERT INTO {self._table} (subject_id, key_bytes, created_at) VALUES (%s, %s, %s)"
                " ON CONFLICT (subject_id) DO UPDATE SET key_bytes = excluded.key_bytes,"
                " created_at = excluded.created_at, erased_at = NULL, erased_by = NULL,"
                " purged_at = NULL"
                f" WHERE {self._table}.key_bytes IS NULL",
                (subject_id, fresh, now.isoformat()),
            )
            row = curs.execute(
                f"SELECT key_bytes FROM {self._table} WHERE subject_id = %s", (subject_id,)
            ).fetchone()
        assert row is not None
        assert row[0] is not None
        return bytes(row[0])

    def get(self, subject_id: str) -> bytes | None:
        rows = self._db.execute(
            f"SELECT key_bytes FROM {self._table} WHERE subject_id = %s", (subject_id,)
        )
        return bytes(rows[0][0]) if rows and rows[0][0] is not None else None

    def erase(self, subject_id: str, by: str, now: datetime) -> bool:
        """Shred the subject's key. True when there was a key to shred."""
        with self._db.transaction() as curs:
            curs.execute(
                f"UPDATE {self._table} SET key_bytes = NULL, erased_at = %s, erased_by = %s"
                " WHERE subject_id = %s AND key_bytes IS NOT NULL",
                (now.isoformat(), by, subject_id),
            )
            return curs.rowcount > 0

    def erasure_state(self, subject_id: str) -> ErasureState | None:
        """``complete`` (no copy of the key left in the files), ``pending``, or None when
        the subject's key was never erased (or there is no such subject)."""
        rows = self._db.execute(
            f"SELECT erased_at, purged_at FROM {self._table} WHERE subject_id = %s",
            (subject_id,),
        )
        if not rows or rows[0][0] is None:
            return None
        return "complete" if rows[0][1] is not None else "pending"

    def pending(self) -> int:
        """How many erasures are not purged yet."""
        rows = self._db.execute(
            f"SELECT count(*) FROM {self._table} WHERE erased_at IS NOT NULL"
            " AND purged_at IS NULL"
        )
        return int(rows[0][0])

    def purge(self, wait_seconds: float, now: datetime) -> bool:
        """Remove every copy of the erased keys from the database's files. True when done
        (every erasure recorded before the call is complete); False when older readers
        remain after ``wait_seconds`` (try again later)."""
        pending = [str(r[0]) for r in self._db.execute(
            f"SELECT subject_id FROM {self._table} WHERE erased_at IS NOT NULL"
            " AND purged_at IS NULL"
        )]
        if not pending:
            return True
        done = self._db.purge_table(self._table, wait_seconds)
        if done:
            with self._db.transaction() as curs:
                curs.executemany(
                    f"UPDATE {self._table} SET purged_at = %s WHERE subject_id = %s"
                    " AND key_bytes IS NULL AND purged_at IS NULL",
                    [(now.isoformat(), subject) for subject in pending],
                )
        return done

    def erased_at(self, subject_id: str) -> str | None:
        rows = self._db.execute(
            f"SELECT erased_at FROM {self._table} WHERE subject_id = %s", (subject_id,)
        )
        return rows[0][0] if rows else None


def seal(
    subject_id: str, key: bytes, contact: Mapping[str, Any], nonce: bytes | None = None
) -> dict[str, str]:
    """Encrypt a contact under the subject's key; the subject id is authenticated too.

    The nonce is random unless given (a simulation that must reproduce its bytes derives
    one per case); a (key, nonce) pair must never be used twice.
    """
    nonce = os.urandom(12) if nonce is None else nonce
    plaintext = json.dumps(dict(contact), sort_keys=True, ensure_ascii=False).encode()
    ciphertext = AESGCM(key).encrypt(nonce, plaintext, subject_id.encode())
    return {
        "subject_id": subject_id,
        "alg": ALGORITHM,
        "ciphertext": base64.b64encode(nonce + ciphertext).decode("ascii"),
    }


def unseal(envelope: Mapping[str, str], key: bytes | None) -> dict[str, Any] | None:
    """The contact, or None when its key is gone (erased) or does not open it."""
    if key is None:
        return None
    try:
        raw = base64.b64decode(envelope["ciphertext"])
        plaintext = AESGCM(key).decrypt(raw[:12], raw[12:], envelope["subject_id"].encode())
    except (InvalidTag, ValueError, KeyError):
        return None
    result: dict[str, Any] = json.loads(plaintext)
    return result
