"""LocationService: the core's locations, EVSEs, connectors and statuses, stored and pushed.

Every write validates the whole request first (INVALID_ARGUMENT names the proto field), then
sidecar/domain/locations.py applies it (the change with its outbox entries in one
transaction, the push worker woken after the commit); the answer comes only then. Errors
are raised; status.py maps them.
"""

from __future__ import annotations

from typing import Any, cast

import grpc
from ocpi_sidecar.v1 import locations_pb2 as pb
from ocpi_sidecar.v1 import locations_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import locations as domain
from sidecar.domain.locations import Locations
from sidecar.domain.parties import find_location
from sidecar.errors import InvalidField, NotFound
from sidecar.ocpi.enums import Status
from sidecar.ocpi.locations import EVSE, Connector, Location
from sidecar.ocpi.types import ci_key
from sidecar.servicers import lookups, mapping
from sidecar.servicers.enum_mapping import EVSE_STATUS, OCPP16_STATUS, OCPP201_STATUS
from sidecar.servicers.keys import key_of
from sidecar.store.engine import Database
from sidecar.store.locations import location_page
from sidecar.store.outbox import Wakeup

Context = grpc.aio.ServicerContext[Any, Any]


def _unique(ids: list[str], path: str, name: str) -> None:
    """Ids are CiStrings: two that differ only in case are the same id."""
    seen: set[str] = set()
    for i, value in enumerate(ids):
        if value and ci_key(value) in seen:
            raise InvalidField(f"{path}[{i}].{name}", f"duplicate {value!r}")
        seen.add(ci_key(value))


def _evse_builtins(evse: pb.Evse, path: str) -> dict[str, Any]:
    """An input EVSE as OCPI builtins, with what the OCPI model cannot check checked."""
    if evse.status == pb.EVSE_STATUS_REMOVED:
        raise InvalidField(f"{path}.status", "REMOVED is set only by RemoveEvse")
    for i, schedule in enumerate(evse.status_schedules):
        if schedule.status == pb.EVSE_STATUS_REMOVED:
            raise InvalidField(f"{path}.status_schedules[{i}].status", "REMOVED is not allowed")
    _unique([c.id for c in evse.connectors], f"{path}.connectors", "id")
    data = mapping.to_builtins(evse, path)
    # UNSPECIFIED keeps the stored status (domain.merge_evses); a new EVSE starts UNKNOWN.
    data.setdefault("status", Status.UNKNOWN.value)
    return data


def _to_evse(evse: pb.Evse, path: str) -> EVSE:
    return mapping.convert(_evse_builtins(evse, path), EVSE, path)


def _status(request: pb.SetEvseStatusRequest | pb.SetConnectorStatusRequest) -> Status:
    """The request's status oneof as OCPI status (docs/contract.md, "Status mapping")."""
    kind = request.WhichOneof("status")
    if kind is None:
        raise InvalidField("status", "required: one of ocpp16_status, ocpp201_status, ocpi_status")
    value = getattr(request, kind)
    tables = {"ocpp16_status": OCPP16_STATUS, "ocpp201_status": OCPP201_STATUS,
              "ocpi_status": EVSE_STATUS.to_ocpi}
    status = tables[kind].get(value)
    if status is None:
        field: Any = request.DESCRIPTOR.fields_by_name[kind]
        unspecified = field.enum_type.values_by_number[0].name
        raise InvalidField(kind, f"{unspecified} is not allowed" if value == 0
                           else f"unknown enum value {value}")
    if status == Status.REMOVED:
        raise InvalidField(kind, "REMOVED is set only by RemoveEvse")
    return status


