"""Commands module, Receiver interface: POST /commands/{command}.

The answer is synchronous (CommandResponse); an accepted command is stored and reaches the
core through EvDriverService.WatchCommands; the core's result (or TIMEOUT at the deadline)
is POSTed to the request's `response_url` by the push worker.
"""

from __future__ import annotations

import asyncio
import math
import uuid
from datetime import datetime, timedelta
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import InvalidParameters, UnknownLocation
from gateway.modules import ModuleRequest, module_request, our_parties
from gateway.services import Services
from gateway.transport import ocpi_response
from gateway.urls import UnusableUrl, check_partner_url
from sidecar.ocpi import codec
from sidecar.ocpi.commands import (
    COMMAND_TYPES,
    CancelReservation,
    CommandResponse,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from sidecar.ocpi.enums import Capability, CommandResponseType, CommandType
from sidecar.ocpi.locations import Location, find_connector, find_evse
from sidecar.ocpi.types import DisplayText, now
from sidecar.store import commands as store
from sidecar.store import reservations as reservation_store
from sidecar.store.locations import get_location
from sidecar.store.partners import holder_of
from sidecar.store.sessions import partner_session

_R = CommandResponseType
# The EVSE capability each command on an EVSE needs.
_NEEDS: dict[type, Capability] = {
    StartSession: Capability.REMOTE_START_STOP_CAPABLE,
    ReserveNow: Capability.RESERVABLE,
    UnlockConnector: Capability.UNLOCK_CAPABLE,
}


class Refused(Exception):
    """A command answered with something other than ACCEPTED (OCPI status 1000 or 2003)."""

    def __init__(self, result: CommandResponseType, message: str, status_code: int = 1000):
        self.result = result
        self.message = message
        self.status_code = status_code
        super().__init__(message)


def _command_type(request: Request) -> CommandType:
    try:
        return CommandType(request.path_params["command"])
    except ValueError:
        raise InvalidParameters("not a CommandType", field="command", http_status=404) from None


def checked_response_url(url: str) -> str:
    """`url` if we may POST a result there; else 2001 (HTTP 400) before anything is stored.

    The eMSP chooses where we POST the result, from our network position: only an absolute
    http(s) URL to a host passes (gateway/urls.py); the address is checked when we call it.
    """
    try:
        return check_partner_url(url)
    except UnusableUrl as error:
        raise InvalidParameters(error.reason, field="response_url",
                                http_status=400) from None


def response_timeout(services: Services) -> int:
    """The `timeout` we give eMSPs: seconds until the core must have answered."""
    return max(1, math.ceil(services.settings.command_timeout))


def _answer(module: ModuleRequest, result: CommandResponseType, message: str | None = None,
            status_code: int = 1000) -> Response:
    services = module.services
    body = CommandResponse(
        result=result, timeout=response_timeout(services),
        message=[DisplayText(language="en", text=message)] if message else None)
    return ocpi_response(body, status_code=status_code, message=message,
                         headers=module.reply_headers)


async def post_command(request: Request) -> Response:
    """POST /commands/{command}: validate, check ownership, store, answer."""
    module = await module_request(request)
    command_type = _command_type(request)
    body = codec.decode(await request.body(), COMMAND_TYPES[command_type])
    checked_response_url(body.response_url)  # type: ignore[attr-defined]
    services = module.services
    try:
        party = await _check(module, body)
    except Refused as refused:
        return _answer(module, refused.result, refused.message, refused.status_code)
    if not await store.core_connected(services.database):
        return _answer(module, _R.REJECTED, "the charging station operator's system is "
                       "not connected; try again later")
    deadline = now() + timedelta(seconds=response_timeout(services))
    command = store.NewCommand(
        command_id=str(uuid.uuid4()), country_code=party[0], party_id=party[1],
        partner_id=module.partner.id, type=command_type.value, request=codec.encode(body),
        response_url=body.response_url,  # type: ignore[attr-defined]
        correlation_id=request.state.correlation_id, deadline=deadline,
        requester=module.sender or _token_party(body))
    async with services.database.write() as connection:
        await store.insert_command(connection, command)
        if isinstance(body, ReserveNow):
            # The charge point's reservation number is fixed with the command.
            await reservation_store.allot(
                connection, partner_id=module.partner.id, location_id=body.location_id,
                reservation_id=body.reservation_id, evse_uid=body.evse_uid,
                token_uid=body.token.uid, command_id=command.command_id)
    expire_at(services, store.hub_for(services.database), deadline)
    return _answer(module, _R.ACCEPTED)


def expire_at(services: Services, hub: store.CommandHub, deadline: datetime) -> None:
    """At the deadline, close what the core has not answered (commands: TIMEOUT to the
    eMSP), even when no core stream is open to notice it."""
    hub.keep(asyncio.get_running_loop().create_task(_expire(services, deadline)))


async def _expire(services: Services, deadline: datetime) -> None:
    await asyncio.sleep(max(0.0, (deadline - now()).total_seconds()) + 0.05)
    async with services.database.write() as connection:
        expired = await store.expire_commands(connection)
    if expired:
        services.wakeup.notify()


def _token_party(body: Any) -> tuple[str, str] | None:
    """The party of the command's token, which asked when no OCPI-from says who did."""
    if isinstance(body, StartSession | ReserveNow):
        return body.token.country_code, body.token.party_id
    return None


async def _check(module: ModuleRequest, body: Any) -> tuple[str, str]:
    """Refuse what the caller may not do; returns our party that answers the command."""
    async with module.services.database.read() as connection:
        if isinstance(body, StopSession):
            row = await partner_session(connection, body.session_id, module.partner.id,
                                        module.party)
            if row is None:  # unknown, or another party's: the same to the caller
                raise Refused(_R.UNKNOWN_SESSION, f"no session {body.session_id!r}")
            return row.country_code, row.party_id
        if isinstance(body, CancelReservation):
            if not await store.reservation_owner(connection, module.partner.id,
                                                 body.reservation_id):
                raise Refused(_R.REJECTED, f"no reservation {body.reservation_id!r}")
            return module.party or (await our_parties(module.services))[0]
        if isinstance(body, StartSession | ReserveNow) and await holder_of(
                connection, body.token.country_code, body.token.party_id) != module.partner.id:
            raise Refused(_R.REJECTED, "the token is not one of yours")
        assert isinstance(body, StartSession | ReserveNow | UnlockConnector)
        location, party = await _location(connection, module, body.location_id)
    _check_place(location, body)
    return party


async def _location(
    connection: Any, module: ModuleRequest, location_id: str
) -> tuple[Location, tuple[str, str]]:
    parties = [module.party] if module.party else await our_parties(module.services)
    for country_code, party_id in parties:
        location = await get_location(connection, country_code, party_id, location_id)
        if location is not None:
            return location, (country_code, party_id)
    raise Refused(_R.REJECTED, f"unknown location {location_id!r}", UnknownLocation.status_code)


def _check_place(location: Location, body: StartSession | ReserveNow | UnlockConnector) -> None:
    evse_uid = body.evse_uid
    if evse_uid is None:
        return
    evse = find_evse(location, evse_uid)
    if evse is None:
        raise Refused(_R.REJECTED, f"unknown EVSE {evse_uid!r}", UnknownLocation.status_code)
    connector_id = getattr(body, "connector_id", None)
    if connector_id is not None and find_connector(evse, connector_id) is None:
        raise Refused(_R.REJECTED, f"unknown connector {connector_id!r}",
                      UnknownLocation.status_code)
    capabilities = evse.capabilities or []
    needed = _NEEDS[type(body)]
    # Capabilities are optional in OCPI: only an EVSE that lists some can lack one.
    if capabilities and needed not in capabilities:
        raise Refused(_R.NOT_SUPPORTED, f"EVSE {evse_uid!r} is not {needed}")
    if (isinstance(body, StartSession) and connector_id is None
            and Capability.START_SESSION_CONNECTOR_REQUIRED in capabilities):
        raise Refused(_R.REJECTED, "this EVSE needs connector_id")
