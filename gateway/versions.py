"""Versions module: the versions list and the 2.2.1 details with every endpoint we serve."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gateway.services import services_of
from gateway.transport import ocpi_response
from sidecar.ocpi.enums import InterfaceRole, ModuleID
from sidecar.ocpi.versions import VERSION, Endpoint, Version, VersionDetails

# The modules this gateway serves and the interface role it plays in each.
MODULES: tuple[tuple[ModuleID, InterfaceRole], ...] = (
    (ModuleID.CREDENTIALS, InterfaceRole.SENDER),
    (ModuleID.LOCATIONS, InterfaceRole.SENDER),
    (ModuleID.TARIFFS, InterfaceRole.SENDER),
    (ModuleID.SESSIONS, InterfaceRole.SENDER),
    (ModuleID.CDRS, InterfaceRole.SENDER),
    # Receiver interfaces: the eMSP sends us tokens, commands and charging profiles.
    (ModuleID.TOKENS, InterfaceRole.RECEIVER),
    (ModuleID.COMMANDS, InterfaceRole.RECEIVER),
    (ModuleID.CHARGING_PROFILES, InterfaceRole.RECEIVER),
    (ModuleID.HUB_CLIENT_INFO, InterfaceRole.RECEIVER),
)


async def get_versions(request: Request) -> Response:
    """GET /ocpi/versions: token A or a partner token."""
    services = services_of(request)
    await services.auth.authenticate(request)
    return ocpi_response([Version(version=VERSION, url=services.settings.details_url)])


async def get_version_details(request: Request) -> Response:
    """GET /ocpi/cpo/2.2.1: token A or a partner token."""
    services = services_of(request)
    await services.auth.authenticate(request)
    settings = services.settings
    endpoints = [
        Endpoint(identifier=module, role=role, url=settings.module_url(module))
        for module, role in MODULES
    ]
    return ocpi_response(VersionDetails(version=VERSION, endpoints=endpoints))