class LocationServicer(locations_pb2_grpc.LocationServiceServicer):
    """LocationService over the locations domain; `wakeup` tells the push worker about each
    commit."""

    def __init__(self, database: Database, wakeup: Wakeup) -> None:
        self._database = database
        self._locations = Locations(database, wakeup)

    async def _stored(self, connection: AsyncConnection, location_id: str) -> Location:
        found = await find_location(connection, location_id)
        if found is None:
            raise NotFound("location_id", f"no location {location_id!r}")
        return found

    async def UpsertLocation(
        self, request: pb.UpsertLocationRequest, context: Context
    ) -> pb.UpsertLocationResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        if not request.HasField("location"):
            raise InvalidField("location", "required")
        given = request.location
        _unique([e.uid for e in given.evses], "location.evses", "uid")
        data = mapping.to_builtins(given, "location")
        if given.evses:
            data["evses"] = [_evse_builtins(e, f"location.evses[{i}]")
                             for i, e in enumerate(given.evses)]
        location = mapping.convert(data, Location, "location")
        keep = frozenset(e.uid for e in given.evses if e.status == pb.EVSE_STATUS_UNSPECIFIED)
        key = key_of("UpsertLocation", request)
        result = await self._locations.write(
            lambda c: domain.upsert_location(c, key, location, keep))
        return pb.UpsertLocationResponse(last_updated=result.last_updated)

    async def UpsertEvse(
        self, request: pb.UpsertEvseRequest, context: Context
    ) -> pb.UpsertEvseResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        if not request.HasField("evse"):
            raise InvalidField("evse", "required")
        evse = _to_evse(request.evse, "evse")
        keep = request.evse.status == pb.EVSE_STATUS_UNSPECIFIED
        key = key_of("UpsertEvse", request)
        result = await self._locations.write(
            lambda c: domain.upsert_evse(c, key, location_id, evse, keep))
        return pb.UpsertEvseResponse(last_updated=result.last_updated)

    async def UpsertConnector(
        self, request: pb.UpsertConnectorRequest, context: Context
    ) -> pb.UpsertConnectorResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        evse_uid = mapping.require(request.evse_uid, "evse_uid")
        if not request.HasField("connector"):
            raise InvalidField("connector", "required")
        connector = mapping.to_model(request.connector, Connector, "connector")
        key = key_of("UpsertConnector", request)
        result = await self._locations.write(
            lambda c: domain.upsert_connector(c, key, location_id, evse_uid, connector))
        return pb.UpsertConnectorResponse(last_updated=result.last_updated)

    async def RemoveEvse(
        self, request: pb.RemoveEvseRequest, context: Context
    ) -> pb.RemoveEvseResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        evse_uid = mapping.require(request.evse_uid, "evse_uid")
        key = key_of("RemoveEvse", request)
        result = await self._locations.write(
            lambda c: domain.remove_evse(c, key, location_id, evse_uid))
        return pb.RemoveEvseResponse(last_updated=result.last_updated)

    async def _set_status(
        self, request: pb.SetEvseStatusRequest | pb.SetConnectorStatusRequest,
        connector_id: str | None,
    ) -> pb.EvseStatus:
        """Record the status; the EVSE's resulting status as proto EvseStatus."""
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        evse_uid = mapping.require(request.evse_uid, "evse_uid")
        if not request.HasField("timestamp"):
            raise InvalidField("timestamp", "required")
        at = mapping.timestamp(request.timestamp, "timestamp")
        status = _status(request)
        key = key_of(type(request).__name__.removesuffix("Request"), request)
        now_status = await self._locations.status(key, location_id, evse_uid, status, at,
                                                  connector_id)
        return cast(pb.EvseStatus, EVSE_STATUS.to_proto[now_status])

    async def SetEvseStatus(
        self, request: pb.SetEvseStatusRequest, context: Context
    ) -> pb.SetEvseStatusResponse:
        return pb.SetEvseStatusResponse(evse_status=await self._set_status(request, None))

    async def SetConnectorStatus(
        self, request: pb.SetConnectorStatusRequest, context: Context
    ) -> pb.SetConnectorStatusResponse:
        connector_id = mapping.require(request.connector_id, "connector_id")
        return pb.SetConnectorStatusResponse(
            evse_status=await self._set_status(request, connector_id))

    async def GetLocation(
        self, request: pb.GetLocationRequest, context: Context
    ) -> pb.GetLocationResponse:
        location_id = mapping.require(request.location_id, "location_id")
        async with self._database.read() as connection:
            location = await self._stored(connection, location_id)
        return pb.GetLocationResponse(location=mapping.from_model(location, pb.Location()))

    async def ListLocations(
        self, request: pb.ListLocationsRequest, context: Context
    ) -> pb.ListLocationsResponse:
        limit = lookups.page_size(request.page_size)
        after = lookups.parse_page_token(request.page_token)
        party = request.party if request.HasField("party") else None
        if party is not None:
            mapping.require(party.country_code, "party.country_code")
            mapping.require(party.party_id, "party.party_id")
        async with self._database.read() as connection:
            rows = await location_page(
                connection, after=after, limit=limit + 1,
                country_code=party.country_code if party else None,
                party_id=party.party_id if party else None)
        response = pb.ListLocationsResponse(
            locations=[mapping.from_model(location, pb.Location()) for _, location in rows[:limit]])
        if len(rows) > limit:
            response.next_page_token = lookups.page_token(rows[limit - 1][0])
        return response
