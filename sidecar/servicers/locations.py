"""LocationService: the core's locations, EVSEs, connectors and statuses, stored and pushed.

Every write validates the whole request first (INVALID_ARGUMENT names the proto field), then
stores the change with its outbox entries in one transaction, wakes the push worker after
the commit, and answers only then. Errors are raised; status.py maps them.
"""

from __future__ import annotations

from typing import Any, cast

import grpc
import msgspec
from ocpi_sidecar.v1 import locations_pb2 as pb
from ocpi_sidecar.v1 import locations_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi.enums import Status
from sidecar.ocpi.locations import EVSE, Connector, Location, find_connector, find_evse
from sidecar.ocpi.types import ci_key
from sidecar.servicers import keys, lookups, mapping
from sidecar.servicers.enum_mapping import EVSE_STATUS, OCPP16_STATUS, OCPP201_STATUS
from sidecar.store import locations as store
from sidecar.store.engine import Database
from sidecar.store.groups import WriteGroups
from sidecar.store.locations import LocationChange
from sidecar.store.outbox import Wakeup
from sidecar.store.publishing import location_changed
from sidecar.store.tariffs import get_tariff

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
    # UNSPECIFIED keeps the stored status (see _merge); a new EVSE starts UNKNOWN.
    data.setdefault("status", Status.UNKNOWN.value)
    return data


def _to_evse(evse: pb.Evse, path: str) -> EVSE:
    return mapping.convert(_evse_builtins(evse, path), EVSE, path)


def _merge(
    stored: list[EVSE], listed: list[EVSE], keep: set[str], paths: list[str]
) -> list[EVSE]:
    """Stored EVSEs in their order, listed ones in their place, new ones at the end.

    Keeping the stored order is what lets a repeated upsert store nothing. `keep`: uids
    whose input status was UNSPECIFIED, which keep the stored status; `paths`: the proto
    path of each listed EVSE.
    """
    index = {ci_key(evse.uid): i for i, evse in enumerate(listed)}
    merged = []
    for old in stored:
        i = index.pop(ci_key(old.uid), None)
        if i is None:
            merged.append(old)
            continue
        if old.status == Status.REMOVED:
            raise PreconditionFailed(f"{paths[i]}.uid: EVSE {old.uid!r} is REMOVED")
        # The uid in another case names this EVSE; it keeps the uid it was created with.
        new = msgspec.structs.replace(listed[i], uid=old.uid)
        merged.append(msgspec.structs.replace(new, status=old.status)
                      if listed[i].uid in keep else new)
    return merged + [listed[i] for i in sorted(index.values())]


async def _check_tariffs(
    connection: AsyncConnection, owner: Location, connectors: list[Connector], path: str
) -> None:
    """NOT_FOUND for a tariff id the location's party has not upserted."""
    for i, connector in enumerate(connectors):
        for j, tariff_id in enumerate(connector.tariff_ids or []):
            if await get_tariff(connection, owner.country_code, owner.party_id, tariff_id) is None:
                raise NotFound(f"{path}[{i}].tariff_ids[{j}]", f"no tariff {tariff_id!r}")


def _evse(location: Location, evse_uid: str) -> EVSE:
    evse = find_evse(location, evse_uid)
    if evse is not None:
        return evse
    raise NotFound("evse_uid", f"no EVSE {evse_uid!r} at location {location.id!r}")


def _connector(evse: EVSE, connector_id: str) -> Connector:
    connector = find_connector(evse, connector_id)
    if connector is not None:
        return connector
    raise NotFound("connector_id", f"no connector {connector_id!r} on EVSE {evse.uid!r}")


