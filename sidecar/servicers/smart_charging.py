"""SmartChargingService: eMSPs' charging-profile requests to the core, results and changes back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import grpc
import msgspec
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import smart_charging_pb2 as pb
from ocpi_sidecar.v1 import smart_charging_pb2_grpc

from sidecar.domain import commands
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import (
    ActiveChargingProfile,
    ActiveChargingProfileResult,
    ChargingProfile,
    ChargingProfilePeriod,
    ChargingProfileResult,
    ClearProfileResult,
)
from sidecar.ocpi.enums import ChargingProfileResultType, ChargingRateUnit
from sidecar.ocpi.types import utc
from sidecar.servicers import mapping
from sidecar.servicers.enum_mapping import TABLES
from sidecar.store import commands as command_store
from sidecar.store import sessions as session_store
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.partners import PartnerRole

Context = grpc.aio.ServicerContext[Any, Any]

_UNITS = TABLES[pb.ChargingRateUnit.DESCRIPTOR.full_name]
_RESULTS = TABLES[pb.ChargingProfileResultType.DESCRIPTOR.full_name]
_KINDS: dict[str, pb.ChargingProfileRequestKind] = {
    "SET_PROFILE": pb.CHARGING_PROFILE_REQUEST_KIND_SET,
    "GET_ACTIVE_PROFILE": pb.CHARGING_PROFILE_REQUEST_KIND_GET_ACTIVE,
    "CLEAR_PROFILE": pb.CHARGING_PROFILE_REQUEST_KIND_CLEAR,
}
_POLL = 1.0


def _stamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(utc(value))
    return stamp


def profile_message(profile: ChargingProfile) -> pb.ChargingProfile:
    """An OCPI ChargingProfile as the proto one (limits as decimal strings)."""
    message = pb.ChargingProfile(
        charging_rate_unit=f"CHARGING_RATE_UNIT_{profile.charging_rate_unit.value}",
        min_charging_rate=format(profile.min_charging_rate, "f")
        if profile.min_charging_rate is not None else "",
        periods=[pb.ChargingProfilePeriod(start_period=p.start_period, limit=format(p.limit, "f"))
                 for p in profile.charging_profile_period or []])
    if profile.start_date_time is not None:
        message.start_date_time.CopyFrom(_stamp(profile.start_date_time))
    if profile.duration is not None:
        message.duration = profile.duration
    return message


def active_profile(message: pb.ActiveChargingProfile, path: str) -> ActiveChargingProfile:
    """A proto ActiveChargingProfile as the OCPI object (INVALID_ARGUMENT naming the field)."""
    if not message.HasField("start_date_time"):
        raise InvalidField(f"{path}.start_date_time", "required")
    profile = message.charging_profile
    here = f"{path}.charging_profile"
    unit = _UNITS.to_ocpi.get(profile.charging_rate_unit)
    if unit is None:
        raise InvalidField(f"{here}.charging_rate_unit", "required")
    periods = []
    for i, period in enumerate(profile.periods):
        limit = mapping.decimal(period.limit, f"{here}.periods[{i}].limit")
        try:
            periods.append(ChargingProfilePeriod(start_period=period.start_period, limit=limit))
        except ValueError as error:
            raise InvalidField(f"{here}.periods[{i}].limit", str(error)) from None
    try:
        return ActiveChargingProfile(
            start_date_time=mapping.timestamp(message.start_date_time,
                                              f"{path}.start_date_time").replace(microsecond=0),
            charging_profile=ChargingProfile(
                start_date_time=mapping.timestamp(profile.start_date_time,
                                                  f"{here}.start_date_time").replace(
                    microsecond=0) if profile.HasField("start_date_time") else None,
                duration=profile.duration if profile.HasField("duration") else None,
                charging_rate_unit=ChargingRateUnit(unit),
                min_charging_rate=mapping.decimal(profile.min_charging_rate,
                                                  f"{here}.min_charging_rate")
                if profile.min_charging_rate else None,
                charging_profile_period=periods or None))
    except ValueError as error:
        raise InvalidField(here, str(error)) from None


def request_message(row: command_store.CommandRow, requester: PartnerRole | None,
                    session: session_store.SessionPlace | None = None
                    ) -> pb.ChargingProfileRequest:
    """The proto request for a stored eMSP charging-profile request; `session`: where its
    session runs and the core's transaction id (None: unknown, the session id stands in)."""
    stored = codec.decode(row.request, command_store.ProfileRequest)
    message = pb.ChargingProfileRequest(
        request_id=row.command_id, kind=_KINDS[row.type], session_id=stored.session_id,
        # A session's id is the core's transaction id, unless it began as a reservation.
        transaction_id=stored.session_id,
        requested_by=mapping.party_ref(requester),
        created_at=_stamp(row.created_at), deadline=_stamp(row.deadline),
        delivery_count=row.delivery_count)
    if session is not None:
        message.transaction_id, message.location_id = session.transaction_id, session.location_id
        message.evse_uid, message.connector_id = session.evse_uid, session.connector_id
    if row.type == "SET_PROFILE" and stored.charging_profile is not None:
        message.set.charging_profile.CopyFrom(profile_message(stored.charging_profile))
    elif row.type == "GET_ACTIVE_PROFILE":
        message.get_active.duration = stored.duration or 0
    else:
        message.clear.SetInParent()
    return message


