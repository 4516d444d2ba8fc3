"""The OpenAPI 3.1 document of both listeners, generated from the routes and the models.

Paths, methods and path parameters come from the routes; request and response schemas from
the msgspec models (JSON Schema 2020-12, which OpenAPI 3.1 uses as it is). OPERATIONS says
what neither can: a summary, the models a route takes and returns, its query parameters, its
security scheme. A route without an entry there fails the document, so none is forgotten.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib.metadata import version
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gateway.admin import PartnerChange, PartyRequest, PushRequest, RegisterRequest, TokenARequest
from gateway.cdr_admin import CreditRequest
from gateway.charging_profiles import MAX_DURATION
from gateway.console.sessions import COOKIE
from gateway.hubclientinfo import ClientInfo
from gateway.pagination import MAX_NUMBER
from gateway.services import services_of
from gateway.tokens import RefreshRequest
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.charging_profiles import ChargingProfileResponse, SetChargingProfile
from sidecar.ocpi.commands import (
    CancelReservation,
    CommandResponse,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from sidecar.ocpi.credentials import Credentials
from sidecar.ocpi.enums import ChargingPreferencesResponse, CommandType, TokenType
from sidecar.ocpi.envelope import Response as Envelope
from sidecar.ocpi.locations import EVSE, Connector, Location
from sidecar.ocpi.patch import partial_type
from sidecar.ocpi.sessions import ChargingPreferences, Session
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.tokens import Token
from sidecar.ocpi.types import CiString2, CiString3, CiString36
from sidecar.ocpi.versions import Version, VersionDetails

JSON = "application/json"
OCPI = "/ocpi/cpo/2.2.1"
ADMIN = "/admin"
UI = "/admin/ui"
HTML = "text/html"
REF = "#/components/schemas/{name}"


class AdminProblem(msgspec.Struct, frozen=True):
    """What a failed admin request answers."""

    error: str
    field: str | None = None


@dataclass(frozen=True)
class Ocpi:
    """An OCPI route: `data` is the type in the envelope's `data` on success (None: none)."""

    summary: str
    data: Any = None
    body: Any = None
    query: tuple[str, ...] = ()
    # Paginated list GET: offset, limit, date_from, date_to; X-Total-Count, X-Limit, Link.
    paged: bool = False
    # A registration token (token A) opens it, not only a registered partner's token.
    registration: bool = False
    # PUT of a Receiver object: 201 when it is new.
    creates: bool = False


@dataclass(frozen=True)
class Admin:
    """A route of the admin listener: `answer` is the JSON Schema of its success body."""

    summary: str
    answer: dict[str, Any]
    status: int = 200
    body: Any = None
    body_required: bool = True
    query: tuple[str, ...] = ()
    key: bool = True
    media_type: str = JSON
    # It calls the partner: 502 when the partner fails or cannot be reached.
    calls_partner: bool = False


@dataclass(frozen=True)
class Page:
    """A console route (HTML, the session cookie): a page, or a form `action` (CSRF token),
    with the form's other fields; `public`: the log-in pages, open without a session."""

    summary: str
    form: tuple[str, ...] = ()
    action: bool = False
    public: bool = False


OBJECT: dict[str, Any] = {"type": "object"}
ARRAY: dict[str, Any] = {"type": "array", "items": OBJECT}
STRINGS: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
READY: dict[str, Any] = {
    "type": "object", "required": ["ready", "status", "database"],
    "properties": {"ready": {"type": "boolean"}, "status": {"type": "string"},
                   "database": {"enum": ["ok", "unavailable"]},
                   "change_notes": {"type": "string"}, "heartbeat": {"type": "string"},
                   "push_worker": {"type": "string"},
                   "replicas_alive": {"type": ["integer", "null"]}}}

CREDITED: dict[str, Any] = {
    "type": "object", "required": ["credit_cdr_id", "corrected_cdr_id"],
    "properties": {"credit_cdr_id": {"type": "string"},
                   "corrected_cdr_id": {"type": ["string", "null"]}}}

