"""Readiness and gRPC health follow the database: NOT_SERVING (and /readyz 503) while it is out
of reach, SERVING (200) once it is back; a pending migration makes a replica not ready.

The database goes away for real: PostgreSQL is reached through a loopback TCP relay that the
test cuts (every connection closed, nothing listening) and opens again on the same port."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from sqlalchemy import delete, func, select
from sqlalchemy.engine import make_url

from gateway.app import create_apps
from gateway.client import OCPIClient, outbound_http
from gateway.push import PushWorker
from gateway.readiness import Replica, is_ready, state_of
from sidecar.servicers.health import Health
from sidecar.servicers.server import create_server
from sidecar.settings import Secret, Settings
from sidecar.store import replicas, tables
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.schema import upgrade
from sidecar.store.signals import Listener
from tests.fixtures.cpo import ADMIN_KEY, Cpo
from tests.fixtures.database import PG_URL, _fresh_postgres
from tests.fixtures.http import free_socket, running
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio


class Relay:
    """127.0.0.1:port → the PostgreSQL server, until cut; open again on the same port."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = 0
        self.server: asyncio.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._relay, "127.0.0.1", self.port,
                                                 reuse_address=True)
        self.port = self.server.sockets[0].getsockname()[1]

    async def cut(self) -> None:
        assert self.server is not None
        self.server.close()
        for writer in list(self.writers):
            writer.transport.abort()
        await self.server.wait_closed()

    async def _relay(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.writers.update({writer, up_writer})

        async def pipe(source: asyncio.StreamReader, sink: asyncio.StreamWriter) -> None:
            try:
                while data := await source.read(65536):
                    sink.write(data)
                    await sink.drain()
            except (OSError, asyncio.IncompleteReadError):
                pass
            finally:
                sink.transport.abort()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self.writers.difference_update({writer, up_writer})


@pytest.fixture
async def relayed() -> AsyncIterator[tuple[Relay, Database]]:
    """A fresh PostgreSQL database at its current schema, reached through a Relay."""
    try:
        await _fresh_postgres(PG_URL)
    except OSError as error:
        pytest.skip(f"PostgreSQL not reachable: {error}")
    direct = Database(PG_URL)
    await upgrade(direct)
    await direct.dispose()
    url = make_url(PG_URL)
    relay = Relay(url.host or "127.0.0.1", url.port or 5432)
    await relay.open()
    database = Database(url.set(host="127.0.0.1", port=relay.port).render_as_string(
        hide_password=False))
    try:
        yield relay, database
    finally:
        if relay.server is not None and relay.server.is_serving():
            await relay.cut()
        await database.dispose()


async def test_readiness_and_grpc_health_follow_the_database_away_and_back(
        relayed: tuple[Relay, Database]) -> None:
    relay, database = relayed
    stop = asyncio.Event()
    admin_sock = free_socket()
    settings = Settings(admin=f"127.0.0.1:{admin_sock.getsockname()[1]}",
                        admin_key=Secret(ADMIN_KEY), database=database.url)
    async with outbound_http(timeout=5) as http:
        client = OCPIClient(http)
        heartbeat = replicas.Heartbeat(database, held=set)
        listener = Listener(database, retry_max=0.1)
        worker = PushWorker(database, client, poll=0.05, heartbeat=heartbeat)
        replica = Replica(heartbeat, listener, worker)
        apps = create_apps(settings, database, client, replica=replica)
        health = Health()
        server, port = await create_server("127.0.0.1:0", database, Wakeup(), health=health)
        await server.start()
        parts = [asyncio.create_task(part) for part in (
            worker.run(stop), heartbeat.run(stop), listener.run(stop),
            health.follow(lambda: is_ready(database, replica), stop, interval=0.1))]
        try:
            async with running(apps.admin, admin_sock) as base, \
                    grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel, \
                    httpx.AsyncClient(base_url=base, timeout=10) as web:
                stub = health_pb2_grpc.HealthStub(channel)

                async def serving(wanted: bool) -> bool:
                    answer = await stub.Check(health_pb2.HealthCheckRequest(service=""))
                    ready = await web.get("/readyz")
                    return ((answer.status == health_pb2.HealthCheckResponse.SERVING) == wanted
                            and (ready.status_code == 200) == wanted)

                await eventually(lambda: serving(True))
                await relay.cut()
                await eventually(lambda: serving(False))
                body = (await web.get("/readyz")).json()
                assert body["database"] == "unavailable" and body["ready"] is False
                # A service's own status follows too, not only the server's.
                answer = await stub.Check(health_pb2.HealthCheckRequest(
                    service="ocpi_sidecar.v1.LocationService"))
                assert answer.status == health_pb2.HealthCheckResponse.NOT_SERVING
                await relay.open()
                await eventually(lambda: serving(True))
        finally:
            stop.set()
            await asyncio.wait_for(asyncio.gather(*parts), 15)
            await server.stop(grace=None)


async def test_a_pending_migration_makes_the_replica_not_ready(cpo: Cpo) -> None:
    assert (await state_of(cpo.database, None)).schema == "current"
    async with cpo.database.write() as connection:
        last = await connection.scalar(select(func.max(tables.schema_migrations.c.version)))
        await connection.execute(delete(tables.schema_migrations).where(
            tables.schema_migrations.c.version == last))
    async with httpx.AsyncClient(timeout=10) as web:
        ready = await web.get(f"{cpo.settings.admin_url}/readyz")
    assert ready.status_code == 503
    assert ready.json()["schema"] == "1 migration(s) pending"
    assert "ocpi_sidecar_schema_current 0.0" in (
        await cpo.admin.get(f"{cpo.settings.admin_url}/metrics")).text
