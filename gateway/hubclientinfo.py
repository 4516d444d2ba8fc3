"""HubClientInfo (mod_hub_client_info): which parties a hub connects, and their status.

Receiver interface: a hub PUTs the ClientInfo of a party behind it when it changes; we GET
the hub's Sender list on registration and on `POST /admin/partners/{id}/hubclientinfo/
refresh`. Each report claims the party for the hub (`sidecar/store/hubs.py`) and records its
ConnectionStatus; when a party comes back CONNECTED, the pushes waiting for it are due.
"""

from __future__ import annotations

import logging
import re
from datetime import datetime

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from gateway.admin import AdminError, admin_json, check_key, partner_id_of
from gateway.client import OCPIClient
from gateway.errors import InvalidParameters
from gateway.modules import ModuleRequest, module_request, our_parties
from gateway.routing import to_partner
from gateway.services import Services, services_of
from gateway.transport import ocpi_response
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.enums import ConnectionStatus, InterfaceRole, ModuleID, Role
from sidecar.ocpi.types import CiString2, CiString3
from sidecar.store import hubs
from sidecar.store import partners as partner_store
from sidecar.store.engine import Database
from sidecar.store.parties import sending_party
from sidecar.store.partners import Partner

log = logging.getLogger(__name__)

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


class ClientInfo(msgspec.Struct, frozen=True):
    """mod_hub_client_info ClientInfo object."""

    party_id: CiString3
    country_code: CiString2
    role: Role
    status: ConnectionStatus
    last_updated: datetime


def _client(info: ClientInfo) -> hubs.Client:
    return hubs.Client(info.country_code, info.party_id, info.role, info.status,
                       info.last_updated)


def _hub(module: ModuleRequest) -> Partner:
    if not module.partner.is_hub:
        raise InvalidParameters("only a hub (a platform with the HUB role) reports the "
                                "parties behind it", field="role", http_status=404)
    return module.partner


async def get_client_info(request: Request) -> Response:
    """GET /hubclientinfo/{country_code}/{party_id}: the hub's last report of the party."""
    module = await module_request(request)
    hub = _hub(module)
    params = request.path_params
    async with module.services.database.read() as connection:
        found = await hubs.get_client(connection, hub.id, params["country_code"],
                                      params["party_id"])
    if found is None:
        raise InvalidParameters(f"no ClientInfo of {params['country_code']}/"
                                f"{params['party_id']}", http_status=404)
    return ocpi_response(found, headers=module.reply_headers)


async def put_client_info(request: Request) -> Response:
    """PUT /hubclientinfo/{country_code}/{party_id}: the party's new ConnectionStatus."""
    module = await module_request(request)
    hub = _hub(module)
    info = codec.decode(await request.body(), ClientInfo)
    params = request.path_params
    for name in ("country_code", "party_id"):
        if str(getattr(info, name)).upper() != params[name].upper():
            raise InvalidParameters(f"{getattr(info, name)!r} differs from the URL's "
                                    f"{params[name]!r}", field=name)
    await report(module.services, hub, [_client(info)], complete=False)
    return ocpi_response(headers=module.reply_headers)


async def report(
    services: Services, hub: Partner, clients: list[hubs.Client], *, complete: bool
) -> hubs.Reported:
    """Store a hub's report; the callers it lets in (OCPI-from) and waiting pushes change."""
    ours = await our_parties(services)
    async with services.database.write() as connection:
        reported = await hubs.report_clients(connection, hub.id, clients, ours,
                                             complete=complete)
    if reported.status_changed:
        services.wakeup.notify()
    for country_code, party_id in reported.refused:
        log.info("hub %d lists %s/%s, which is ours or another partner's: not reached "
                 "through it", hub.id, country_code, party_id)
    return reported


async def pull_clients(
    client: OCPIClient, database: Database, hub: Partner
) -> list[hubs.Client]:
    """GET every page of the hub's HubClientInfo Sender list (following Link)."""
    url = hub.endpoint(ModuleID.HUB_CLIENT_INFO, InterfaceRole.SENDER)
    if url is None or hub.outbound_token is None:
        raise AdminError(409, "the partner has no HubClientInfo Sender endpoint")
    async with database.read() as connection:
        routing = to_partner(hub, await sending_party(connection))
    found: list[hubs.Client] = []
    next_url: str | None = url
    while next_url is not None:
        reply = await client.request("GET", next_url, hub.outbound_token, headers=routing,
                                     token_base64=hub.outbound_token_base64)
        items = reply.envelope.data if isinstance(reply.envelope.data, list) else []
        for item in items:
            try:
                found.append(_client(codec.convert(item, ClientInfo)))
            except InvalidField as error:
                log.warning("hub %d: a ClientInfo is invalid (%s): skipped", hub.id, error)
        link = _NEXT.search(reply.headers.get("link", ""))
        next_url = link.group(1) if link else None
    return found


async def refresh(services: Services, hub: Partner) -> hubs.Reported:
    """Pull the hub's whole list and store it (parties it no longer lists are released)."""
    clients = await pull_clients(services.client, services.database, hub)
    return await report(services, hub, clients, complete=True)


async def refresh_clients(request: Request) -> Response:
    """POST /admin/partners/{id}/hubclientinfo/refresh."""
    check_key(request)
    services = services_of(request)
    partner_id = partner_id_of(request)
    async with services.database.read() as connection:
        partner = await partner_store.get_partner(connection, partner_id)
    if partner is None or partner.status != partner_store.REGISTERED:
        raise AdminError(404, f"no registered partner {partner_id}", "partner_id")
    try:
        reported = await refresh(services, partner)
    except AdminError:
        raise
    except Exception as error:  # PartnerError and kin: the hub did not give its list
        raise AdminError(502, f"pulling HubClientInfo failed: {error}") from None
    return admin_json({"claimed": [f"{c}/{p}" for c, p in reported.claimed],
                       "refused": [f"{c}/{p}" for c, p in reported.refused],
                       "released": [f"{c}/{p}" for c, p in reported.released]})


async def refresh_quietly(services: Services, hub: Partner) -> None:
    """After a registration: pull the list, logging (not raising) a failure, which the
    admin refresh can repair."""
    if not hub.is_hub or hub.endpoint(ModuleID.HUB_CLIENT_INFO, InterfaceRole.SENDER) is None:
        return
    try:
        await refresh(services, hub)
    except Exception as error:  # the registration stands; the operator can refresh
        log.warning("hub %d: pulling HubClientInfo after registration failed: %s", hub.id,
                    error)


