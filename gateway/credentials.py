"""Credentials module, our server side: GET, POST (register), PUT (update), DELETE."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.errors import MethodNotAllowed
from gateway.registration import WHEN_REGISTERED, WHEN_UNREGISTERED
from gateway.services import services_of
from gateway.transport import ocpi_response
from sidecar.ocpi import codec
from sidecar.ocpi.credentials import Credentials


async def get_credentials(request: Request) -> Response:
    """Our credentials for the calling partner (its own current token, which it just sent)."""
    services = services_of(request)
    caller, token = await services.auth.authenticate(request)
    if caller.partner is None:
        raise MethodNotAllowed("not registered", allow=WHEN_UNREGISTERED)
    return ocpi_response(await services.registry.our_credentials(token))


async def post_credentials(request: Request) -> Response:
    """Registration with token A; answers with token C."""
    services = services_of(request)
    caller, _ = await services.auth.authenticate(request)
    if caller.partner is not None:
        raise MethodNotAllowed("already registered: use PUT to update, DELETE to end",
                               allow=WHEN_REGISTERED)
    offered = codec.decode(await request.body(), Credentials)
    return ocpi_response(await services.registry.accept(caller, offered))


async def put_credentials(request: Request) -> Response:
    """Update: the partner's new token and endpoints; answers with a new token C."""
    services = services_of(request)
    caller, _ = await services.auth.authenticate(request)
    if caller.partner is None:
        raise MethodNotAllowed("not registered: use POST with a registration token",
                               allow=WHEN_UNREGISTERED)
    offered = codec.decode(await request.body(), Credentials)
    return ocpi_response(await services.registry.update(caller, offered))


async def delete_credentials(request: Request) -> Response:
    """Unregister: the partner's token stops working."""
    services = services_of(request)
    caller, _ = await services.auth.authenticate(request)
    await services.registry.remove(caller)
    return ocpi_response()
