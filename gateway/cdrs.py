"""CDRs module, Sender interface: GET list of the caller's CDRs."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.modules import list_response, module_request
from sidecar.store import tables

_t = tables.cdrs


async def get_cdrs(request: Request) -> Response:
    """GET /cdrs: the CDRs of the caller's tokens, paginated."""
    module = await module_request(request)
    partner_id = module.partner.id
    return await list_response(request, module, _t, lambda: _t.c.partner_id == partner_id,
                               scope=(("partner", partner_id), ()))
