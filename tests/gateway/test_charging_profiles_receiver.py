"""ChargingProfiles end to end: eMSP requests to a real gRPC core, results and changes back."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import smart_charging_pb2 as pb
from sqlalchemy import func, select

from sidecar.store import tables
from sidecar.store.commands import hub_for
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, ev_core
from tests.gateway.transaction_e2e import register
from tests.servicers.transaction_builders import start, ts

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]  # the fixture

# mod_charging_profiles: a SetChargingProfile (a 3-period profile in W).
PROFILE = {
    "charging_profile": {
        "start_date_time": "2030-01-01T12:00:00Z",
        "duration": 3600,
        "charging_rate_unit": "W",
        "min_charging_rate": 1000.5,
        "charging_profile_period": [{"start_period": 0, "limit": 11000},
                                    {"start_period": 1800, "limit": 7400.5},
                                    {"start_period": 3000, "limit": 3700}],
    },
}


class ProfileWatcher:
    """A core's WatchChargingProfileRequests stream, read in the background."""

    def __init__(self, core: Core) -> None:
        self.call = core.smart.WatchChargingProfileRequests(
            pb.WatchChargingProfileRequestsRequest(consumer_id="core-1"))
        self.requests: list[pb.ChargingProfileRequest] = []
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for response in self.call:
                self.requests.append(response.request)
        except grpc.aio.AioRpcError as error:
            assert error.code() == grpc.StatusCode.CANCELLED

    async def stop(self) -> None:
        self.call.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def watching(cpo: Cpo, core: Core) -> ProfileWatcher:
    watcher = ProfileWatcher(core)
    await eventually(lambda: hub_for(cpo.database, "chargingprofiles").connected())
    return watcher


def response_url(emsp: FakeEmsp, name: str) -> str:
    return f"{emsp.url}/ocpi/2.2.1/chargingprofiles/results/{name}"


def posted(emsp: FakeEmsp, name: str) -> list[Any]:
    path = response_url(emsp, name).removeprefix(emsp.url)
    return [r for r in emsp.received if r.method == "POST" and r.path == path]


def url(cpo: Cpo, session_id: str = "TX1") -> str:
    return f"{cpo.url('chargingprofiles')}/{session_id}"


async def with_session(cpo: Cpo, core: Core, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await core.site()
    await core.transactions.StartTransaction(start("TX1", connector_id="1"))


def active(limit: str = "7400") -> pb.ActiveChargingProfile:
    return pb.ActiveChargingProfile(
        start_date_time=ts(datetime(2030, 1, 1, 12, 5, tzinfo=UTC)),
        charging_profile=pb.ChargingProfile(
            charging_rate_unit=pb.CHARGING_RATE_UNIT_W,
            periods=[pb.ChargingProfilePeriod(start_period=0, limit=limit)]))


async def test_set_get_and_clear_reach_the_core_and_results_the_response_url(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    watcher = await watching(cpo, ev_core)

    put = await emsp.call_cpo("PUT", url(cpo), json={
        **PROFILE, "response_url": response_url(emsp, "set")})
    assert put.json()["status_code"] == 1000, put.text
    assert put.json()["data"]["result"] == "ACCEPTED" and put.json()["data"]["timeout"] > 0
    get = await emsp.call_cpo("GET", url(cpo), params={
        "duration": "900", "response_url": response_url(emsp, "get")})
    assert get.json()["data"]["result"] == "ACCEPTED"
    delete = await emsp.call_cpo("DELETE", url(cpo), params={
        "response_url": response_url(emsp, "clear")})
    assert delete.json()["data"]["result"] == "ACCEPTED"

    await eventually(lambda: len(watcher.requests) == 3)
    set_, get_, clear = watcher.requests
    assert set_.kind == pb.CHARGING_PROFILE_REQUEST_KIND_SET and set_.transaction_id == "TX1"
    profile = set_.set.charging_profile
    assert [(p.start_period, p.limit) for p in profile.periods] == [
        (0, "11000"), (1800, "7400.5"), (3000, "3700")]
    assert profile.min_charging_rate == "1000.5" and profile.duration == 3600
    assert profile.charging_rate_unit == pb.CHARGING_RATE_UNIT_W
    assert get_.kind == pb.CHARGING_PROFILE_REQUEST_KIND_GET_ACTIVE
    assert get_.get_active.duration == 900
    assert clear.kind == pb.CHARGING_PROFILE_REQUEST_KIND_CLEAR
    assert set_.requested_by.party_id == "EMP"
    # Each request says where the session runs: the core finds its charge point by it.
    for request in (set_, get_, clear):
        assert (request.location_id, request.evse_uid, request.connector_id) == (
            "LOC1", "EVSE1", "1")

    for request, result in ((set_, pb.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED),
                            (clear, pb.CHARGING_PROFILE_RESULT_TYPE_UNKNOWN)):
        await ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest(
            request_id=request.request_id, result=result))
    await ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest(
        request_id=get_.request_id, result=pb.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED,
        active_charging_profile=active()))

    await eventually(lambda: posted(emsp, "set") and posted(emsp, "get") and posted(
        emsp, "clear"))
    assert posted(emsp, "set")[0].body == {"result": "ACCEPTED"}
    assert posted(emsp, "clear")[0].body == {"result": "UNKNOWN"}
    assert posted(emsp, "get")[0].body == {"result": "ACCEPTED", "profile": {
        "start_date_time": "2030-01-01T12:05:00Z", "charging_profile": {
            "charging_rate_unit": "W",
            "charging_profile_period": [{"start_period": 0, "limit": 7400}]}}}
    await watcher.stop()


