"""create_apps: the OCPI app and the admin app, their routes, middleware and error renderers.

Two apps on two listeners, so that exposing OCPI to partners never exposes the admin API,
metrics, health or the console: the OCPI listener has no route to them at all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from hypercorn.config import Config
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway import (
    admin,
    cdr_admin,
    cdrs,
    charging_profiles,
    commands,
    credentials,
    hubclientinfo,
    locations,
    openapi,
    readiness,
    sessions,
    tariffs,
    tokens,
    versions,
)
from gateway.access import AccessLog
from gateway.admin import AdminError, admin_error_response
from gateway.cache import MIB, ReadCache
from gateway.client import OCPIClient
from gateway.console import console_routes
from gateway.errors import InvalidParameters, MethodNotAllowed, NotFound, OCPIError, ServerError
from gateway.limiter import FailureLimiter
from gateway.readiness import Replica
from gateway.registration import Registry
from gateway.services import Services
from gateway.transport import Authenticator, RequestIds, TrailingSlashes, error_response
from sidecar.errors import InvalidField, MalformedJson
from sidecar.settings import Settings
from sidecar.store.engine import DATABASE_ERRORS, Database, unavailable
from sidecar.store.outbox import Wakeup

log = logging.getLogger("ocpi_sidecar.gateway")

ADMIN = "/admin"


def ocpi_routes() -> list[BaseRoute]:
    """Every route partners reach."""
    ocpi = "/ocpi/cpo/2.2.1"
    return [
        Route("/ocpi/versions", versions.get_versions, methods=["GET"]),
        Route(ocpi, versions.get_version_details, methods=["GET"]),
        Route(f"{ocpi}/credentials", credentials.get_credentials, methods=["GET"]),
        Route(f"{ocpi}/credentials", credentials.post_credentials, methods=["POST"]),
        Route(f"{ocpi}/credentials", credentials.put_credentials, methods=["PUT"]),
        Route(f"{ocpi}/credentials", credentials.delete_credentials, methods=["DELETE"]),
        Route(f"{ocpi}/locations", locations.get_locations, methods=["GET"]),
        Route(f"{ocpi}/locations/{{location_id}}", locations.get_location, methods=["GET"]),
        Route(f"{ocpi}/locations/{{location_id}}/{{evse_uid}}", locations.get_evse,
              methods=["GET"]),
        Route(f"{ocpi}/locations/{{location_id}}/{{evse_uid}}/{{connector_id}}",
              locations.get_connector, methods=["GET"]),
        Route(f"{ocpi}/tariffs", tariffs.get_tariffs, methods=["GET"]),
        Route(f"{ocpi}/sessions", sessions.get_sessions, methods=["GET"]),
        Route(f"{ocpi}/sessions/{{session_id}}/charging_preferences",
              sessions.put_charging_preferences, methods=["PUT"]),
        Route(f"{ocpi}/cdrs", cdrs.get_cdrs, methods=["GET"]),
        # Receiver interfaces: Tokens, Commands, ChargingProfiles; the token cache refresh.
        Route(f"{ocpi}/tokens/{{country_code}}/{{party_id}}/{{uid}}", tokens.get_token,
              methods=["GET"]),
        Route(f"{ocpi}/tokens/{{country_code}}/{{party_id}}/{{uid}}", tokens.put_token,
              methods=["PUT"]),
        Route(f"{ocpi}/tokens/{{country_code}}/{{party_id}}/{{uid}}", tokens.patch_token,
              methods=["PATCH"]),
        Route(f"{ocpi}/commands/{{command}}", commands.post_command, methods=["POST"]),
        Route(f"{ocpi}/chargingprofiles/{{session_id}}", charging_profiles.get_active_profile,
              methods=["GET"]),
        Route(f"{ocpi}/chargingprofiles/{{session_id}}", charging_profiles.put_profile,
              methods=["PUT"]),
        Route(f"{ocpi}/chargingprofiles/{{session_id}}", charging_profiles.delete_profile,
              methods=["DELETE"]),
        Route(f"{ocpi}/hubclientinfo/{{country_code}}/{{party_id}}",
              hubclientinfo.get_client_info, methods=["GET"]),
        Route(f"{ocpi}/hubclientinfo/{{country_code}}/{{party_id}}",
              hubclientinfo.put_client_info, methods=["PUT"]),
    ]


def admin_routes() -> list[BaseRoute]:
    """Every route of the operator's listener: the admin API, metrics and health."""
    return [
        Route("/healthz", readiness.get_healthz, methods=["GET"]),
        Route("/readyz", readiness.get_readyz, methods=["GET"]),
        Route("/metrics", readiness.get_metrics, methods=["GET"]),
        Route("/openapi.json", openapi.endpoint(ocpi_routes, admin_routes), methods=["GET"]),
        Route(f"{ADMIN}/partners/{{partner_id}}/tokens/refresh", tokens.refresh_tokens,
              methods=["POST"]),
        Route(f"{ADMIN}/partners/{{partner_id}}/hubclientinfo/refresh",
              hubclientinfo.refresh_clients, methods=["POST"]),
        Route(f"{ADMIN}/credentials-token-a", admin.create_token_a, methods=["POST"]),
        Route(f"{ADMIN}/partners", admin.list_all_partners, methods=["GET"]),
        Route(f"{ADMIN}/partners", admin.register_partner, methods=["POST"]),
        Route(f"{ADMIN}/partners/{{partner_id}}", admin.show_partner, methods=["GET"]),
        Route(f"{ADMIN}/partners/{{partner_id}}", admin.unregister_partner, methods=["DELETE"]),
        Route(f"{ADMIN}/partners/{{partner_id}}", admin.change_partner, methods=["PATCH"]),
        Route(f"{ADMIN}/partners/{{partner_id}}/rotate", admin.rotate_partner, methods=["POST"]),
        Route(f"{ADMIN}/partners/{{partner_id}}/push-status", admin.push_status,
              methods=["GET"]),
        Route(f"{ADMIN}/locations/{{location_id}}/publish", admin.publish_location,
              methods=["POST"]),
        Route(f"{ADMIN}/locations/{{location_id}}/unpublish", admin.unpublish_location,
              methods=["POST"]),
        Route(f"{ADMIN}/push", admin.push_now, methods=["POST"]),
        Route(f"{ADMIN}/cdrs/{{cdr_id}}/credit", cdr_admin.credit_cdr, methods=["POST"]),
        Route(f"{ADMIN}/parties", admin.list_our_parties, methods=["GET"]),
        Route(f"{ADMIN}/parties/{{country_code}}/{{party_id}}", admin.put_party,
              methods=["PUT"]),
        # The operator console (HTML) at /admin/ui, over the same actions.
        *console_routes(),
    ]


