"""The CPO parties this sidecar operates."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now
from sidecar.store import tables
from sidecar.store.dialect import upsert
from sidecar.store.documents import id_is
from sidecar.store.engine import touch

_t = tables.parties


@dataclass(frozen=True)
class Party:
    """One of our parties, with its BusinessDetails as JSON."""

    country_code: str
    party_id: str
    role: str
    business_details: dict[str, Any]


async def list_parties(connection: AsyncConnection) -> list[Party]:
    """All our parties, in the order they were added."""
    rows = await connection.execute(select(_t).order_by(_t.c.id))
    return [Party(r.country_code, r.party_id, r.role, dict(r.business_details)) for r in rows]


async def upsert_party(
    connection: AsyncConnection,
    country_code: str,
    party_id: str,
    business_details: dict[str, Any],
    role: str = "CPO",
) -> None:
    """Add a party, or replace its business details."""
    statement = upsert(connection, _t).values(
        country_code=country_code.upper(),
        party_id=party_id.upper(),
        role=role,
        business_details=business_details,
        created_at=now(),
    )
    await connection.execute(
        statement.on_conflict_do_update(
            index_elements=["country_code", "party_id", "role"],
            set_={"business_details": business_details},
        )
    )
    touch(connection, _t.name)


async def sending_party(
    connection: AsyncConnection, location_id: str | None = None
) -> tuple[str, str] | None:
    """Our party a request we send speaks for (OCPI-from): the one operating the location
    when one is named and known, else our first party; None when we have none."""
    if location_id:
        found = (await connection.execute(
            select(tables.locations.c.country_code, tables.locations.c.party_id)
            .where(id_is(tables.locations, location_id)).limit(1))).first()
        if found is not None:
            return found.country_code, found.party_id
    first = (await connection.execute(
        select(_t.c.country_code, _t.c.party_id).order_by(_t.c.id).limit(1))).first()
    return (first.country_code, first.party_id) if first is not None else None
