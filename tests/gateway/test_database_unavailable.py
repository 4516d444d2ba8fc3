"""With the database out of reach (a PostgreSQL address nothing listens on): OCPI answers
503 with an envelope, admin 503, gRPC UNAVAILABLE, readiness 503, and the push worker, the
heartbeat and the listener wait instead of failing the process. A real restart in the
middle of traffic is in tests/e2e/test_replicas.py."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc

from gateway.client import OCPIClient, outbound_http
from gateway.push import PushWorker
from sidecar.servicers.server import create_server
from sidecar.store import replicas
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.signals import Listener
from tests.fixtures.cpo import Cpo, serving
from tests.fixtures.http import free_socket
from tests.fixtures.waiting import eventually
from tests.servicers.transaction_builders import location_request

pytestmark = pytest.mark.anyio


@pytest.fixture
async def gone() -> AsyncIterator[Database]:
    """A PostgreSQL database at a loopback port nothing listens on."""
    sock = free_socket()
    port = sock.getsockname()[1]
    sock.close()
    database = Database(f"postgresql://postgres@127.0.0.1:{port}/ocpi")
    yield database
    await database.dispose()


@pytest.fixture
async def cpo_without_database(gone: Database) -> AsyncIterator[Cpo]:
    async with serving(gone) as cpo:
        yield cpo


async def test_ocpi_requests_answer_503_with_an_envelope(cpo_without_database: Cpo) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.get(cpo_without_database.versions_url,
                                 headers={"Authorization": "Token c29tZS10b2tlbg=="})
    assert reply.status_code == 503, reply.text
    assert reply.json()["status_code"] == 3000
    assert "database" in reply.json()["status_message"]
    assert reply.headers["retry-after"] == "1"


async def test_admin_answers_503(cpo_without_database: Cpo) -> None:
    reply = await cpo_without_database.admin.get("/partners")
    assert reply.status_code == 503, reply.text


async def test_readiness_says_not_ready_and_liveness_alive(cpo_without_database: Cpo) -> None:
    base = cpo_without_database.settings.admin_url
    async with httpx.AsyncClient(timeout=10) as client:
        ready = await client.get(f"{base}/readyz")
        alive = await client.get(f"{base}/healthz")
    assert ready.status_code == 503 and ready.json()["database"] == "unavailable"
    assert alive.status_code == 200


async def test_grpc_writes_answer_unavailable(gone: Database) -> None:
    server, port = await create_server("127.0.0.1:0", gone, Wakeup())
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            stub = locations_pb2_grpc.LocationServiceStub(channel)
            with pytest.raises(grpc.aio.AioRpcError) as raised:
                await stub.UpsertLocation(location_request())
    finally:
        await server.stop(grace=None)
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE
    assert "database" in (raised.value.details() or "")


async def test_the_push_worker_heartbeat_and_listener_wait_for_the_database(
    gone: Database,
) -> None:
    stop = asyncio.Event()
    async with outbound_http(timeout=5) as http:
        heartbeat = replicas.Heartbeat(gone, held=set)
        worker = PushWorker(gone, OCPIClient(http), poll=0.05, heartbeat=heartbeat)
        listener = Listener(gone, retry_max=0.1)
        parts = [asyncio.create_task(part) for part in (
            worker.run(stop), heartbeat.run(stop), listener.run(stop))]
        await eventually(lambda: worker.database_down and heartbeat.failing)
        assert not any(part.done() for part in parts)
        assert not listener.connected
        stop.set()
        await asyncio.wait_for(asyncio.gather(*parts), 15)
    assert not gone.coherent
