"""TariffService: the CPO's tariffs, mapped to sidecar/domain/tariffs.py (stored and pushed
to every registered eMSP)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import grpc
from ocpi_sidecar.v1 import tariffs_pb2 as pb
from ocpi_sidecar.v1 import tariffs_pb2_grpc
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import tariffs as domain
from sidecar.errors import InvalidField
from sidecar.ocpi.tariffs import Tariff
from sidecar.servicers import mapping
from sidecar.servicers.keys import key_of
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

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

    async def _write(self, work: Callable[[AsyncConnection], Awaitable[tuple[T, bool]]]) -> T:
        async with self._database.write() as connection:
            result, changed = await work(connection)
        if changed:
            self._wakeup.notify()
        return result

    async def UpsertTariff(
        self, request: pb.UpsertTariffRequest, context: Context
    ) -> pb.UpsertTariffResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        if not request.HasField("tariff"):
            raise InvalidField("tariff", "required")
        tariff = mapping.to_model(request.tariff, Tariff, "tariff")
        _one_component_per_dimension(request.tariff)
        key = key_of("UpsertTariff", request)
        result = await self._write(lambda c: domain.upsert(c, key, tariff))
        return pb.UpsertTariffResponse(last_updated=result.last_updated)

    async def DeleteTariff(
        self, request: pb.DeleteTariffRequest, context: Context
    ) -> pb.DeleteTariffResponse:
        mapping.require(request.idempotency_key, "idempotency_key")
        tariff_id = mapping.require(request.tariff_id, "tariff_id")
        key = key_of("DeleteTariff", request)
        await self._write(lambda c: domain.delete(c, key, tariff_id))
        return pb.DeleteTariffResponse()
