"""SmartChargingService: contract checks, conversions, and redelivery to a reconnecting core."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import grpc
import pytest
from ocpi_sidecar.v1 import smart_charging_pb2 as pb

from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import ChargingProfile
from sidecar.servicers.smart_charging import active_profile, profile_message
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_charging_profiles_receiver import (
    PROFILE,
    active,
    response_url,
    url,
    watching,
    with_session,
)
from tests.gateway.test_commands_receiver import Core, ev_core

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]  # the fixture


def test_profiles_convert_both_ways_without_losing_decimals() -> None:
    profile = codec.convert(PROFILE["charging_profile"], ChargingProfile)
    message = profile_message(profile)
    back = active_profile(pb.ActiveChargingProfile(
        start_date_time=message.start_date_time, charging_profile=message), "p")
    assert back.charging_profile == profile
    assert back.charging_profile.charging_profile_period is not None
    assert back.charging_profile.charging_profile_period[1].limit == Decimal("7400.5")
    assert back.start_date_time == datetime(2030, 1, 1, 12, tzinfo=UTC)


@pytest.mark.parametrize(("change", "field"), [
    ({"limit": "7.25"}, "active_charging_profile.charging_profile.periods[0].limit"),
    ({"limit": "1e3"}, "active_charging_profile.charging_profile.periods[0].limit"),
])
async def test_bad_active_profiles_are_invalid_arguments(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, change: dict[str, str], field: str
) -> None:
    await with_session(cpo, ev_core, emsp)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ev_core.smart.ReportActiveChargingProfile(pb.ReportActiveChargingProfileRequest(
            session_id="TX1", active_charging_profile=active(change["limit"])))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (raised.value.details() or "").startswith(field)


async def test_reports_name_what_is_wrong(cpo: Cpo, ev_core: Core, emsp: FakeEmsp) -> None:
    await with_session(cpo, ev_core, emsp)
    cases = [
        (ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest(
            request_id="nope", result=pb.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED)),
         grpc.StatusCode.NOT_FOUND, "request_id"),
        (ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest()),
         grpc.StatusCode.INVALID_ARGUMENT, "request_id"),
        (ev_core.smart.ReportActiveChargingProfile(pb.ReportActiveChargingProfileRequest(
            session_id="NOPE", active_charging_profile=active())),
         grpc.StatusCode.NOT_FOUND, "session_id"),
        (ev_core.smart.ReportActiveChargingProfile(pb.ReportActiveChargingProfileRequest(
            session_id="TX1")), grpc.StatusCode.INVALID_ARGUMENT, "active_charging_profile"),
    ]
    for call, code, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == code
        assert (raised.value.details() or "").startswith(field)


async def test_an_accepted_get_needs_the_profile_and_a_reconnecting_core_gets_it_again(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    first = await watching(cpo, ev_core)
    await emsp.call_cpo("GET", url(cpo), params={"duration": "60",
                                                 "response_url": response_url(emsp, "get")})
    await eventually(lambda: first.requests)
    await first.stop()
    second = await watching(cpo, ev_core)
    await eventually(lambda: second.requests)
    request = second.requests[0]
    assert request.request_id == first.requests[0].request_id
    assert request.delivery_count == 2
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ev_core.smart.ReportChargingProfileResult(pb.ReportChargingProfileResultRequest(
            request_id=request.request_id, result=pb.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED))
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    answer = await ev_core.smart.ReportChargingProfileResult(
        pb.ReportChargingProfileResultRequest(
            request_id=request.request_id, result=pb.CHARGING_PROFILE_RESULT_TYPE_REJECTED))
    assert not answer.after_deadline
    await eventually(lambda: [r for r in emsp.received if r.path.endswith("/results/get")])
    await second.stop()
