"""Tariffs module, Sender interface: GET list."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.modules import list_response, module_request
from sidecar.store import tables


async def get_tariffs(request: Request) -> Response:
    """GET /tariffs: every tariff of our parties, paginated."""
    module = await module_request(request)
    return await list_response(request, module, tables.tariffs, None)
