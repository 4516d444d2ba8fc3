"""A push in flight when the real `serve` stops (SIGTERM) or dies (SIGKILL) reaches the eMSP
after the restart as what it was: an EVSE PATCH with the current status, a CDR POST (never a
PUT), a tariff DELETE, a location PUT. On SQLite and on PostgreSQL."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc, tariffs_pb2_grpc, transactions_pb2_grpc
from ocpi_sidecar.v1 import tariffs_pb2 as tar
from ocpi_sidecar.v1.locations_pb2 import OCPP16_CHARGE_POINT_STATUS_CHARGING

from sidecar.store.engine import Database
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.http import SERVE_LISTENING
from tests.fixtures.waiting import eventually
from tests.servicers.test_locations import evse_status
from tests.servicers.transaction_builders import (
    T0,
    end,
    location_request,
    start,
    tariff_request,
)

pytestmark = pytest.mark.anyio

ADMIN_KEY = "restart-admin-key"
KEY = "locations/NL/CPA/LOC1"


@dataclass
class Sidecar:
    """One running `serve` process, its admin client and gRPC stubs."""

    process: asyncio.subprocess.Process
    http: str
    admin: httpx.AsyncClient
    channel: grpc.aio.Channel
    lines: list[str] = field(default_factory=list)

    @property
    def locations(self) -> locations_pb2_grpc.LocationServiceStub:
        return locations_pb2_grpc.LocationServiceStub(self.channel)

    @property
    def tariffs(self) -> tariffs_pb2_grpc.TariffServiceStub:
        return tariffs_pb2_grpc.TariffServiceStub(self.channel)

    @property
    def transactions(self) -> transactions_pb2_grpc.TransactionServiceStub:
        return transactions_pb2_grpc.TransactionServiceStub(self.channel)

    async def drained(self) -> bool:
        """Nothing left in the outbox for the partner."""
        reply = await self.admin.get("/partners/1/push-status")
        return int(reply.json()["pending"]) == 0


@asynccontextmanager
async def serving(directory: Path, database_url: str) -> AsyncIterator[Sidecar]:
    """`ocpi-sidecar serve` on ports the kernel picks; killed at the end if still running."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
        "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--database", database_url,
        "--session-patch-interval", "0.2",
        cwd=directory, env={**os.environ, "OCPI_SIDECAR_ADMIN_KEY": ADMIN_KEY},
        stderr=asyncio.subprocess.PIPE)
    assert process.stderr is not None
    lines: list[str] = []
    found = None
    try:
        async with asyncio.timeout(30):
            while found is None:
                line = (await process.stderr.readline()).decode()
                if not line:
                    raise AssertionError("serve ended before listening:\n" + "".join(lines))
                lines.append(line)
                found = SERVE_LISTENING.search(line)
        # Keep reading what it logs, so that a full pipe never blocks it.
        drain = asyncio.create_task(_drain(process.stderr, lines))
        async with httpx.AsyncClient(
            base_url=f"http://{found['admin']}/admin", timeout=10,
            headers={"Authorization": f"Bearer {ADMIN_KEY}"},
        ) as admin, grpc.aio.insecure_channel(found["grpc"]) as channel:
            yield Sidecar(process, found["http"], admin, channel, lines)
        await drain
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def _drain(stream: asyncio.StreamReader, lines: list[str]) -> None:
    while line := await stream.readline():
        lines.append(line.decode())


async def stop(sidecar: Sidecar, signum: int) -> None:
    sidecar.process.send_signal(signum)
    async with asyncio.timeout(30):
        code = await sidecar.process.wait()
    if signum == signal.SIGTERM:
        assert code == 0, "".join(sidecar.lines)


@dataclass(frozen=True)
class Kind:
    """One kind of push: what to hold at the eMSP, the change that makes it, what the eMSP
    must hold in the end."""

    hold: Callable[[str, str], bool]
    change: Callable[[Sidecar], Awaitable[Any]]
    arrived: Callable[[FakeEmsp], bool]


async def _status(sidecar: Sidecar) -> None:
    await sidecar.locations.SetEvseStatus(evse_status(
        "EVSE1", at=datetime.now(UTC), ocpp16_status=OCPP16_CHARGE_POINT_STATUS_CHARGING))


async def _second_location(sidecar: Sidecar) -> None:
    await sidecar.locations.UpsertLocation(location_request("LOC2"))


async def _delete_tariff(sidecar: Sidecar) -> None:
    await sidecar.tariffs.DeleteTariff(tar.DeleteTariffRequest(
        idempotency_key="delete-T2", tariff_id="T2"))


async def _transaction(sidecar: Sidecar) -> None:
    await sidecar.transactions.StartTransaction(start("TX1"))
    await sidecar.transactions.EndTransaction(
        end("TX1", at=T0 + timedelta(minutes=10), meter_stop="11600"))


def _cdr_posted(emsp: FakeEmsp) -> bool:
    return any(key.startswith("cdrs/") for key in emsp.objects)


KINDS = {
    "evse-patch": Kind(lambda method, path: method == "PATCH", _status,
                       lambda e: e.objects[KEY]["evses"][0]["status"] == "CHARGING"),
    "location-put": Kind(lambda method, path: method == "PUT" and "LOC2" in path,
                         _second_location, lambda e: "locations/NL/CPA/LOC2" in e.objects),
    "tariff-delete": Kind(lambda method, path: method == "DELETE", _delete_tariff,
                          lambda e: "tariffs/NL/CPA/T2" not in e.objects),
    "cdr-post": Kind(lambda method, path: "/cdrs" in path, _transaction, _cdr_posted),
}


@pytest.mark.parametrize("signum", [signal.SIGKILL, signal.SIGTERM], ids=["kill", "term"])
@pytest.mark.parametrize("kind", list(KINDS))
async def test_a_push_in_flight_is_delivered_after_the_restart(
    kind: str, signum: int, database: Database, emsp: FakeEmsp, tmp_path: Path
) -> None:
    plan = KINDS[kind]
    async with serving(tmp_path, database.url) as sidecar:
        party = await sidecar.admin.put("/parties/NL/CPA", json={
            "business_details": {"name": "CPO A"}})
        assert party.status_code in (200, 201), party.text
        registered = await sidecar.admin.post("/partners", json={
            "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})
        assert registered.status_code == 201, registered.text
        await sidecar.tariffs.UpsertTariff(tariff_request("T1"))
        await sidecar.tariffs.UpsertTariff(tariff_request("T2"))
        await sidecar.locations.UpsertLocation(location_request("LOC1"))
        await eventually(lambda: {KEY, "tariffs/NL/CPA/T1", "tariffs/NL/CPA/T2"}
                         <= emsp.objects.keys())
        await eventually(sidecar.drained)
        emsp.hold = plan.hold
        await plan.change(sidecar)
        await eventually(lambda: emsp.held)
        await stop(sidecar, signum)
    assert not plan.arrived(emsp)
    emsp.release()
    async with serving(tmp_path, database.url) as again:
        # On PostgreSQL a killed worker's claim is taken over when its lease ends (seconds).
        await eventually(lambda: plan.arrived(emsp), within=45)
        await eventually(again.drained)
        await stop(again, signal.SIGTERM)
    cdr_puts = [r for r in emsp.received if r.method == "PUT" and "/cdrs" in r.path]
    assert cdr_puts == []
    if kind == "cdr-post":
        posts = [r for r in emsp.received if r.method == "POST" and "/cdrs" in r.path]
        assert len(posts) == 2 and posts[0].body == posts[1].body