_RETRY = {"Retry-After": "1"}


async def _ocpi_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, OCPIError)
    return error_response(error)


def _on_admin(request: Request) -> bool:
    return bool(request.app.state.admin)


async def _invalid_field(request: Request, error: Exception) -> Response:
    assert isinstance(error, InvalidField)
    if _on_admin(request):
        return admin_error_response(AdminError(400, error.reason, error.path))
    rendered = InvalidParameters(error.reason, field=error.path,
                                 http_status=400 if isinstance(error, MalformedJson) else None)
    return error_response(rendered)


async def _admin_error(_request: Request, error: Exception) -> Response:
    assert isinstance(error, AdminError)
    return admin_error_response(error)


def _allowed(request: Request) -> list[str]:
    """Every method the path has. Each route holds one method, and Starlette's 405 names only
    those of the first route on the path, where RFC 9110 wants them all."""
    methods: set[str] = set()
    for route in request.app.router.routes:
        if isinstance(route, Route) and route.matches(request.scope)[0] != Match.NONE:
            methods |= route.methods or set()
    return sorted(methods)


async def _http_error(request: Request, error: Exception) -> Response:
    assert isinstance(error, HTTPException)
    allow = _allowed(request) if error.status_code == 405 else []
    if _on_admin(request):
        return admin_error_response(AdminError(
            error.status_code, str(error.detail),
            headers={"Allow": ", ".join(allow)} if allow else None))
    if error.status_code == 405:
        return error_response(MethodNotAllowed(f"{request.method} is not allowed here",
                                               allow=allow))
    if error.status_code == 404:
        return error_response(NotFound(f"no OCPI endpoint at {request.url.path}"))
    rendered = OCPIError(str(error.detail), http_status=error.status_code)
    return error_response(rendered)


# Request heads up to HEADER_LIMIT bytes are ours to judge, so that an OCPI partner whose
# headers are too large gets an OCPI envelope saying so (431), not Hypercorn's bare answer.
# Hypercorn's own cap on a request head (h11) is set above it, at SERVER_HEAD_LIMIT; a
# larger head is refused by Hypercorn before any path is known, with its bodiless 431.
HEADER_LIMIT = 16 * 1024
SERVER_HEAD_LIMIT = 64 * 1024
# The largest request body taken (413 above it). What partners and operators send us is a
# token, a command, a charging profile, credentials: kilobytes. Hypercorn has no cap.
BODY_LIMIT = 1024 * 1024
DRAIN_LIMIT = 16 * BODY_LIMIT


def server_config() -> Config:
    """Hypercorn's configuration for our HTTP side (the listener is bound by the caller)."""
    config = Config()
    config.h11_max_incomplete_size = SERVER_HEAD_LIMIT
    config.accesslog = None
    return config


class _BodyTooLarge(HTTPException):
    def __init__(self) -> None:
        super().__init__(413, f"request body exceeds {BODY_LIMIT} bytes")