# What routes cannot tell, one entry per "METHOD path" of ocpi_routes() and admin_routes().
OPERATIONS: dict[str, Ocpi | Admin | Page] = {
    "GET /ocpi/versions": Ocpi("Versions we support", list[Version], registration=True),
    f"GET {OCPI}": Ocpi("Our 2.2.1 endpoints", VersionDetails, registration=True),
    f"GET {OCPI}/credentials": Ocpi("Our credentials for the caller", Credentials),
    f"POST {OCPI}/credentials": Ocpi("Register (with token A); answers token C", Credentials,
                                     Credentials, registration=True),
    f"PUT {OCPI}/credentials": Ocpi("Update the registration; answers a new token C",
                                    Credentials, Credentials),
    f"DELETE {OCPI}/credentials": Ocpi("Unregister: the caller's token stops working"),
    f"GET {OCPI}/locations": Ocpi("Locations the caller may see", list[Location], paged=True),
    f"GET {OCPI}/locations/{{location_id}}": Ocpi("One location", Location),
    f"GET {OCPI}/locations/{{location_id}}/{{evse_uid}}": Ocpi("One EVSE", EVSE),
    f"GET {OCPI}/locations/{{location_id}}/{{evse_uid}}/{{connector_id}}": Ocpi(
        "One connector", Connector),
    f"GET {OCPI}/tariffs": Ocpi("Our tariffs", list[Tariff], paged=True),
    f"GET {OCPI}/sessions": Ocpi("The caller's sessions", list[Session], paged=True),
    f"PUT {OCPI}/sessions/{{session_id}}/charging_preferences": Ocpi(
        "Charging preferences of a session", ChargingPreferencesResponse,
        ChargingPreferences),
    f"GET {OCPI}/cdrs": Ocpi("The caller's CDRs", list[CDR], paged=True),
    f"GET {OCPI}/tokens/{{country_code}}/{{party_id}}/{{uid}}": Ocpi(
        "A token of the caller, as we hold it", Token, query=("type",)),
    f"PUT {OCPI}/tokens/{{country_code}}/{{party_id}}/{{uid}}": Ocpi(
        "Store or replace a token", None, Token, query=("type",), creates=True),
    f"PATCH {OCPI}/tokens/{{country_code}}/{{party_id}}/{{uid}}": Ocpi(
        "Change some fields of a token", None, partial_type(Token), query=("type",)),
    f"POST {OCPI}/commands/{{command}}": Ocpi("Send a command to a charger", CommandResponse,
                                              {"$ref": REF.format(name="CommandRequest")}),
    f"GET {OCPI}/chargingprofiles/{{session_id}}": Ocpi(
        "Ask for the active charging profile (result to response_url)",
        ChargingProfileResponse, query=("duration", "response_url")),
    f"PUT {OCPI}/chargingprofiles/{{session_id}}": Ocpi(
        "Set a charging profile (result to response_url)", ChargingProfileResponse,
        SetChargingProfile),
    f"DELETE {OCPI}/chargingprofiles/{{session_id}}": Ocpi(
        "Clear the charging profile (result to response_url)", ChargingProfileResponse,
        query=("response_url",)),
    f"GET {OCPI}/hubclientinfo/{{country_code}}/{{party_id}}": Ocpi(
        "What the calling hub last reported of a party", ClientInfo),
    f"PUT {OCPI}/hubclientinfo/{{country_code}}/{{party_id}}": Ocpi(
        "A hub reports a party's connection status", None, ClientInfo),
    "GET /healthz": Admin("The process is alive", {
        "type": "object", "required": ["alive"], "properties": {"alive": {"const": True}}},
        key=False),
    "GET /readyz": Admin("200 when this replica can work, 503 when not", READY, key=False),
    "GET /metrics": Admin("Prometheus metrics", {"type": "string"}, media_type="text/plain"),
    "GET /openapi.json": Admin("This document", OBJECT, key=False),
    f"POST {ADMIN}/partners/{{partner_id}}/tokens/refresh": Admin(
        "Pull the partner's Tokens list into our cache", OBJECT, body=RefreshRequest,
        body_required=False, calls_partner=True),
    f"POST {ADMIN}/partners/{{partner_id}}/hubclientinfo/refresh": Admin(
        "Pull the hub's ClientInfo list", {
            "type": "object", "required": ["claimed", "refused", "released"],
            "properties": {"claimed": STRINGS, "refused": STRINGS, "released": STRINGS}},
        calls_partner=True),
    f"POST {ADMIN}/credentials-token-a": Admin(
        "A new registration token (token A) and our versions URL", {
            "type": "object", "required": ["token", "versions_url", "token_base64"],
            "properties": {"token": {"type": "string"}, "versions_url": {"type": "string"},
                           "token_base64": {"type": "boolean"}}},
        status=201, body=TokenARequest, body_required=False),
    f"GET {ADMIN}/partners": Admin("Every partner, registered or not", ARRAY),
    f"POST {ADMIN}/partners": Admin("Register with an eMSP using its token A", OBJECT,
                                    status=201, body=RegisterRequest, calls_partner=True),
    f"GET {ADMIN}/partners/{{partner_id}}": Admin("One partner", OBJECT),
    f"DELETE {ADMIN}/partners/{{partner_id}}": Admin("Unregister a partner", OBJECT),
    f"PATCH {ADMIN}/partners/{{partner_id}}": Admin("Change how we call a partner", OBJECT,
                                                   body=PartnerChange),
    f"POST {ADMIN}/partners/{{partner_id}}/rotate": Admin(
        "Update credentials: new tokens both ways", OBJECT, calls_partner=True),
    f"GET {ADMIN}/partners/{{partner_id}}/push-status": Admin(
        "Pending pushes, failures, last success", OBJECT),
    f"POST {ADMIN}/locations/{{location_id}}/publish": Admin(
        "Publish a location to every partner", OBJECT, query=("country_code", "party_id")),
    f"POST {ADMIN}/locations/{{location_id}}/unpublish": Admin(
        "Stop publishing a location", OBJECT, query=("country_code", "party_id")),
    f"POST {ADMIN}/push": Admin("Push objects to partners now", OBJECT, status=202,
                                body=PushRequest),
    f"POST {ADMIN}/cdrs/{{cdr_id}}/credit": Admin(
        "Credit a CDR (and issue a corrected one)", CREDITED, status=201, body=CreditRequest,
        body_required=False),
    f"GET {ADMIN}/parties": Admin("Our CPO parties", ARRAY),
    f"PUT {ADMIN}/parties/{{country_code}}/{{party_id}}": Admin(
        "Add a CPO party or change its details", OBJECT, body=PartyRequest),
    f"GET {UI}": Page("The console: to the partners page, or to log in"),
    f"GET {UI}/login": Page("The log-in form", public=True),
    f"POST {UI}/login": Page("Log in with the admin key; sets the session cookie",
                             form=("key",), public=True),
    f"POST {UI}/logout": Page("Log out", action=True),
    f"GET {UI}/partners": Page("Partners"),
    f"POST {UI}/partners": Page("Register with an eMSP", form=("versions_url", "token",
                                                              "plain"), action=True),
    f"POST {UI}/token-a": Page("A new registration token (token A)", form=("plain",),
                               action=True),
    f"GET {UI}/partners/{{partner_id}}": Page("One partner"),
    f"POST {UI}/partners/{{partner_id}}/rotate": Page("Update a partner's credentials",
                                                     action=True),
    f"GET {UI}/partners/{{partner_id}}/unregister": Page("Confirm unregistering a partner"),
    f"POST {UI}/partners/{{partner_id}}/unregister": Page("Unregister a partner", action=True),
    f"POST {UI}/partners/{{partner_id}}/push": Page("Push a module to a partner now",
                                                   form=("module",), action=True),
    f"GET {UI}/locations": Page("Locations"),
    f"POST {UI}/locations/publish": Page("Publish a location", action=True,
                                         form=("id", "country_code", "party_id")),
    f"POST {UI}/locations/unpublish": Page("Stop publishing a location", action=True,
                                           form=("id", "country_code", "party_id")),
    f"POST {UI}/locations/push": Page("Push a location to partners now", action=True,
                                      form=("id", "country_code", "party_id")),
    f"GET {UI}/sessions": Page("Charging sessions"),
    f"GET {UI}/commands": Page("Commands"),
}

