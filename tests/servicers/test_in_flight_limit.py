"""Past --grpc-max-in-flight calls in progress, the next call is refused at once with
RESOURCE_EXHAUSTED and a retry hint, and nothing of it is done; streams and health do not
count. Real grpc.aio server on loopback with our interceptors; the servicer's handlers wait
until the test lets them finish, so that "in progress" is decided by the test, not by time."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from ocpi_sidecar.v1 import ev_driver_pb2, ev_driver_pb2_grpc, locations_pb2, locations_pb2_grpc

from sidecar.servicers.limits import RETRY_AFTER_KEY
from sidecar.servicers.server import create_server
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio


class Held(locations_pb2_grpc.LocationServiceServicer, ev_driver_pb2_grpc.EvDriverServiceServicer):
    """Handlers that count who entered and finish when released."""

    def __init__(self) -> None:
        self.entered = 0
        self.release = asyncio.Event()

    async def SetEvseStatus(self, request: Any, context: Any) -> Any:
        self.entered += 1
        await self.release.wait()
        return locations_pb2.SetEvseStatusResponse()

    async def WatchCommands(self, request: Any, context: Any) -> AsyncIterator[Any]:
        self.entered += 1
        await self.release.wait()
        yield ev_driver_pb2.WatchCommandsResponse(command=ev_driver_pb2.Command(command_id="c1"))


@pytest.fixture
async def held(database: Database) -> AsyncIterator[tuple[Held, grpc.aio.Channel]]:
    servicer = Held()
    services = [
        (locations_pb2_grpc.add_LocationServiceServicer_to_server, servicer,
         "ocpi_sidecar.v1.LocationService"),
        (ev_driver_pb2_grpc.add_EvDriverServiceServicer_to_server, servicer,
         "ocpi_sidecar.v1.EvDriverService")]
    server, port = await create_server("127.0.0.1:0", database, Wakeup(), services=services,
                                       max_in_flight=2)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield servicer, channel
    finally:
        servicer.release.set()
        await server.stop(grace=None)


def _status(key: str) -> locations_pb2.SetEvseStatusRequest:
    return locations_pb2.SetEvseStatusRequest(idempotency_key=key, location_id="LOC1",
                                              evse_uid="EVSE1")


async def test_the_call_past_the_bound_is_refused_at_once_and_later_ones_pass(
    held: tuple[Held, grpc.aio.Channel],
) -> None:
    servicer, channel = held
    locations = locations_pb2_grpc.LocationServiceStub(channel)
    stream = ev_driver_pb2_grpc.EvDriverServiceStub(channel).WatchCommands(
        ev_driver_pb2.WatchCommandsRequest(consumer_id="core"))
    first = asyncio.ensure_future(locations.SetEvseStatus(_status("k1")))
    second = asyncio.ensure_future(locations.SetEvseStatus(_status("k2")))
    await eventually(lambda: servicer.entered == 3)  # the stream and both calls are in
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await locations.SetEvseStatus(_status("k3"))
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "retry the same request" in (refused.value.details() or "")
    assert dict(refused.value.trailing_metadata() or ())[RETRY_AFTER_KEY] == "100"
    assert servicer.entered == 3  # the refused call never reached its handler
    # Health answers whatever the load.
    health = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest())
    assert health.status == health_pb2.HealthCheckResponse.SERVING
    servicer.release.set()
    await first
    await second
    await locations.SetEvseStatus(_status("k3"))  # the retry goes through
    assert servicer.entered == 4
    assert (await stream.read()).command.command_id == "c1"
    stream.cancel()
