"""Store look-ups the servicers share: our parties, objects by id alone, pages of locations.

The contract makes location and tariff ids unique within the sidecar, so requests name them
without a party; the store keys them by party, so they are looked up under each of our CPO
parties (a handful). The keyset page query belongs in sidecar/store/locations.py (it is here
until the store offers one); it only reads.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import InvalidField, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location
from sidecar.ocpi.tariffs import Tariff
from sidecar.store import tables
from sidecar.store.locations import get_location
from sidecar.store.parties import Party, list_parties
from sidecar.store.tariffs import get_tariff

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


async def cpo_parties(connection: AsyncConnection) -> list[Party]:
    """Our CPO parties."""
    return [p for p in await list_parties(connection) if p.role == "CPO"]


async def require_party(
    connection: AsyncConnection, country_code: str, party_id: str, path: str
) -> None:
    """FAILED_PRECONDITION unless the party is one of our CPO parties."""
    wanted = (country_code.upper(), party_id.upper())
    if not any((p.country_code.upper(), p.party_id.upper()) == wanted
               for p in await cpo_parties(connection)):
        raise PreconditionFailed(
            f"{path}: {country_code}/{party_id} is not a CPO party of this sidecar")


async def find_location(connection: AsyncConnection, location_id: str) -> Location | None:
    """The stored location with this id, whichever of our parties owns it."""
    for party in await cpo_parties(connection):
        found = await get_location(connection, party.country_code, party.party_id, location_id)
        if found is not None:
            return found
    return None


async def find_tariff(connection: AsyncConnection, tariff_id: str) -> Tariff | None:
    """The stored tariff with this id, whichever of our parties owns it."""
    for party in await cpo_parties(connection):
        found = await get_tariff(connection, party.country_code, party.party_id, tariff_id)
        if found is not None:
            return found
    return None


def page_size(requested: int) -> int:
    """0 → the default; more than the maximum → the maximum; negative → INVALID_ARGUMENT."""
    if requested < 0:
        raise InvalidField("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(after: tuple[str, int]) -> str:
    """An opaque token for the page after this (id, key)."""
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def parse_page_token(token: str) -> tuple[str, int] | None:
    """The (id, key) a token continues after; None for the first page."""
    if not token:
        return None
    try:
        object_id, key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(object_id, str) and isinstance(key, int):
            return object_id, key
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidField("page_token", "not a token from a previous page")


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
    t = tables.locations
    query = select(t.c.object_id, t.c.pk, t.c.document).order_by(t.c.pk)
    conditions: list[Any] = []
    if after is not None:
        conditions.append(t.c.pk > after[1])
    if country_code and party_id:
        conditions += [t.c.country_code == country_code.upper(),
                       t.c.party_id == party_id.upper()]
    rows = await connection.execute(query.where(*conditions).limit(limit))
    return [((r.object_id, r.pk), codec.decode(bytes(r.document), Location)) for r in rows]
