"""Locations module, Sender interface: GET list, one location, one EVSE, one connector."""

from __future__ import annotations

from typing import Any, NoReturn

from sqlalchemy import or_, select
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import UnknownLocation
from gateway.modules import ModuleRequest, list_response, module_request, party_filter
from gateway.transport import ocpi_json_response, ocpi_response
from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location, find_connector, find_evse
from sidecar.store import tables
from sidecar.store.audience import unpublished_visible_to
from sidecar.store.documents import id_is

_t = tables.locations


VISIBILITY_TABLES = ("locations", "tokens")


async def _allowed(module: ModuleRequest) -> tuple[int, ...]:
    """Primary keys of the unpublished locations this partner may see (cached)."""
    async def compute() -> tuple[int, ...]:
        async with module.services.database.read() as connection:
            return tuple(await unpublished_visible_to(connection, module.partner.id))

    return await module.services.cache.get(("unpublished", module.partner.id),
                                           VISIBILITY_TABLES, compute)


def _visible(allowed: tuple[int, ...]) -> Any:
    published = _t.c.publish == True  # noqa: E712 (SQL, and indexable unlike IS)
    return or_(published, _t.c.pk.in_(allowed)) if allowed else published


async def get_locations(request: Request) -> Response:
    """GET /locations: the locations the caller may see, paginated."""
    module = await module_request(request)
    allowed = await _allowed(module)
    return await list_response(request, module, _t, lambda: _visible(allowed),
                               scope=(allowed, ("tokens",)))


async def _location(request: Request, module: ModuleRequest) -> bytes:
    location_id = request.path_params["location_id"]
    conditions = [id_is(_t, location_id), _visible(await _allowed(module))]
    party = party_filter(_t, module.party)
    if party is not None:
        conditions.append(party)
    async with module.services.database.read() as connection:
        document = await connection.scalar(
            select(_t.c.document).where(*conditions).order_by(_t.c.pk).limit(1))
    if document is None:
        raise_unknown(f"no location {location_id!r}")
    return bytes(document)


def raise_unknown(message: str) -> NoReturn:
    """2003 with HTTP 404, the answer for any missing location, EVSE or connector."""
    raise UnknownLocation(message, http_status=404)


async def get_location(request: Request) -> Response:
    """GET /locations/{location_id}."""
    module = await module_request(request)
    return ocpi_json_response(await _location(request, module), headers=module.reply_headers)


async def get_evse(request: Request) -> Response:
    """GET /locations/{location_id}/{evse_uid}."""
    module = await module_request(request)
    location = codec.decode(await _location(request, module), Location)
    uid = request.path_params["evse_uid"]
    evse = find_evse(location, uid)
    if evse is not None:
        return ocpi_response(evse, headers=module.reply_headers)
    raise_unknown(f"no EVSE {uid!r} at location {location.id!r}")


async def get_connector(request: Request) -> Response:
    """GET /locations/{location_id}/{evse_uid}/{connector_id}."""
    module = await module_request(request)
    location = codec.decode(await _location(request, module), Location)
    uid = request.path_params["evse_uid"]
    connector_id = request.path_params["connector_id"]
    evse = find_evse(location, uid)
    connector = find_connector(evse, connector_id) if evse is not None else None
    if connector is not None:
        return ocpi_response(connector, headers=module.reply_headers)
    raise_unknown(f"no connector {connector_id!r} on EVSE {uid!r}")