def _not_removed(evse: EVSE, path: str) -> None:
    if evse.status == Status.REMOVED:
        raise PreconditionFailed(f"{path}: EVSE {evse.uid!r} is REMOVED")


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
    """LocationService over the store; `wakeup` tells the push worker about each commit."""

    def __init__(self, database: Database, wakeup: Wakeup) -> None:
        self._database = database
        # Status events come in bursts: they share transactions (group commit).
        self._groups = WriteGroups(database)
        self._wakeup = wakeup

    async def _write(self, connection: AsyncConnection, candidate: Location) -> Location | None:
        """Store the location and queue its change; None when nothing changed."""
        change = await store.upsert_location(connection, candidate)
        if change is None:
            return None
        await location_changed(connection, change)
        return change.location

    def _committed(self, changed: object) -> None:
        if changed is not None:
            self._wakeup.notify()

    async def _stored(self, connection: AsyncConnection, location_id: str) -> Location:
        found = await lookups.find_location(connection, location_id)
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
        keep = {e.uid for e in given.evses if e.status == pb.EVSE_STATUS_UNSPECIFIED}
        async with self._database.write() as connection:
            await keys.once(connection, "UpsertLocation", request)
            await lookups.require_party(connection, location.country_code, location.party_id,
                                        "location.party")
            stored = await lookups.find_location(connection, location.id)
            if stored is not None and (stored.country_code, stored.party_id) != (
                location.country_code.upper(), location.party_id.upper()
            ):
                raise PreconditionFailed(f"location.party: location {location.id!r} belongs to "
                                         f"{stored.country_code}/{stored.party_id}")
            listed = location.evses or []
            paths = [f"location.evses[{i}]" for i in range(len(listed))]
            evses = _merge(stored.evses or [] if stored else [], listed, keep, paths)
            for i, evse in enumerate(listed):
                await _check_tariffs(connection, location, evse.connectors,
                                     f"location.evses[{i}].connectors")
            changed = await self._write(
                connection, msgspec.structs.replace(location, evses=evses or None))
        self._committed(changed)
        result = changed or stored or location
        return pb.UpsertLocationResponse(last_updated=result.last_updated)

    async def UpsertEvse(
        self, request: pb.UpsertEvseRequest, context: Context
    ) -> pb.UpsertEvseResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        if not request.HasField("evse"):
            raise InvalidField("evse", "required")
        evse = _to_evse(request.evse, "evse")
        keep = {evse.uid} if request.evse.status == pb.EVSE_STATUS_UNSPECIFIED else set()
        async with self._database.write() as connection:
            await keys.once(connection, "UpsertEvse", request)
            stored = await self._stored(connection, location_id)
            evses = _merge(stored.evses or [], [evse], keep, ["evse"])
            await _check_tariffs(connection, stored, evse.connectors, "evse.connectors")
            changed = await self._write(connection, msgspec.structs.replace(stored, evses=evses))
        self._committed(changed)
        return pb.UpsertEvseResponse(last_updated=_evse(changed or stored, evse.uid).last_updated)

    async def UpsertConnector(
        self, request: pb.UpsertConnectorRequest, context: Context
    ) -> pb.UpsertConnectorResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        evse_uid = mapping.require(request.evse_uid, "evse_uid")
        if not request.HasField("connector"):
            raise InvalidField("connector", "required")
        connector = mapping.to_model(request.connector, Connector, "connector")
        async with self._database.write() as connection:
            await keys.once(connection, "UpsertConnector", request)
            stored = await self._stored(connection, location_id)
            evse = _evse(stored, evse_uid)
            _not_removed(evse, "evse_uid")
            await _check_tariffs(connection, stored, [connector], "connector")
            old = find_connector(evse, connector.id)
            connectors = ([connector if c is old else c for c in evse.connectors]
                          if old is not None else [*evse.connectors, connector])
            evses = [msgspec.structs.replace(e, connectors=connectors) if e is evse else e
                     for e in stored.evses or []]
            changed = await self._write(connection, msgspec.structs.replace(stored, evses=evses))
        self._committed(changed)
        stamped = _connector(_evse(changed or stored, evse_uid), connector.id)
        return pb.UpsertConnectorResponse(last_updated=stamped.last_updated)

    async def RemoveEvse(
        self, request: pb.RemoveEvseRequest, context: Context
    ) -> pb.RemoveEvseResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        location_id = mapping.require(request.location_id, "location_id")
        evse_uid = mapping.require(request.evse_uid, "evse_uid")
        changed = None
        async with self._database.write() as connection:
            await keys.once(connection, "RemoveEvse", request)
            stored = await self._stored(connection, location_id)
            if _evse(stored, evse_uid).status != Status.REMOVED:
                changed = await store.remove_evse(
                    connection, stored.country_code, stored.party_id, location_id, evse_uid)
                if changed is not None:
                    await location_changed(connection, changed)
        self._committed(changed)
        result = changed.location if changed else stored
        return pb.RemoveEvseResponse(last_updated=_evse(result, evse_uid).last_updated)

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
        method = type(request).__name__.removesuffix("Request")

        async def unit(connection: AsyncConnection) -> tuple[LocationChange | None, Status]:
            # A unit of a shared transaction writes nothing before its checks pass.
            replay = await keys.seen(connection, method, request)
            found = await store.record_status(
                connection, None, None, location_id, evse_uid, status, at, connector_id)
            if found[0] is not None:
                await location_changed(connection, found[0])
            if not replay:
                await keys.remember(connection, method, request)
            return found

        change, now_status = await self._groups.run(unit)
        self._committed(change)
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
            rows = await lookups.location_page(
                connection, after=after, limit=limit + 1,
                country_code=party.country_code if party else None,
                party_id=party.party_id if party else None)
        response = pb.ListLocationsResponse(
            locations=[mapping.from_model(location, pb.Location()) for _, location in rows[:limit]])
        if len(rows) > limit:
            response.next_page_token = lookups.page_token(rows[limit - 1][0])
        return response
