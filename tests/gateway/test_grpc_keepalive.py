"""gRPC keepalive: cores pinging the sidecar as the guide recommends keep their streams."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as pb
from ocpi_sidecar.v1 import (
    ev_driver_pb2_grpc,
    locations_pb2_grpc,
    smart_charging_pb2_grpc,
    tariffs_pb2_grpc,
    transactions_pb2_grpc,
)

from sidecar.servicers.server import create_server, server_options
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, Watcher, bodies, command, watching
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio

# What the guide recommends to cores, with the ping interval cut down so that a handful of
# pings fit into a short test; the server below accepts pings that often.
_CLIENT_PINGS = [("grpc.keepalive_time_ms", 1000), ("grpc.keepalive_timeout_ms", 10000),
                 ("grpc.keepalive_permit_without_calls", 1),
                 ("grpc.http2.max_pings_without_data", 0)]


def test_the_server_lets_cores_ping_every_ten_seconds_and_pings_them() -> None:
    options = dict(server_options())
    assert options["grpc.so_reuseport"] == 0
    assert options["grpc.keepalive_permit_without_calls"] == 1
    assert options["grpc.http2.min_ping_interval_without_data_ms"] <= 10_000
    assert options["grpc.keepalive_time_ms"] == 30_000
    assert options["grpc.keepalive_timeout_ms"] == 10_000
    assert options["grpc.http2.max_pings_without_data"] == 0


@pytest.fixture
async def pinged_core(cpo: Cpo) -> AsyncIterator[Core]:
    """Our gRPC server accepting pings every 0.5 s, and a core that pings it every second."""
    server, port = await create_server("127.0.0.1:0", cpo.database, cpo.wakeup,
                                       min_client_ping_interval_ms=500)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}",
                                             options=_CLIENT_PINGS) as channel:
            yield Core(ev_driver_pb2_grpc.EvDriverServiceStub(channel),
                       locations_pb2_grpc.LocationServiceStub(channel),
                       tariffs_pb2_grpc.TariffServiceStub(channel),
                       transactions_pb2_grpc.TransactionServiceStub(channel),
                       smart_charging_pb2_grpc.SmartChargingServiceStub(channel))
    finally:
        await server.stop(grace=None)


async def test_an_idle_command_stream_outlives_the_cores_keepalive_pings(
    cpo: Cpo, pinged_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await pinged_core.site()
    watcher: Watcher = await watching(cpo, pinged_core, "core-pinging")
    # Some six pings without data: gRPC's defaults answer the third with GOAWAY
    # too_many_pings, ending the stream. No timing is asserted, only that it still works.
    await asyncio.sleep(6)
    assert watcher.ended is None
    await command(emsp, cpo, "UNLOCK_CONNECTOR", bodies(emsp)["UNLOCK_CONNECTOR"])
    await eventually(lambda: watcher.commands or watcher.ended)
    await watcher.stop()
    assert watcher.ended is None
    assert [c.type for c in watcher.commands] == [pb.COMMAND_TYPE_UNLOCK_CONNECTOR]