# URLs a partner gives us to call, as gateway/urls.py takes them: absolute http(s), a host,
# printable ASCII. msgspec knows them only as strings of at most 255 characters.
PARTNER_URL = {"type": "string", "maxLength": 255,
               "pattern": r"^https?://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?(/[!-~]*)?$"}
PARTNER_URLS = {("Credentials", "url"), ("RegisterRequest", "versions_url"),
                *((name, "response_url") for name in (
                    "CancelReservation", "ReserveNow", "StartSession", "StopSession",
                    "UnlockConnector", "SetChargingProfile"))}
_NUMBER = {"type": "integer", "minimum": 0, "maximum": MAX_NUMBER}
_DATE_TIME = {"type": "string", "format": "date-time"}
# Query parameters by name: (schema, required).
QUERY: dict[str, tuple[Any, bool]] = {
    "offset": (_NUMBER, False), "limit": (_NUMBER, False),
    "date_from": (_DATE_TIME, False), "date_to": (_DATE_TIME, False),
    "type": (TokenType, False),
    "duration": ({"type": "integer", "minimum": 0, "maximum": MAX_DURATION}, True),
    "response_url": (PARTNER_URL, True),
    "country_code": (CiString2, False), "party_id": (CiString3, False),
}
# Path parameters by name; any other is a plain string.
PATH: dict[str, Any] = {
    "country_code": CiString2, "party_id": CiString3, "uid": CiString36,
    "location_id": CiString36, "evse_uid": CiString36, "connector_id": CiString36,
    "session_id": CiString36, "command": CommandType,
    "partner_id": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1},
}
_ROUTING = ["OCPI-from-country-code", "OCPI-from-party-id", "OCPI-to-country-code",
            "OCPI-to-party-id"]
