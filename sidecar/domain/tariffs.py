"""Tariffs from the core: stored and pushed (PUT, or DELETE) to every registered eMSP."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import keys
from sidecar.domain.parties import find_tariff, require_party
from sidecar.errors import NotFound, PreconditionFailed
from sidecar.ocpi.enums import Status
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import ci_equal
from sidecar.store import outbox
from sidecar.store.locations import location_page
from sidecar.store.tariffs import delete_tariff, upsert_tariff

TARIFFS = "tariffs"
_SCAN_PAGE = 500


async def tariff_changed(
    connection: AsyncConnection, country_code: str, party_id: str, tariff_id: str,
    *, deleted: bool = False,
) -> None:
    """Queue a tariff PUT (or DELETE) for every registered partner."""
    await outbox.enqueue_registered(connection, TARIFFS, country_code, party_id, tariff_id,
                                    outbox.DELETE if deleted else outbox.PUT)


async def _user(connection: AsyncConnection, tariff: Tariff) -> str | None:
    """Where a connector (of an EVSE not REMOVED) still lists the tariff, or None."""
    after = None
    while True:
        rows = await location_page(connection, after=after, limit=_SCAN_PAGE,
                                   country_code=tariff.country_code, party_id=tariff.party_id)
        for _, location in rows:
            for evse in location.evses or []:
                for connector in evse.connectors if evse.status != Status.REMOVED else []:
                    if any(ci_equal(tariff.id, t) for t in connector.tariff_ids or []):
                        return (f"location {location.id!r}, EVSE {evse.uid!r}, "
                                f"connector {connector.id!r}")
        if len(rows) < _SCAN_PAGE:
            return None
        after = rows[-1][0]


async def put_tariff(connection: AsyncConnection, tariff: Tariff) -> Tariff | None:
    """Store the tariff and queue it; None when it is unchanged (nothing stored or sent)."""
    changed = await upsert_tariff(connection, tariff)
    if changed is not None:
        await tariff_changed(connection, tariff.country_code, tariff.party_id, tariff.id)
    return changed


async def upsert(connection: AsyncConnection, key: keys.Key, tariff: Tariff
                 ) -> tuple[Tariff, bool]:
    """UpsertTariff: the tariff as stored afterwards, and whether it changed."""
    await keys.once(connection, key)
    await require_party(connection, tariff.country_code, tariff.party_id, "tariff.party")
    stored = await find_tariff(connection, tariff.id)
    if stored is not None and (stored.country_code.upper(), stored.party_id.upper()) != (
        tariff.country_code.upper(), tariff.party_id.upper()
    ):
        raise PreconditionFailed(f"tariff.party: tariff {tariff.id!r} belongs to "
                                 f"{stored.country_code}/{stored.party_id}")
    changed = await put_tariff(connection, tariff)
    return changed or stored or tariff, changed is not None


async def delete(connection: AsyncConnection, key: keys.Key, tariff_id: str
                 ) -> tuple[None, bool]:
    """DeleteTariff: refused while a connector lists it; a retried delete succeeds."""
    replay = await keys.once(connection, key)
    stored = await find_tariff(connection, tariff_id)
    if stored is None and replay:
        return None, False  # a retry of a delete that was done
    if stored is None:
        raise NotFound("tariff_id", f"no tariff {tariff_id!r}")
    user = await _user(connection, stored)
    if user is not None:
        raise PreconditionFailed(f"tariff_id: tariff {tariff_id!r} is listed by {user}")
    await delete_tariff(connection, stored.country_code, stored.party_id, stored.id)
    await tariff_changed(connection, stored.country_code, stored.party_id, stored.id,
                         deleted=True)
    return None, True
