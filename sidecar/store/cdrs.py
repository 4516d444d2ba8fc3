"""CDRs: written once when a transaction ends, never changed (corrections are credit CDRs)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.types import now
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


@dataclass(frozen=True, slots=True)
class StoredCdr:
    """A stored CDR: its document and the partner it was sent to."""

    country_code: str
    party_id: str
    document: bytes
    partner_id: int | None


async def find_cdrs(connection: AsyncConnection, cdr_id: str) -> list[StoredCdr]:
    """The stored CDRs with this id, of any of our parties (ids are unique per party)."""
    rows = await connection.execute(
        select(_t.c.country_code, _t.c.party_id, _t.c.document, _t.c.partner_id)
        .where(_t.c.object_id == cdr_id))
    return [StoredCdr(r.country_code, r.party_id, bytes(r.document), r.partner_id)
            for r in rows]


async def credit_of(connection: AsyncConnection, country_code: str, party_id: str,
                    cdr_id: str) -> tuple[str, str | None] | None:
    """(credit CDR id, corrected CDR id) when this CDR was credited, else None."""
    c = tables.cdr_credits
    row = (await connection.execute(select(c.c.credit_id, c.c.corrected_id).where(
        c.c.country_code == country_code, c.c.party_id == party_id,
        c.c.cdr_id == cdr_id))).first()
    return (row.credit_id, row.corrected_id) if row is not None else None


async def record_credit(connection: AsyncConnection, country_code: str, party_id: str,
                        cdr_id: str, credit_id: str, corrected_id: str | None) -> None:
    """This CDR is credited (once: the unique key refuses a second, concurrent one)."""
    await connection.execute(tables.cdr_credits.insert().values(
        country_code=country_code, party_id=party_id, cdr_id=cdr_id, credit_id=credit_id,
        corrected_id=corrected_id, created_at=now()))