class RequestLimits:
    """ASGI middleware for the request's size: a head over HEADER_LIMIT bytes is answered
    431, a body over BODY_LIMIT 413, and what is left unread of a body is read (and dropped)
    before the answer starts, up to DRAIN_LIMIT bytes.

    Hypercorn closes a connection whose request was not read to its end, and a socket closed
    with unread bytes is reset by the kernel: the client loses the answer it was reading, or
    the next request on its kept-alive connection. Routes answer before reading a body
    whenever they refuse early (a 401 on a POST, a 413) or take none (a GET that carries
    one). Past DRAIN_LIMIT the answer goes out with `Connection: close` and the client may
    see that reset: a body that size is no partner's."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        size, declared, chunked = 0, b"", False
        for name, value in scope["headers"]:
            size += len(name) + len(value) + 4
            if name == b"content-length":
                declared = value
            elif name == b"transfer-encoding":
                chunked = True
        bodiless = not chunked and declared in (b"", b"0")
        if bodiless and size <= HEADER_LIMIT:
            # Every GET of a well-behaved client: nothing to count or drain.
            await self.app(scope, receive, send)
            return
        received, finished = 0, bodiless

        async def counted() -> Message:
            nonlocal received, finished
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                finished = not message.get("more_body", False)
            else:
                finished = True
            return message

        async def taken() -> Message:
            message = await counted()
            if received > BODY_LIMIT:
                raise _BodyTooLarge()
            return message

        async def drained_first(message: Message) -> None:
            if not finished and message["type"] == "http.response.start":
                while not finished and received <= DRAIN_LIMIT:
                    await counted()
                if not finished:
                    message["headers"] = [*message.get("headers", ()),
                                          (b"connection", b"close")]
            await send(message)

        if size > HEADER_LIMIT:
            refused: HTTPException | None = HTTPException(
                431, f"request headers exceed {HEADER_LIMIT} bytes")
        elif not chunked and int(declared) > BODY_LIMIT:
            # h11 took the header only as digits.
            refused = _BodyTooLarge()
        else:
            refused = None
        if refused is not None:
            response = await _http_error(Request(scope), refused)
            await response(scope, receive, drained_first)
            return
        await self.app(scope, taken, drained_first)


async def _unexpected(request: Request, error: Exception) -> Response:
    if unavailable(error):
        # Nothing was done (or the write rolled back): the client may simply retry.
        log.warning("%s %s: the database is unavailable (%s)", request.method,
                    request.url.path, type(error).__name__)
        message = "the database is unavailable; retry shortly"
        if _on_admin(request):
            return admin_error_response(AdminError(503, message, headers=_RETRY))
        rendered = ServerError(message, http_status=503)
        rendered.headers.update(_RETRY)
        return error_response(rendered)
    log.error("unhandled error on %s %s (X-Request-ID %s): %s", request.method,
              request.url.path, request.state.request_id, type(error).__name__, exc_info=error)
    rendered = ServerError(f"internal error, X-Request-ID {request.state.request_id}",
                           http_status=500)
    if _on_admin(request):
        return admin_error_response(AdminError(500, rendered.message))
    return error_response(rendered)


@dataclass(frozen=True)
class Apps:
    """The two HTTP apps of one gateway, over the same Services."""

    # Partners' listener (`--http`): OCPI only.
    ocpi: Starlette
    # The operator's listener (`--admin`): admin API, metrics, health.
    admin: Starlette
    services: Services


def _app(routes: list[BaseRoute], services: Services, *, admin: bool) -> Starlette:
    app = Starlette(
        routes=routes,
        # AccessLog outermost: it sees every answer, the request ids and the matched route.
        middleware=[Middleware(AccessLog, listener="admin" if admin else "ocpi"),
                    Middleware(RequestIds), Middleware(RequestLimits), Middleware(TrailingSlashes)],
        exception_handlers={
            OCPIError: _ocpi_error,
            InvalidField: _invalid_field,
            AdminError: _admin_error,
            HTTPException: _http_error,
            # Errors of the database's reach, handled inside the app (a bare Exception
            # handler runs outermost, and the server then logs a traceback per request).
            **dict.fromkeys(DATABASE_ERRORS, _unexpected),
            Exception: _unexpected,
        },
    )
    # TrailingSlashes answers both forms; a redirect would be lost on many partner clients.
    app.router.redirect_slashes = False
    app.state.services = services
    app.state.admin = admin
    return app


def create_apps(
    settings: Settings,
    database: Database,
    client: OCPIClient,
    wakeup: Wakeup | None = None,
    auth: Authenticator | None = None,
    replica: Replica | None = None,
) -> Apps:
    """The OCPI app and the admin app over the given database and outbound client."""
    auth = auth or Authenticator(database, limiter=FailureLimiter(
        limit=settings.auth_failure_limit, window=settings.auth_failure_window))
    services = Services(
        settings=settings,
        database=database,
        client=client,
        auth=auth,
        registry=Registry(settings, database, client),
        wakeup=wakeup or Wakeup(),
        # Generations are exact while every change is heard (always on SQLite; on
        # PostgreSQL while the listener is connected); else entries expire after a second.
        cache=ReadCache(database, max_bytes=settings.read_cache_mb * MIB, ttl=1.0),
        replica=replica,
    )
    services.registry.on_registered = lambda partner: hubclientinfo.refresh_quietly(
        services, partner)
    return Apps(ocpi=_app(ocpi_routes(), services, admin=False),
                admin=_app(admin_routes(), services, admin=True), services=services)
