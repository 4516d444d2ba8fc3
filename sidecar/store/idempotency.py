"""Idempotency keys of the core's write events: a replay returns the first answer again.

A key is stored with its method, a hash of the whole request and the encoded response, in the
transaction that applies the event. The same key with the same hash is a replay (nothing
changes, the stored response is returned); with another hash it is a conflict.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import bindparam, func, insert, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict
from sidecar.store import tables
from sidecar.store.bulk import insert_rows

_t = tables.idempotency_keys
# Keys per SELECT … IN (…): well below every driver's limit on bound parameters.
_CHUNK = 900
KEY_LENGTH = 255
# Built once: on the meter-values path, building a statement costs more than running it.
_FIND = select(_t.c.key, _t.c.method, _t.c.payload_hash, _t.c.result).where(
    _t.c.key.in_(bindparam("keys", expanding=True)))
_NOW = func.current_timestamp()


@dataclass(frozen=True, slots=True)
class StoredKey:
    """What was stored under a key."""

    method: str
    payload_hash: bytes
    result: bytes


def payload_hash(method: str, payload: bytes) -> bytes:
    """The hash that tells a replay (same) from a reused key (different)."""
    return hashlib.sha256(method.encode() + b"\0" + payload).digest()


def replayed(stored: StoredKey | None, method: str, digest: bytes, path: str) -> bytes | None:
    """The stored result when this is a replay; None for a new key; Conflict for a reused one."""
    if stored is None:
        return None
    if stored.method != method or stored.payload_hash != digest:
        raise Conflict(f"{path}: used before with a different payload")
    return stored.result


async def find_keys(connection: AsyncConnection, keys: Iterable[str]) -> dict[str, StoredKey]:
    """The stored keys among these."""
    wanted = list(dict.fromkeys(keys))
    found: dict[str, StoredKey] = {}
    for start in range(0, len(wanted), _CHUNK):
        rows = await connection.execute(_FIND, {"keys": wanted[start:start + _CHUNK]})
        for row in rows:
            found[row.key] = StoredKey(row.method, bytes(row.payload_hash), bytes(row.result))
    return found


async def find_key(connection: AsyncConnection, key: str) -> StoredKey | None:
    """One stored key, or None."""
    return (await find_keys(connection, [key])).get(key)


async def record_keys(
    connection: AsyncConnection,
    entries: Sequence[tuple[str, str, bytes, bytes]],
    created_at: datetime | None = None,
) -> None:
    """Store (key, method, payload hash, result) rows in the caller's transaction.

    `created_at` defaults to the database's clock, which costs nothing per row.
    """
    if not entries:
        return
    if created_at is None:
        await insert_rows(connection, _t, ("key", "method", "payload_hash", "result"), entries,
                          (("created_at", _NOW),))
        return
    await connection.execute(insert(_t).values(created_at=created_at), [
        {"key": key, "method": method, "payload_hash": digest, "result": result}
        for key, method, digest, result in entries])
