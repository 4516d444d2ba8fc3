"""Location rows: one document per location, with the EVSE status reports kept beside it.

What a change is (merging, stamping `last_updated`, statuses) is sidecar/domain/locations.py;
this module reads and writes the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location
from sidecar.ocpi.types import ci_key
from sidecar.store import tables
from sidecar.store.documents import put_document
from sidecar.store.engine import touch

_t = tables.locations

@dataclass(frozen=True)
class StoredLocation:
    """A stored location and its status reports (EVSE uid -> entry)."""

    location: Location
    statuses: dict[str, Any]


@cache
def _load_statement(by_party: bool, locking: bool) -> Any:
    # lower(object_id): ids are CiStrings, found in any case on the ix_locations_object_key
    # expression index (documents.id_is); the bound value is ci_key(id).
    query = select(_t.c.document, _t.c.statuses).where(
        func.lower(_t.c.object_id) == bindparam("k_object_id"))
    if by_party:
        query = query.where(_t.c.country_code == bindparam("k_country_code"),
                            _t.c.party_id == bindparam("k_party_id"))
    return query.with_for_update() if locking else query


async def load_location(
    connection: AsyncConnection, country_code: str | None, party_id: str | None,
    location_id: str, *, for_update: bool = True,
) -> StoredLocation | None:
    """The stored location (its id in any case); without a party, the one with this id (ids
    are unique to us)."""
    by_party = country_code is not None and party_id is not None
    # Read-modify-write: on PostgreSQL a concurrent change of this location waits for us.
    locking = for_update and connection.dialect.name == "postgresql"
    parameters = {"k_object_id": ci_key(location_id)}
    if by_party:
        parameters.update(k_country_code=(country_code or "").upper(),
                          k_party_id=(party_id or "").upper())
    row = (await connection.execute(_load_statement(by_party, locking), parameters)).first()
    if row is None:
        return None
    return StoredLocation(codec.decode(row.document, Location), dict(row.statuses or {}))


async def get_location(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str
) -> Location | None:
    """The stored location, or None."""
    stored = await load_location(connection, country_code, party_id, location_id, for_update=False)
    return stored.location if stored else None


_REPLACE = (
    update(_t)
    .where(_t.c.country_code == bindparam("k_country_code"),
           _t.c.party_id == bindparam("k_party_id"),
           _t.c.object_id == bindparam("k_object_id"))
    .values(document=bindparam("document"), last_updated=bindparam("last_updated"),
            publish=bindparam("publish"), publish_allowed_to=bindparam("publish_allowed_to"),
            statuses=bindparam("statuses"))
)


async def save_location(
    connection: AsyncConnection, location: Location, statuses: dict[str, Any],
    *, exists: bool = False,
) -> None:
    """Write the location and its statuses: a new row, or (`exists`) over the stored one."""
    if exists:
        # The hot path (status changes): one prepared UPDATE, no upsert to build.
        await connection.execute(_REPLACE, {
            "k_country_code": location.country_code.upper(),
            "k_party_id": location.party_id.upper(), "k_object_id": location.id,
            "document": codec.encode(location), "last_updated": location.last_updated,
            "publish": location.publish,
            "publish_allowed_to": codec.to_builtins(location.publish_allowed_to),
            "statuses": statuses})
        touch(connection, _t.name)
        return
    await put_document(
        connection, _t, country_code=location.country_code, party_id=location.party_id,
        object_id=location.id, document=codec.encode(location),
        last_updated=location.last_updated, publish=location.publish,
        publish_allowed_to=codec.to_builtins(location.publish_allowed_to),
        statuses=statuses,
    )


async def save_statuses(
    connection: AsyncConnection, location: Location, statuses: dict[str, Any]
) -> None:
    """Write only the status reports (a report that changes no status the partners see)."""
    await connection.execute(
        update(_t).where(_t.c.country_code == location.country_code.upper(),
                         _t.c.party_id == location.party_id.upper(),
                         _t.c.object_id == location.id).values(statuses=statuses))


async def location_page(
    connection: AsyncConnection,
    *,
    after: tuple[str, int] | None,
    limit: int,
    country_code: str | None = None,
    party_id: str | None = None,
) -> list[tuple[tuple[str, int], Location]]:
    """Up to `limit` locations in creation order after `after`, each with its page position.

    Creation order (pk) is the one order nothing can disturb between two pages: ordered by
    id, a location created mid-crawl with an id before the cursor would never be listed.
    A position is (id, pk); only the pk continues the walk (tokens of either shape work).
    """
    query = select(_t.c.object_id, _t.c.pk, _t.c.document).order_by(_t.c.pk)
    conditions: list[Any] = []
    if after is not None:
        conditions.append(_t.c.pk > after[1])
    if country_code and party_id:
        conditions += [_t.c.country_code == country_code.upper(),
                       _t.c.party_id == party_id.upper()]
    rows = await connection.execute(query.where(*conditions).limit(limit))
    return [((r.object_id, r.pk), codec.decode(bytes(r.document), Location)) for r in rows]
