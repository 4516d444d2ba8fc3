"""Idempotency keys of the content-idempotent writes (locations, tariffs).

Those writes are idempotent by content (storing what is stored changes nothing), so a
replay simply runs again; the key only has to catch a key reused for another payload
(ALREADY_EXISTS) and let a retried delete succeed. The key is stored in the write's own
transaction, so a rejected request leaves no key behind.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store import idempotency

FIELD = "idempotency_key"


@dataclass(frozen=True, slots=True)
class Key:
    """A write's idempotency key, the method it came with and the hash of its payload."""

    key: str
    method: str
    digest: bytes


async def seen(connection: AsyncConnection, key: Key) -> bool:
    """True when this very request was applied before; Conflict for a reused key."""
    stored = await idempotency.find_key(connection, key.key)
    return idempotency.replayed(stored, key.method, key.digest, FIELD) is not None


async def remember(connection: AsyncConnection, key: Key) -> None:
    """Store the key (after `seen` said it is new)."""
    await idempotency.record_keys(connection, [(key.key, key.method, key.digest, b"")])


async def once(connection: AsyncConnection, key: Key) -> bool:
    """`seen`, and `remember` when new: True for a replay."""
    if await seen(connection, key):
        return True
    await remember(connection, key)
    return False