_PAGE_HEADERS = {
    "X-Total-Count": {"schema": {"type": "integer"}},
    "X-Limit": {"schema": {"type": "integer"}},
    "Link": {"schema": {"type": "string"}, "description": 'the next page: rel="next"'},
}
_COMMANDS = [CancelReservation, ReserveNow, StartSession, StopSession, UnlockConnector]


def operations(routes: list[BaseRoute]) -> Iterator[tuple[str, str, Route]]:
    """(method, path, route) of every route, HEAD left out (Starlette adds it to GETs)."""
    for route in routes:
        assert isinstance(route, Route), route
        for method in sorted(route.methods or ()):
            if method != "HEAD":
                yield method, route.path, route


class _Schemas:
    """Collects the msgspec types used, then resolves them to JSON Schema at once."""

    def __init__(self) -> None:
        self.types: list[Any] = []

    def __call__(self, value: Any) -> dict[str, Any]:
        """A JSON Schema, or a placeholder for a type, filled in by `resolve`."""
        if isinstance(value, dict):
            return value
        self.types.append(value)
        return {"x-type": len(self.types) - 1}

    def resolve(self, document: dict[str, Any]) -> None:
        extra = [Envelope[Any], AdminProblem, *_COMMANDS]
        schemas, components = msgspec.json.schema_components(
            [*self.types, *extra], ref_template=REF)
        components["Envelope"] = components.pop("Response_Any_")
        components["CommandRequest"] = {
            "description": "The body of the command named in the path.",
            "anyOf": [{"$ref": REF.format(name=t.__name__)} for t in _COMMANDS]}
        document["paths"] = _numbers(_fill(document["paths"], schemas))
        for name, field in PARTNER_URLS:
            components[name]["properties"][field] = PARTNER_URL
        document["components"]["schemas"] = _numbers(components)


def _fill(node: Any, schemas: Sequence[Any]) -> Any:
    """`node` with each placeholder replaced by its type's schema."""
    if isinstance(node, dict):
        if set(node) == {"x-type"}:
            return copy.deepcopy(schemas[node["x-type"]])
        return {key: _fill(value, schemas) for key, value in node.items()}
    if isinstance(node, list):
        return [_fill(item, schemas) for item in node]
    return node


