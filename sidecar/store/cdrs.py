"""CDRs: written once when a transaction ends, never changed (corrections are credit CDRs)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.store import tables
from sidecar.store.documents import put_document

_t = tables.cdrs


async def add_cdr(
    connection: AsyncConnection, cdr: CDR, *, transaction_id: str, partner_id: int | None
) -> bool:
    """Store a new CDR; False (and nothing written) when one exists already for its id."""
    return await put_document(
        connection, _t, country_code=cdr.country_code, party_id=cdr.party_id, object_id=cdr.id,
        document=codec.encode(cdr), last_updated=cdr.last_updated, only_new=True,
        transaction_id=transaction_id, partner_id=partner_id)


async def cdr_of_transaction(connection: AsyncConnection, transaction_id: str) -> bytes | None:
    """The stored CDR document of a transaction, or None."""
    document = await connection.scalar(
        select(_t.c.document).where(_t.c.transaction_id == transaction_id))
    return bytes(document) if document is not None else None
