"""What the end-to-end transaction tests share: our gRPC server beside the running gateway."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc, tariffs_pb2_grpc, transactions_pb2_grpc

from sidecar.servicers.server import create_server
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.servicers.transaction_builders import location_request, tariff_request


@dataclass
class Core:
    """The core's side: stubs of our gRPC services, on the gateway's database."""

    locations: locations_pb2_grpc.LocationServiceStub
    tariffs: tariffs_pb2_grpc.TariffServiceStub
    transactions: transactions_pb2_grpc.TransactionServiceStub

    async def run(self, events: list[tuple[str, Any]]) -> list[Any]:
        return [await getattr(self.transactions, method)(request) for method, request in events]


@pytest.fixture
async def core(cpo: Cpo) -> AsyncIterator[Core]:
    """Our gRPC server over the running gateway's database, waking its push worker."""
    server, port = await create_server("127.0.0.1:0", cpo.database, cpo.wakeup)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield Core(locations_pb2_grpc.LocationServiceStub(channel),
                       tariffs_pb2_grpc.TariffServiceStub(channel),
                       transactions_pb2_grpc.TransactionServiceStub(channel))
    finally:
        await server.stop(grace=None)


async def register(cpo: Cpo, emsp: FakeEmsp) -> int:
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


async def site(core: Core, **options: Any) -> None:
    await core.tariffs.UpsertTariff(tariff_request())
    await core.locations.UpsertLocation(location_request(**options))


def sent_cdrs(emsp: FakeEmsp) -> list[Any]:
    return [r for r in emsp.received if r.method == "POST" and r.path.endswith("/cdrs")]


async def listed(emsp: FakeEmsp, cpo: Cpo, module: str, **params: str) -> list[dict[str, Any]]:
    reply = await emsp.call_cpo("GET", cpo.url(module), params=params)
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text
    return list(reply.json()["data"])
