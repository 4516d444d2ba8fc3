"""What every functional-module handler does first, and the Sender list response."""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, and_
from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import Unauthorized
from gateway.pagination import page_headers, page_request
from gateway.services import Services, services_of
from gateway.transport import ocpi_json_response, routing_parties
from sidecar.store.documents import count_documents, list_documents
from sidecar.store.parties import list_parties
from sidecar.store.partners import REGISTERED, Partner


@dataclass(frozen=True)
class ModuleRequest:
    """An authenticated functional-module request: who calls, which of our parties it means."""

    services: Services
    partner: Partner
    # The OCPI-to party when the request named one, else None (all our parties).
    party: tuple[str, str] | None
    reply_headers: dict[str, str]
    # The OCPI-from party when the request named one (checked: the caller reaches it).
    sender: tuple[str, str] | None = None


async def module_request(request: Request) -> ModuleRequest:
    """Authenticate a registered partner and check the routing headers (401 / 2001)."""
    services = services_of(request)
    caller, _ = await services.auth.authenticate(request)
    partner = caller.partner
    if partner is None or partner.status != REGISTERED:
        raise Unauthorized("a registration token only opens versions and credentials")
    ours = await services.cache.get("parties", ("parties",), lambda: our_parties(services))
    headers = routing_parties(request, caller, ours)
    to_cc = request.headers.get("ocpi-to-country-code")
    to_pid = request.headers.get("ocpi-to-party-id")
    party = (to_cc.upper(), to_pid.upper()) if to_cc and to_pid else None
    from_cc = request.headers.get("ocpi-from-country-code")
    from_pid = request.headers.get("ocpi-from-party-id")
    sender = (from_cc.upper(), from_pid.upper()) if from_cc and from_pid else None
    return ModuleRequest(services, partner, party, headers, sender)


async def our_parties(services: Services) -> list[tuple[str, str]]:
    """(country_code, party_id) of every CPO party we operate."""
    async with services.database.read() as connection:
        return [(p.country_code, p.party_id) for p in await list_parties(connection)]


def party_filter(table: Table, party: tuple[str, str] | None) -> Any:
    """SQL condition limiting a document table to one of our parties (or none)."""
    if party is None:
        return None
    return and_(table.c.country_code == party[0], table.c.party_id == party[1])


async def list_response(
    request: Request,
    module: ModuleRequest,
    table: Table,
    where: Callable[[], Any] | None,
    scope: tuple[Hashable, tuple[str, ...]] = (None, ()),
) -> Response:
    """A paginated Sender GET list of stored documents (headers per transport rules).

    `where()` builds the condition of what the caller may see; `scope` names it for the
    cache (a hashable key and the tables it depends on besides `table`). A cached page
    costs no SQL at all, not even building the statement.
    """
    settings = module.services.settings
    page = page_request(request, settings.page_limit)

    cache, tables = module.services.cache, (table.name, *scope[1])

    async def compute() -> tuple[bytes, dict[str, str]]:
        conditions = [c for c in (where() if where else None, party_filter(table, module.party))
                      if c is not None]
        condition = and_(*conditions) if conditions else None
        async with module.services.database.read() as connection:
            # One count per filter and table generation: pages 2, 3, ... of a sweep (each
            # uncached, another offset) do not count the whole table again.
            total = await cache.get(
                ("count", table.name, scope[0], module.party, page.date_from, page.date_to),
                tables, lambda: count_documents(connection, table, date_from=page.date_from,
                                                date_to=page.date_to, where=condition))
            documents = await list_documents(
                connection, table, offset=page.offset, limit=page.limit,
                date_from=page.date_from, date_to=page.date_to, where=condition)
        headers = page_headers(request, settings.base_url, page, len(documents), total,
                               settings.page_limit)
        return b"[" + b",".join(documents) + b"]", headers

    key = ("list", table.name, scope[0], module.party, page, request.url.query)
    data, headers = await cache.get(key, tables, compute)
    return ocpi_json_response(data, headers={**headers, **module.reply_headers})
