"""ChargingProfiles module, Receiver interface: GET (active profile), PUT (set), DELETE (clear).

Each is answered synchronously (ChargingProfileResponse) and reaches the core through
SmartChargingService.WatchChargingProfileRequests; the result the core reports is POSTed to
the request's `response_url`. Only the eMSP whose token the session is can ask about it.
"""

from __future__ import annotations

import uuid
from datetime import timedelta

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from gateway.commands import checked_response_url, expire_at, response_timeout
from gateway.errors import InvalidParameters
from gateway.modules import ModuleRequest, module_request
from gateway.transport import ocpi_response
from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import ChargingProfileResponse, SetChargingProfile
from sidecar.ocpi.enums import ChargingProfileResponseType
from sidecar.ocpi.types import URL, now
from sidecar.store import commands as store
from sidecar.store.sessions import partner_session

_R = ChargingProfileResponseType
# The longest `duration` asked for: the contract's int32 (smart_charging.proto).
MAX_DURATION = 2**31 - 1


class _Query(msgspec.Struct, frozen=True, kw_only=True):
    response_url: URL
    duration: int | None = None


def _query(request: Request, *, duration: bool) -> _Query:
    params = request.query_params
    data: dict[str, object] = {"response_url": params.get("response_url")}
    if duration:
        raw = params.get("duration")
        # ASCII digits only (str.isdigit() takes "²", which int() refuses), and no more than
        # the core's int32 takes: a larger number would be stored, then fail on its way out.
        if raw is None or not (raw.isascii() and raw.isdigit()) or len(raw) > 10 \
                or int(raw) > MAX_DURATION:
            raise InvalidParameters(f"required, a whole number of seconds up to {MAX_DURATION}",
                                    field="duration")
        data["duration"] = int(raw)
    if data["response_url"] is None:
        raise InvalidParameters("required", field="response_url")
    query = codec.convert(data, _Query)
    checked_response_url(query.response_url)
    return query


def _answer(module: ModuleRequest, result: ChargingProfileResponseType) -> Response:
    body = ChargingProfileResponse(result=result, timeout=response_timeout(module.services))
    return ocpi_response(body, headers=module.reply_headers)


async def get_active_profile(request: Request) -> Response:
    """GET /chargingprofiles/{session_id}?duration=&response_url=."""
    module = await module_request(request)
    query = _query(request, duration=True)
    return await _forward(request, module, "GET_ACTIVE_PROFILE", store.ProfileRequest(
        session_id=request.path_params["session_id"], response_url=query.response_url,
        duration=query.duration))


async def put_profile(request: Request) -> Response:
    """PUT /chargingprofiles/{session_id} with a SetChargingProfile."""
    module = await module_request(request)
    body = codec.decode(await request.body(), SetChargingProfile)
    checked_response_url(body.response_url)
    return await _forward(request, module, "SET_PROFILE", store.ProfileRequest(
        session_id=request.path_params["session_id"], response_url=body.response_url,
        charging_profile=body.charging_profile))


async def delete_profile(request: Request) -> Response:
    """DELETE /chargingprofiles/{session_id}?response_url=."""
    module = await module_request(request)
    query = _query(request, duration=False)
    return await _forward(request, module, "CLEAR_PROFILE", store.ProfileRequest(
        session_id=request.path_params["session_id"], response_url=query.response_url))


async def _forward(
    request: Request, module: ModuleRequest, kind: str, profile: store.ProfileRequest
) -> Response:
    services = module.services
    async with services.database.read() as connection:
        session = await partner_session(connection, profile.session_id, module.partner.id,
                                        module.party)
    if session is None:  # unknown, or another eMSP's: the same to the caller
        return _answer(module, _R.UNKNOWN_SESSION)
    if not await store.core_connected(services.database, store.PROFILES):
        return _answer(module, _R.REJECTED)
    deadline = now() + timedelta(seconds=response_timeout(services))
    async with services.database.write() as connection:
        await store.insert_command(connection, store.NewCommand(
            command_id=str(uuid.uuid4()), country_code=session.country_code,
            party_id=session.party_id, partner_id=module.partner.id, type=kind,
            request=codec.encode(profile), response_url=profile.response_url,
            correlation_id=request.state.correlation_id, deadline=deadline,
            requester=module.sender))
    expire_at(services, store.hub_for(services.database, store.PROFILES), deadline)
    return _answer(module, _R.ACCEPTED)