async def test_active_profile_changes_go_only_to_who_set_a_profile(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    # Nobody set a profile yet: the change goes nowhere.
    await ev_core.smart.ReportActiveChargingProfile(pb.ReportActiveChargingProfileRequest(
        session_id="TX1", active_charging_profile=active("5000")))
    watcher = await watching(cpo, ev_core)
    await emsp.call_cpo("PUT", url(cpo), json={**PROFILE,
                                               "response_url": response_url(emsp, "set")})
    await eventually(lambda: watcher.requests)
    await ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest(
        request_id=watcher.requests[0].request_id,
        result=pb.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED))
    await ev_core.smart.ReportActiveChargingProfile(pb.ReportActiveChargingProfileRequest(
        session_id="TX1", active_charging_profile=active("6000")))

    def puts() -> list[Any]:
        return [r for r in emsp.received
                if r.method == "PUT" and r.path == "/ocpi/2.2.1/chargingprofiles/TX1"]

    await eventually(puts)
    assert [p.body["charging_profile"]["charging_profile_period"][0]["limit"]
            for p in puts()] == [6000]
    await watcher.stop()


async def test_another_emsp_cannot_read_or_set_the_profiles_of_a_session(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    await register(cpo, second_emsp)
    watcher = await watching(cpo, ev_core)
    get = await second_emsp.call_cpo("GET", url(cpo), params={
        "duration": "900", "response_url": response_url(second_emsp, "get")})
    put = await second_emsp.call_cpo("PUT", url(cpo), json={
        **PROFILE, "response_url": response_url(second_emsp, "set")})
    unknown = await emsp.call_cpo("DELETE", url(cpo, "NOPE"), params={
        "response_url": response_url(emsp, "clear")})
    for reply in (get, put, unknown):
        assert reply.json()["data"]["result"] == "UNKNOWN_SESSION"
    await asyncio.sleep(0.3)
    assert watcher.requests == []
    await watcher.stop()


async def test_without_a_core_profile_requests_are_rejected(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    reply = await emsp.call_cpo("PUT", url(cpo), json={
        **PROFILE, "response_url": response_url(emsp, "set")})
    assert reply.json()["data"]["result"] == "REJECTED"
    async with cpo.database.read() as connection:
        count = (await connection.execute(
            select(func.count()).select_from(tables.commands))).scalar_one()
    assert count == 0


@pytest.mark.parametrize(("method", "params", "body", "field"), [
    ("GET", {"response_url": "https://x.example.com/r"}, None, "duration"),
    ("GET", {"duration": "60"}, None, "response_url"),
    ("DELETE", {}, None, "response_url"),
    ("PUT", {}, {"response_url": "https://x.example.com/r"}, "charging_profile"),
    ("PUT", {}, {**PROFILE, "response_url": "https://x.example.com/r",
                 "charging_profile": {**PROFILE["charging_profile"],
                                      "min_charging_rate": 1.25}}, "min_charging_rate"),
])
async def test_bad_profile_requests_return_2001_naming_the_field(
    cpo: Cpo, emsp: FakeEmsp, method: str, params: dict[str, str], body: Any, field: str
) -> None:
    await register(cpo, emsp)
    reply = await emsp.call_cpo(method, url(cpo), params=params, json=body)
    assert reply.json()["status_code"] == 2001, reply.text
    assert field in reply.json()["status_message"]
