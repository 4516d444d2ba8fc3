"""One access line and one count per gRPC call (streams: when they end), and the group
commit sizes of status writes, over a real server on loopback."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import grpc
import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as ev
from ocpi_sidecar.v1 import ev_driver_pb2_grpc, locations_pb2_grpc
from ocpi_sidecar.v1 import locations_pb2 as loc

from sidecar import metrics
from sidecar.store.commands import hub_for
from sidecar.store.engine import Database
from tests.fixtures.waiting import eventually
from tests.servicers.transaction_builders import location_request, ts

pytestmark = pytest.mark.anyio

UPSERT = "/ocpi_sidecar.v1.LocationService/UpsertLocation"
WATCH = "/ocpi_sidecar.v1.EvDriverService/WatchCommands"


def calls(method: str, code: str) -> float:
    return metrics.REGISTRY.get_sample_value(
        "ocpi_sidecar_grpc_calls_total", {"method": method, "code": code}) or 0.0


def lines(caplog: pytest.LogCaptureFixture, method: str) -> list[dict[str, object]]:
    return [r.fields for r in caplog.records  # type: ignore[attr-defined]
            if r.name == "ocpi_sidecar.access" and getattr(r, "fields", {}).get(
                "method") == method]


async def test_each_unary_call_has_one_line_with_method_code_duration_and_peer(
        caplog: pytest.LogCaptureFixture, cpo_parties: object,
        location_stub: locations_pb2_grpc.LocationServiceStub) -> None:
    caplog.set_level(logging.INFO, logger="ocpi_sidecar.access")
    ok_before = calls(UPSERT, "OK")
    bad_before = calls(UPSERT, "INVALID_ARGUMENT")
    await location_stub.UpsertLocation(location_request(tariff_ids=()))
    with pytest.raises(grpc.aio.AioRpcError):
        await location_stub.UpsertLocation(loc.UpsertLocationRequest(idempotency_key="k"))
    await eventually(lambda: len(lines(caplog, UPSERT)) == 2)
    ok, bad = lines(caplog, UPSERT)
    assert ok["code"] == "OK" and bad["code"] == "INVALID_ARGUMENT"
    for line in (ok, bad):
        assert str(line["peer"]).startswith("ipv4:127.0.0.1:")
        assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert calls(UPSERT, "OK") == ok_before + 1
    assert calls(UPSERT, "INVALID_ARGUMENT") == bad_before + 1


async def test_a_stream_is_logged_once_when_it_ends(
        caplog: pytest.LogCaptureFixture, grpc_channel: grpc.aio.Channel,
        database: Database) -> None:
    caplog.set_level(logging.INFO, logger="ocpi_sidecar.access")
    stub = ev_driver_pb2_grpc.EvDriverServiceStub(grpc_channel)
    before = calls(WATCH, "CANCELLED")
    call = stub.WatchCommands(ev.WatchCommandsRequest(consumer_id="core-1"))
    await eventually(lambda: hub_for(database).connected())
    assert lines(caplog, WATCH) == []
    call.cancel()
    await eventually(lambda: len(lines(caplog, WATCH)) == 1)
    assert lines(caplog, WATCH)[0]["code"] == "CANCELLED"
    assert calls(WATCH, "CANCELLED") == before + 1


async def test_status_writes_record_their_group_commit_sizes(
        cpo_parties: object, location_stub: locations_pb2_grpc.LocationServiceStub) -> None:
    await location_stub.UpsertLocation(location_request(tariff_ids=()))

    def committed() -> float:
        return metrics.REGISTRY.get_sample_value(
            "ocpi_sidecar_group_commit_size_sum", {"writer": "evse_status"}) or 0.0

    before = committed()
    at = datetime(2026, 1, 1, tzinfo=UTC)
    await location_stub.SetEvseStatus(loc.SetEvseStatusRequest(
        idempotency_key="s1", location_id="LOC1", evse_uid="EVSE1", timestamp=ts(at),
        ocpi_status=loc.EVSE_STATUS_CHARGING))
    assert committed() == before + 1
