"""Idempotency keys of the location and tariff writes.

Those writes are idempotent by content (storing what is stored changes nothing), so a
replay simply runs again; the key only has to catch a key reused for another payload
(ALREADY_EXISTS) and let a retried delete succeed. The key is stored in the write's own
transaction, so a rejected request leaves no key behind.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store import idempotency

FIELD = "idempotency_key"


async def seen(connection: AsyncConnection, method: str, request: Any) -> bool:
    """True when this very request was applied before; Conflict for a reused key."""
    digest = idempotency.payload_hash(method, request.SerializeToString(deterministic=True))
    stored = await idempotency.find_key(connection, request.idempotency_key)
    return idempotency.replayed(stored, method, digest, FIELD) is not None


async def remember(connection: AsyncConnection, method: str, request: Any) -> None:
    """Store the request's key (after `seen` said it is new)."""
    digest = idempotency.payload_hash(method, request.SerializeToString(deterministic=True))
    await idempotency.record_keys(connection, [(request.idempotency_key, method, digest, b"")])


async def once(connection: AsyncConnection, method: str, request: Any) -> bool:
    """`seen`, and `remember` when new: True for a replay."""
    if await seen(connection, method, request):
        return True
    await remember(connection, method, request)
    return False
