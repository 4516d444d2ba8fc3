"""Sessions module, Sender interface: GET list and PUT charging preferences.

A partner sees only the sessions of the tokens it owns (the store's `partner_id`); another
partner's session is as unknown as a missing one.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import InvalidParameters
from gateway.modules import list_response, module_request
from gateway.transport import ocpi_response
from sidecar.ocpi import codec
from sidecar.ocpi.enums import Capability, ChargingPreferencesResponse
from sidecar.ocpi.locations import find_evse
from sidecar.ocpi.sessions import ChargingPreferences, Session
from sidecar.store import tables
from sidecar.store.locations import get_location
from sidecar.store.sessions import partner_session

_t = tables.sessions


async def get_sessions(request: Request) -> Response:
    """GET /sessions: the caller's sessions, paginated (date_from may be left out)."""
    module = await module_request(request)
    partner_id = module.partner.id
    return await list_response(request, module, _t, lambda: _t.c.partner_id == partner_id,
                               scope=(("partner", partner_id), ()))


def _not_here(message: str) -> InvalidParameters:
    # mod_sessions: HTTP 404 with OCPI 2001, for an unknown session as for an EVSE that does
    # not take preferences.
    return InvalidParameters(message, http_status=404)


async def put_charging_preferences(request: Request) -> Response:
    """PUT /sessions/{session_id}/charging_preferences.

    The core has no way to receive preferences (the contract has none), so a session of the
    caller on an EVSE that lists CHARGING_PREFERENCES_CAPABLE is answered NOT_POSSIBLE;
    otherwise HTTP 404 with 2001, as the spec says.
    """
    module = await module_request(request)
    session_id = request.path_params["session_id"]
    async with module.services.database.read() as connection:
        row = await partner_session(connection, session_id, module.partner.id, module.party)
        if row is None:
            raise _not_here(f"no session {session_id!r}")
        session = codec.decode(row.document, Session)
        location = await get_location(connection, session.country_code, session.party_id,
                                      session.location_id)
    codec.decode(await request.body(), ChargingPreferences)
    evse = find_evse(location, session.evse_uid) if location is not None else None
    if evse is None or Capability.CHARGING_PREFERENCES_CAPABLE not in (evse.capabilities or []):
        raise _not_here(f"EVSE {session.evse_uid!r} does not take charging preferences")
    return ocpi_response(ChargingPreferencesResponse.NOT_POSSIBLE, headers=module.reply_headers)