def _result(kind: str, result: ChargingProfileResultType,
            request: pb.ReportChargingProfileResultRequest) -> msgspec.Struct:
    if kind == "SET_PROFILE":
        return ChargingProfileResult(result=result)
    if kind == "CLEAR_PROFILE":
        return ClearProfileResult(result=result)
    profile = None
    if request.HasField("active_charging_profile"):
        profile = active_profile(request.active_charging_profile, "active_charging_profile")
    if result == ChargingProfileResultType.ACCEPTED and profile is None:
        raise InvalidField("active_charging_profile", "required when the result is ACCEPTED")
    return ActiveChargingProfileResult(result=result, profile=profile)


class SmartChargingServicer(smart_charging_pb2_grpc.SmartChargingServiceServicer):
    """SmartChargingService over the store; `wakeup` tells the push worker about results."""

    def __init__(self, database: Database, wakeup: Wakeup) -> None:
        self._database = database
        self._wakeup = wakeup

    async def WatchChargingProfileRequests(
        self, request: pb.WatchChargingProfileRequestsRequest, context: Context
    ) -> AsyncIterator[pb.WatchChargingProfileRequestsResponse]:
        async for row, requester in command_store.watch(
                self._database, command_store.PROFILES, request.consumer_id or uuid.uuid4().hex,
                command_store.PROFILE_TYPES, self._wakeup.notify, poll=_POLL):
            session_id = codec.decode(row.request, command_store.ProfileRequest).session_id
            async with self._database.read() as connection:
                session = await session_store.place_of(connection, session_id)
            yield pb.WatchChargingProfileRequestsResponse(
                request=request_message(row, requester, session))
        await context.abort(grpc.StatusCode.ABORTED,
                            "consumer_id: a newer stream opened with this consumer id")

    async def ReportChargingProfileResult(
        self, request: pb.ReportChargingProfileResultRequest, context: Context
    ) -> pb.ReportChargingProfileResultResponse:
        request_id = mapping.require(request.request_id, "request_id")
        result = _RESULTS.to_ocpi.get(request.result)
        if result is None:
            raise InvalidField("result", "CHARGING_PROFILE_RESULT_TYPE_UNSPECIFIED is not "
                               "allowed" if request.result == 0 else "unknown value")
        late = await commands.report_result(
            self._database, self._wakeup, request_id, "request_id",
            lambda row: _result(row.type, ChargingProfileResultType(result), request),
            types=command_store.PROFILE_TYPES, kind="charging profile request")
        return pb.ReportChargingProfileResultResponse(after_deadline=late)

    async def ReportActiveChargingProfile(
        self, request: pb.ReportActiveChargingProfileRequest, context: Context
    ) -> pb.ReportActiveChargingProfileResponse:
        session_id = mapping.require(request.session_id, "session_id")
        if not request.HasField("active_charging_profile"):
            raise InvalidField("active_charging_profile", "required")
        profile = active_profile(request.active_charging_profile, "active_charging_profile")
        await commands.report_active_profile(self._database, self._wakeup, session_id, profile)
        return pb.ReportActiveChargingProfileResponse()