def _numbers(node: Any) -> Any:
    """Decimals as JSON numbers: what the codec writes (msgspec describes them as strings)."""
    if isinstance(node, dict):
        if node.get("format") == "decimal":
            return {"type": "number"}
        return {key: _numbers(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_numbers(item) for item in node]
    return node


def _envelope(schemas: _Schemas, data: Any) -> dict[str, Any]:
    data_schema = {"type": "null"} if data is None else {
        "anyOf": [schemas(data), {"type": "null"}]}
    return {"allOf": [{"$ref": REF.format(name="Envelope")},
                      {"properties": {"data": data_schema}}]}


def _content(schema: dict[str, Any], media_type: str = JSON) -> dict[str, Any]:
    return {media_type: {"schema": schema}}


def _parameters(route: Route, names: tuple[str, ...], schemas: _Schemas,
                headers: list[str]) -> list[dict[str, Any]]:
    found = [{"name": name, "in": "path", "required": True,
              "schema": schemas(PATH.get(name, {"type": "string"}))}
             for name in route.param_convertors]
    for name in names:
        schema, required = QUERY[name]
        found.append({"name": name, "in": "query", "required": required,
                      "schema": schemas(schema)})
    found += [{"name": name, "in": "header", "required": False,
               "schema": schemas(CiString3 if name.endswith("party-id") else CiString2)}
              for name in headers]
    return found


def _ocpi(method: str, path: str, route: Route, op: Ocpi, schemas: _Schemas) -> dict[str, Any]:
    error = _content(_envelope(schemas, None))
    ok: dict[str, Any] = {"description": "OCPI envelope; status_code 1000 on success, 2xxx "
                          "when the request could not be done",
                          "content": _content(_envelope(schemas, op.data))}
    if op.paged:
        ok["headers"] = _PAGE_HEADERS
    responses: dict[str, Any] = {"200": ok}
    if op.creates:
        responses["201"] = {"description": "created", "content": ok["content"]}
    responses["4XX"] = {"description": "OCPI envelope: 2001 for a bad request (400) or an "
                        "unknown object (404), 401 without a valid token, 405, 429",
                        "content": error}
    responses["5XX"] = {"description": "OCPI envelope, 3000", "content": error}
    query = (*op.query, *(("offset", "limit", "date_from", "date_to") if op.paged else ()))
    routed = not op.registration and "/credentials" not in path
    operation: dict[str, Any] = {
        "summary": op.summary, "tags": ["OCPI"],
        "operationId": _operation_id(method, path),
        "parameters": _parameters(route, query, schemas, _ROUTING if routed else []),
        "security": [{"ocpiToken": []}], "responses": responses}
    if op.body is not None:
        operation["requestBody"] = {"required": True, "content": _content(schemas(op.body))}
    return operation


def _admin(method: str, path: str, route: Route, op: Admin,
           schemas: _Schemas) -> dict[str, Any]:
    problem = _content(schemas(AdminProblem))
    responses: dict[str, Any] = {str(op.status): {
        "description": "success", "content": _content(op.answer, op.media_type)}}
    if path == "/readyz":
        responses["503"] = {"description": "not ready", "content": _content(READY)}
    else:
        responses["5XX"] = {"description": "server error", "content": problem}
    if op.calls_partner:
        responses["502"] = {"description": "the partner failed or could not be reached",
                            "content": problem}
    responses["4XX"] = {"description": "error", "content": problem}
    operation: dict[str, Any] = {
        "summary": op.summary, "tags": ["admin" if path.startswith(ADMIN) else "operations"],
        "operationId": _operation_id(method, path),
        "parameters": _parameters(route, op.query, schemas, []), "responses": responses,
        "security": [{"adminKey": []}] if op.key else []}
    if op.body is not None:
        operation["requestBody"] = {"required": op.body_required,
                                    "content": _content(schemas(op.body))}
    return operation


def _page(method: str, path: str, route: Route, op: Page, schemas: _Schemas) -> dict[str, Any]:
    html = {"description": "an HTML page", "content": _content({"type": "string"}, HTML)}
    responses: dict[str, Any] = {
        "200": html,
        "303": {"description": "to the next page, or to log in without a session",
                "headers": {"Location": {"schema": {"type": "string"}}}},
        "4XX": {"description": "the page saying what was wrong", "content": html["content"]},
        "5XX": {"description": "server error", "content": _content(schemas(AdminProblem))}}
    if path == f"{UI}/token-a":
        responses["201"] = {"description": "the new token, shown once", **html}
    operation: dict[str, Any] = {
        "summary": op.summary, "tags": ["console"],
        "operationId": _operation_id(method, path),
        "parameters": _parameters(route, (), schemas, []), "responses": responses,
        "security": [] if op.public else [{"consoleSession": []}]}
    fields = (*op.form, *(("csrf",) if op.action else ()))
    if fields:
        required = [f for f in fields if f in ("key", "csrf")]
        operation["requestBody"] = {"required": True, "content": {
            "application/x-www-form-urlencoded": {"schema": {
                "type": "object", "required": required,
                "properties": {f: {"type": "string"} for f in fields}}}}}
    return operation


def _operation_id(method: str, path: str) -> str:
    words = [w.strip("{}") for w in path.split("/") if w and w not in ("ocpi", "cpo", "2.2.1")]
    return "_".join([method.lower(), *words]).replace("-", "_").replace(".", "_")


def missing(ocpi: list[BaseRoute], admin: list[BaseRoute]) -> list[str]:
    """Routes without an entry in OPERATIONS, and entries without a route."""
    served = {f"{m} {p}" for m, p, _ in (*operations(ocpi), *operations(admin))}
    return sorted(served ^ set(OPERATIONS))


def document(ocpi: list[BaseRoute], admin: list[BaseRoute], ocpi_url: str,
             admin_url: str) -> dict[str, Any]:
    """The OpenAPI document of the two listeners (their base URLs as each path's server)."""
    if missing(ocpi, admin):
        raise LookupError(f"routes and OPERATIONS differ: {missing(ocpi, admin)}")
    schemas = _Schemas()
    paths: dict[str, Any] = {}
    for routes, url in ((ocpi, ocpi_url), (admin, admin_url)):
        for method, path, route in operations(routes):
            op = OPERATIONS[f"{method} {path}"]
            item = paths.setdefault(path, {"servers": [{"url": url}]})
            if isinstance(op, Ocpi):
                item[method.lower()] = _ocpi(method, path, route, op, schemas)
            elif isinstance(op, Admin):
                item[method.lower()] = _admin(method, path, route, op, schemas)
            else:
                item[method.lower()] = _page(method, path, route, op, schemas)
    spec: dict[str, Any] = {
        "openapi": "3.1.0",
        "info": {"title": "ocpi-sidecar", "version": version("ocpi-sidecar"),
                 "description": "OCPI 2.2.1 CPO interfaces (partners' listener) and the "
                 "admin API, metrics and health (the operator's listener)."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": ocpi_url}],
        "paths": paths,
        "components": {"securitySchemes": {
            "ocpiToken": {"type": "apiKey", "in": "header", "name": "Authorization",
                          "description": "`Token <base64 of the credentials token>`"},
            "adminKey": {"type": "http", "scheme": "bearer",
                         "description": "the admin key (`--admin-key`)"},
            "consoleSession": {"type": "apiKey", "in": "cookie", "name": COOKIE,
                               "description": "the console's session, from its log-in"}}},
    }
    schemas.resolve(spec)
    return spec


def endpoint(ocpi: Callable[[], list[BaseRoute]],
             admin: Callable[[], list[BaseRoute]]) -> Callable[[Request], Any]:
    """GET /openapi.json over the given route lists, built once per pair of base URLs."""
    built: dict[tuple[str, str], bytes] = {}

    async def get_openapi(request: Request) -> Response:
        settings = services_of(request).settings
        urls = (settings.base_url, settings.admin_url)
        if urls not in built:
            built[urls] = codec.encode(document(ocpi(), admin(), *urls))
        return Response(built[urls], media_type=JSON)

    return get_openapi
