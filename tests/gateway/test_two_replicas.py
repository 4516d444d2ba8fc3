"""Two replicas in one process, each with its own Database (its own replica id, pools and
listener) on one PostgreSQL database: what one replica is told, the other acts on.

The whole-process suite (three `serve` processes, SIGKILL, a PostgreSQL restart) is
tests/e2e/test_replicas.py; these are the same rules, one at a time."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
from sqlalchemy import text

from gateway.cache import ReadCache
from sidecar.servicers.server import create_server
from sidecar.store import replicas
from sidecar.store.engine import Database
from sidecar.store.parties import upsert_party
from sidecar.store.schema import upgrade
from sidecar.store.signals import Listener
from tests.fixtures.cpo import Cpo, serving
from tests.fixtures.database import PG_URL, _fresh_postgres
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, Watcher, bodies, command, results
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio


@pytest.fixture
async def pg_url() -> str:
    """An empty, migrated PostgreSQL database (these tests are about PostgreSQL only)."""
    try:
        await _fresh_postgres(PG_URL)
    except OSError as error:
        if os.environ.get("OCPI_SIDECAR_REQUIRE_PG") == "1":
            raise
        pytest.skip(f"PostgreSQL not reachable: {error}")
    database = Database(PG_URL)
    await upgrade(database)
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "CPO A"})
    await database.dispose()
    return PG_URL


@dataclass
class Replica:
    cpo: Cpo
    core: Core


@asynccontextmanager
async def replica(url: str) -> AsyncIterator[Replica]:
    """One replica: gateway, push worker, listener, gRPC server, over its own Database."""
    database = Database(url)
    try:
        async with serving(database) as cpo:
            server, port = await create_server("127.0.0.1:0", database, cpo.wakeup)
            await server.start()
            try:
                async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                    yield Replica(cpo, Core(
                        ev_driver_pb2_grpc.EvDriverServiceStub(channel),
                        locations_pb2_grpc.LocationServiceStub(channel),
                        tariffs_pb2_grpc.TariffServiceStub(channel),
                        transactions_pb2_grpc.TransactionServiceStub(channel),
                        smart_charging_pb2_grpc.SmartChargingServiceStub(channel)))
            finally:
                await server.stop(grace=None)
    finally:
        await database.dispose()


@pytest.fixture
async def two(pg_url: str) -> AsyncIterator[tuple[Replica, Replica]]:
    async with replica(pg_url) as first, replica(pg_url) as second:
        # Each hears the other from here on.
        await eventually(lambda: first.cpo.database.coherent and second.cpo.database.coherent)
        yield first, second


async def test_a_command_posted_to_one_replica_reaches_the_core_streaming_from_the_other(
    two: tuple[Replica, Replica], emsp: FakeEmsp
) -> None:
    first, second = two
    await register(first.cpo, emsp)
    await first.core.site()
    watcher = Watcher(first.core, "core-1")
    async with second.cpo.database.read() as connection:
        await eventually(lambda: replicas.stream_open(connection, "commands"))
    try:
        reply = await command(emsp, second.cpo, "UNLOCK_CONNECTOR",
                              bodies(emsp)["UNLOCK_CONNECTOR"])
        assert reply["data"]["result"] == "ACCEPTED", reply
        await eventually(lambda: watcher.commands)
        # The core answers through the other replica: the result reaches the eMSP.
        await second.core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
            command_id=watcher.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
        await eventually(lambda: results(emsp, "UNLOCK_CONNECTOR"))
        assert len(watcher.commands) == 1
    finally:
        await watcher.stop()


async def test_with_streams_on_both_replicas_each_command_reaches_the_core_once(
    two: tuple[Replica, Replica], emsp: FakeEmsp
) -> None:
    first, second = two
    await register(first.cpo, emsp)
    await first.core.site()
    watchers = [Watcher(first.core, "core-1"), Watcher(second.core, "core-2")]
    try:
        await eventually(lambda: all(r.cpo.database.generation("core_streams")[1] >= 2
                                     for r in two))
        for index in range(12):
            target = two[index % 2].cpo
            reply = await command(emsp, target, "UNLOCK_CONNECTOR",
                                  bodies(emsp)["UNLOCK_CONNECTOR"])
            assert reply["data"]["result"] == "ACCEPTED", reply
        await eventually(lambda: sum(len(w.commands) for w in watchers) >= 12)
        for watcher in watchers:
            await watcher.stop()
        received = [c.command_id for w in watchers for c in w.commands]
        assert len(received) == 12 and len(set(received)) == 12, received
        # Each was given to a stream once (a second delivery would be counted here).
        async with first.cpo.database.read() as connection:
            counts = (await connection.execute(text(
                "SELECT delivery_count FROM commands"))).scalars().all()
        assert sorted(counts) == [1] * 12
    finally:
        for watcher in watchers:
            await watcher.stop()


async def test_the_command_a_stream_held_goes_to_the_other_replica_when_it_ends(
    two: tuple[Replica, Replica], emsp: FakeEmsp
) -> None:
    first, second = two
    await register(first.cpo, emsp)
    await first.core.site()
    holder = Watcher(first.core, "core-1")
    async with second.cpo.database.read() as connection:
        await eventually(lambda: replicas.stream_open(connection, "commands"))
    await command(emsp, second.cpo, "UNLOCK_CONNECTOR", bodies(emsp)["UNLOCK_CONNECTOR"])
    await eventually(lambda: holder.commands)
    other = Watcher(second.core, "core-2")
    try:
        # Not acknowledged: when the holder's stream ends, the other replica's gets it.
        await holder.stop()
        await eventually(lambda: other.commands)
        assert other.commands[0].command_id == holder.commands[0].command_id
    finally:
        await other.stop()


async def test_a_consumer_id_reopened_on_another_replica_ends_the_old_stream(
    two: tuple[Replica, Replica], emsp: FakeEmsp
) -> None:
    first, second = two
    await register(first.cpo, emsp)
    await first.core.site()
    old = Watcher(first.core, "core-1")
    async with second.cpo.database.read() as connection:
        await eventually(lambda: replicas.stream_open(connection, "commands"))
    await command(emsp, second.cpo, "UNLOCK_CONNECTOR", bodies(emsp)["UNLOCK_CONNECTOR"])
    await eventually(lambda: old.commands)
    new = Watcher(second.core, "core-1")
    try:
        await eventually(lambda: old.ended is not None and new.commands)
        assert old.ended == grpc.StatusCode.ABORTED
        assert new.commands[0].command_id == old.commands[0].command_id
    finally:
        await new.stop()


async def test_a_partner_unregistered_on_one_replica_is_refused_by_the_other(
    two: tuple[Replica, Replica], emsp: FakeEmsp
) -> None:
    first, second = two
    partner_id = await register(first.cpo, emsp)
    locations = second.cpo.url("locations")
    assert (await emsp.call_cpo("GET", locations)).status_code == 200  # cached there now
    deleted = await first.cpo.admin.delete(f"/partners/{partner_id}")
    assert deleted.status_code in (200, 204), deleted.text
    # The other replica has heard the change (the note is the only news it gets) ...
    await eventually(lambda: second.cpo.database.generation("callers")[1] > 0)
    # ... so its cached caller is gone: the old token is refused at once.
    assert (await emsp.call_cpo("GET", locations)).status_code == 401


async def test_read_caches_of_every_replica_drop_what_another_replica_changed(
    pg_url: str,
) -> None:
    writer, reader = Database(pg_url), Database(pg_url)
    stop = asyncio.Event()
    listening = asyncio.create_task(Listener(reader).run(stop))
    try:
        await eventually(lambda: reader.coherent)
        # Were change notes not heard, this cache would answer the old value for an hour.
        cache = ReadCache(reader, ttl=3600)

        async def names() -> list[str]:
            async with reader.read() as connection:
                rows = await connection.execute(text("SELECT party_id FROM parties"))
                return sorted(r.party_id for r in rows)

        assert await cache.get("parties", ("parties",), names) == ["CPA"]
        async with writer.write() as connection:
            await upsert_party(connection, "NL", "CPB", {"name": "CPO B"})
        await eventually(lambda: reader.generation("parties")[1] > 0)
        assert await cache.get("parties", ("parties",), names) == ["CPA", "CPB"]
    finally:
        stop.set()
        await listening
        await writer.dispose()
        await reader.dispose()


async def test_a_listener_cut_off_falls_back_to_expiring_caches_and_comes_back(
    pg_url: str,
) -> None:
    writer, reader = Database(pg_url), Database(pg_url)
    stop = asyncio.Event()
    listener = Listener(reader, ping_every=0.2)
    listening = asyncio.create_task(listener.run(stop))
    try:
        await eventually(lambda: listener.connected)
        epoch = reader.epoch
        async with writer.write() as connection:
            # Cut every LISTEN connection of this database, as a PostgreSQL restart would.
            await connection.execute(text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE query LIKE 'LISTEN%' AND pid <> pg_backend_pid()"))
        await eventually(lambda: listener.losses == 1 and listener.connected)
        # Whatever was cached before the cut is stale now; notes are heard again.
        assert reader.epoch >= epoch + 2 and reader.coherent
        async with writer.write() as connection:
            await upsert_party(connection, "NL", "CPC", {"name": "CPO C"})
        await eventually(lambda: reader.generation("parties")[1] > 0)
    finally:
        stop.set()
        await listening
        await writer.dispose()
        await reader.dispose()
