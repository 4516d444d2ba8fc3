"""Tariffs from the core (a payment module): stored as documents; deletion removes them."""

from __future__ import annotations

import msgspec
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import ci_key, now, utc
from sidecar.store import tables
from sidecar.store.documents import get_document, id_is, put_document
from sidecar.store.engine import touch

_t = tables.tariffs


async def get_tariff(
    connection: AsyncConnection, country_code: str, party_id: str, tariff_id: str
) -> Tariff | None:
    """The stored tariff, or None."""
    document = await get_document(connection, _t, country_code, party_id, tariff_id)
    return codec.decode(document, Tariff) if document is not None else None


async def known_tariff_ids(
    connection: AsyncConnection, country_code: str, party_id: str, tariff_ids: list[str]
) -> set[str]:
    """Which of these tariff ids the party has (as `ci_key`s), in one query, no documents."""
    if not tariff_ids:
        return set()
    keys = sorted({ci_key(t) for t in tariff_ids})
    rows = await connection.execute(
        select(_t.c.object_id).where(_t.c.country_code == country_code.upper(),
                                     _t.c.party_id == party_id.upper(),
                                     func.lower(_t.c.object_id).in_(keys)))
    return {ci_key(r.object_id) for r in rows}


async def upsert_tariff(connection: AsyncConnection, tariff: Tariff) -> Tariff | None:
    """Create or replace a tariff, stamping last_updated; None when it is unchanged.

    A tariff named in another case is the stored one, and keeps the id it was created with.
    """
    old = await get_tariff(connection, tariff.country_code, tariff.party_id, tariff.id)
    stamp = now()
    if old is not None:
        tariff = msgspec.structs.replace(tariff, id=old.id)
        if msgspec.structs.replace(tariff, last_updated=old.last_updated) == old:
            return None
        stamp = max(stamp, utc(old.last_updated))
    stored = msgspec.structs.replace(tariff, last_updated=stamp)
    await put_document(connection, _t, country_code=stored.country_code,
                       party_id=stored.party_id, object_id=stored.id,
                       document=codec.encode(stored), last_updated=stamp)
    return stored


async def delete_tariff(
    connection: AsyncConnection, country_code: str, party_id: str, tariff_id: str
) -> bool:
    """Remove a tariff; False when there was none."""
    result = await connection.execute(
        delete(_t).where(_t.c.country_code == country_code.upper(),
                         _t.c.party_id == party_id.upper(), id_is(_t, tariff_id)))
    touch(connection, _t.name)
    return bool(result.rowcount)
