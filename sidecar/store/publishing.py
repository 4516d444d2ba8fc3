"""Changes become outbox entries for the partners that must see them (same transaction)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.store import outbox
from sidecar.store.audience import location_audience
from sidecar.store.locations import LocationChange

LOCATIONS = "locations"
TARIFFS = "tariffs"


async def location_changed(connection: AsyncConnection, change: LocationChange) -> None:
    """Queue a location change: a PATCH of the EVSEs when that says it all, else a PUT."""
    location = change.location
    action = outbox.PUT if change.patched_evses is None else outbox.PATCH
    key = (LOCATIONS, location.country_code, location.party_id, location.id, action)
    if location.publish or change.was_published:
        await outbox.enqueue_registered(connection, *key, change.patched_evses or ())
        return
    audience = await location_audience(
        connection, location.publish, codec.to_builtins(location.publish_allowed_to),
        change.was_published,
    )
    await outbox.enqueue(connection, audience, *key, change.patched_evses or ())


async def tariff_changed(
    connection: AsyncConnection, country_code: str, party_id: str, tariff_id: str,
    *, deleted: bool = False,
) -> None:
    """Queue a tariff PUT (or DELETE) for every registered partner."""
    await outbox.enqueue_registered(connection, TARIFFS, country_code, party_id, tariff_id,
                                    outbox.DELETE if deleted else outbox.PUT)
