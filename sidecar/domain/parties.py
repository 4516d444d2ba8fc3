"""Our CPO parties, and the objects the core names by id alone under any of them.

The contract makes location and tariff ids unique within the sidecar, so requests name them
without a party; the store keys them by party, so they are looked up under each of our CPO
parties (a handful).
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import PreconditionFailed
from sidecar.ocpi.locations import Location
from sidecar.ocpi.tariffs import Tariff
from sidecar.store.locations import get_location
from sidecar.store.parties import Party, list_parties
from sidecar.store.tariffs import get_tariff


async def cpo_parties(connection: AsyncConnection) -> list[Party]:
    """Our CPO parties."""
    return [p for p in await list_parties(connection) if p.role == "CPO"]


def is_ours(parties: list[Party], country_code: str, party_id: str) -> bool:
    wanted = (country_code.upper(), party_id.upper())
    return any((p.country_code.upper(), p.party_id.upper()) == wanted for p in parties)


async def require_party(
    connection: AsyncConnection, country_code: str, party_id: str, path: str
) -> list[Party]:
    """Our CPO parties; FAILED_PRECONDITION unless the party is one of them."""
    parties = await cpo_parties(connection)
    if not is_ours(parties, country_code, party_id):
        raise PreconditionFailed(
            f"{path}: {country_code}/{party_id} is not a CPO party of this sidecar")
    return parties


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
