"""TariffService: the CPO's tariffs, stored and pushed to every registered eMSP."""

from __future__ import annotations

from typing import Any

import grpc
from ocpi_sidecar.v1 import tariffs_pb2 as pb
from ocpi_sidecar.v1 import tariffs_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi.enums import Status
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import ci_equal
from sidecar.servicers import keys, lookups, mapping
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.publishing import tariff_changed
from sidecar.store.tariffs import delete_tariff, upsert_tariff

Context = grpc.aio.ServicerContext[Any, Any]

_SCAN_PAGE = 500


async def _user(connection: AsyncConnection, tariff: Tariff) -> str | None:
    """Where a connector (of an EVSE not REMOVED) still lists the tariff, or None."""
    after = None
    while True:
        rows = await lookups.location_page(connection, after=after, limit=_SCAN_PAGE,
                                           country_code=tariff.country_code,
                                           party_id=tariff.party_id)
        for _, location in rows:
            for evse in location.evses or []:
                for connector in evse.connectors if evse.status != Status.REMOVED else []:
                    if any(ci_equal(tariff.id, t) for t in connector.tariff_ids or []):
                        return (f"location {location.id!r}, EVSE {evse.uid!r}, "
                                f"connector {connector.id!r}")
        if len(rows) < _SCAN_PAGE:
            return None
        after = rows[-1][0]


def _one_component_per_dimension(tariff: pb.Tariff) -> None:
    for i, element in enumerate(tariff.elements):
        seen: set[int] = set()
        for j, component in enumerate(element.price_components):
            if component.type in seen:
                raise InvalidField(f"tariff.elements[{i}].price_components[{j}].type",
                                   "at most one price component per dimension")
            seen.add(component.type)


class TariffServicer(tariffs_pb2_grpc.TariffServiceServicer):
    """TariffService over the store; `wakeup` tells the push worker about each commit."""

    def __init__(self, database: Database, wakeup: Wakeup) -> None:
        self._database = database
        self._wakeup = wakeup

    async def UpsertTariff(
        self, request: pb.UpsertTariffRequest, context: Context
    ) -> pb.UpsertTariffResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        if not request.HasField("tariff"):
            raise InvalidField("tariff", "required")
        tariff = mapping.to_model(request.tariff, Tariff, "tariff")
        _one_component_per_dimension(request.tariff)
        async with self._database.write() as connection:
            await keys.once(connection, "UpsertTariff", request)
            await lookups.require_party(connection, tariff.country_code, tariff.party_id,
                                        "tariff.party")
            stored = await lookups.find_tariff(connection, tariff.id)
            if stored is not None and (stored.country_code.upper(), stored.party_id.upper()) != (
                tariff.country_code.upper(), tariff.party_id.upper()
            ):
                raise PreconditionFailed(f"tariff.party: tariff {tariff.id!r} belongs to "
                                         f"{stored.country_code}/{stored.party_id}")
            changed = await upsert_tariff(connection, tariff)
            if changed is not None:
                await tariff_changed(connection, tariff.country_code, tariff.party_id, tariff.id)
        if changed is not None:
            self._wakeup.notify()
        result = changed or stored or tariff
        return pb.UpsertTariffResponse(last_updated=result.last_updated)

    async def DeleteTariff(
        self, request: pb.DeleteTariffRequest, context: Context
    ) -> pb.DeleteTariffResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        tariff_id = mapping.require(request.tariff_id, "tariff_id")
        async with self._database.write() as connection:
            replay = await keys.once(connection, "DeleteTariff", request)
            stored = await lookups.find_tariff(connection, tariff_id)
            if stored is None and replay:
                return pb.DeleteTariffResponse()  # a retry of a delete that was done
            if stored is None:
                raise NotFound("tariff_id", f"no tariff {tariff_id!r}")
            user = await _user(connection, stored)
            if user is not None:
                raise PreconditionFailed(f"tariff_id: tariff {tariff_id!r} is listed by {user}")
            await delete_tariff(connection, stored.country_code, stored.party_id, stored.id)
            await tariff_changed(connection, stored.country_code, stored.party_id, stored.id,
                                 deleted=True)
        self._wakeup.notify()
        return pb.DeleteTariffResponse()
