"""Through the real gRPC server to a real fake eMSP, and back through our OCPI GETs."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import grpc
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc, tariffs_pb2_grpc
from ocpi_sidecar.v1.locations_pb2 import OCPP16_CHARGE_POINT_STATUS_CHARGING

from sidecar.servicers.server import create_server
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.servicers.test_locations import evse, evse_status, location, upsert
from tests.servicers.test_tariffs import tariff
from tests.servicers.test_tariffs import upsert as upsert_tariff

pytestmark = pytest.mark.anyio

KEY = "locations/NL/CPA/LOC1"


@pytest.fixture
async def channel(cpo: Cpo) -> AsyncIterator[grpc.aio.Channel]:
    """Our gRPC server over the gateway's database, waking the gateway's push worker."""
    server, port = await create_server("127.0.0.1:0", cpo.database, cpo.wakeup)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(None)


async def test_core_changes_reach_the_emsp_and_our_get(
    cpo: Cpo, emsp: FakeEmsp, channel: grpc.aio.Channel
) -> None:
    registered = await cpo.admin.post("/partners", json={
        "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})
    assert registered.status_code == 201
    locations = locations_pb2_grpc.LocationServiceStub(channel)
    tariffs = tariffs_pb2_grpc.TariffServiceStub(channel)
    await tariffs.UpsertTariff(upsert_tariff(tariff("T1")))
    await locations.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), evse("EVSE2"))))
    await eventually(lambda: KEY in emsp.objects and "tariffs/NL/CPA/T1" in emsp.objects)
    put = next(r for r in emsp.received if r.method == "PUT" and "locations" in r.path)
    assert put.path == "/ocpi/2.2.1/locations/NL/CPA/LOC1"
    assert put.headers["authorization"].startswith("Token ")
    assert (put.headers["ocpi-from-country-code"], put.headers["ocpi-from-party-id"]) == (
        "NL", "CPA")
    assert [e["uid"] for e in put.body["evses"]] == ["EVSE1", "EVSE2"]

    await locations.SetEvseStatus(evse_status(
        "EVSE2", at=datetime.now(UTC), ocpp16_status=OCPP16_CHARGE_POINT_STATUS_CHARGING))
    await eventually(lambda: any(r.method == "PATCH" for r in emsp.received))
    patch = next(r for r in emsp.received if r.method == "PATCH")
    assert patch.path == "/ocpi/2.2.1/locations/NL/CPA/LOC1/EVSE2"
    assert patch.body["status"] == "CHARGING" != put.body["evses"][1]["status"]
    assert set(patch.body) == {"status", "last_updated"}

    changed = tariff("T1", currency="CHF")
    await tariffs.UpsertTariff(upsert_tariff(changed, key="k2"))
    await eventually(lambda: emsp.objects["tariffs/NL/CPA/T1"]["currency"] == "CHF")
    assert [r.method for r in emsp.received if "tariffs" in r.path] == ["PUT", "PUT"]

    listed = await emsp.call_cpo("GET", cpo.url("locations"), params={"limit": "1"})
    assert listed.headers["x-total-count"] == "1" and "link" not in listed.headers
    assert listed.json()["data"][0]["evses"][1]["status"] == patch.body["status"]
    assert listed.json()["data"][0]["last_updated"] >= patch.body["last_updated"]
    tariffs_listed = await emsp.call_cpo("GET", cpo.url("tariffs"))
    assert tariffs_listed.json()["data"][0]["currency"] == "CHF"
