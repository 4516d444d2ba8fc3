"""Admin API under /admin/, for the operator; its own key: `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response

from gateway.client import PartnerError
from gateway.errors import OCPIError
from gateway.services import services_of
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.types import URL, BusinessDetails, CiString2, CiString3, Token, utc
from sidecar.store import partners as store
from sidecar.store.parties import list_parties, upsert_party


class AdminError(Exception):
    """An admin request failed; rendered as {"error": message, "field": field}."""

    def __init__(self, http_status: int, message: str, field: str | None = None) -> None:
        self.http_status = http_status
        self.message = message
        self.field = field
        super().__init__(message)


class RegisterRequest(msgspec.Struct, frozen=True):
    """POST /admin/partners: the partner's versions URL and the token A it gave us."""

    versions_url: URL
    token: Token
    token_base64: bool = True


class PartyRequest(msgspec.Struct, frozen=True):
    """PUT /admin/parties/{country_code}/{party_id}."""

    business_details: BusinessDetails


def admin_json(data: Any, status: int = 200) -> Response:
    """A plain JSON answer (the admin API does not use the OCPI envelope)."""
    return Response(codec.encode(data), status_code=status, media_type="application/json")


def admin_error_response(error: AdminError) -> Response:
    """The one rendering of an AdminError."""
    body: dict[str, Any] = {"error": error.message}
    if error.field:
        body["field"] = error.field
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else None
    return Response(codec.encode(body), status_code=error.http_status, headers=headers,
                    media_type="application/json")


def _check_key(request: Request) -> None:
    key = services_of(request).settings.admin_key
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    if key is None or scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), key.reveal().encode()
    ):
        raise AdminError(401, "missing or wrong admin key")


async def _body(request: Request, type_: type[Any]) -> Any:
    try:
        return codec.decode(await request.body(), type_)
    except InvalidField as error:
        raise AdminError(400, error.reason, error.path) from None


def partner_view(partner: store.Partner) -> dict[str, Any]:
    """A partner as the admin API shows it: never a token."""
    return {
        "id": partner.id,
        "status": partner.status,
        "versions_url": partner.versions_url,
        "version": partner.version,
        "roles": partner.roles,
        "endpoints": partner.endpoints,
        "token_base64": partner.outbound_token_base64,
        "created_at": utc(partner.created_at),
        "updated_at": utc(partner.updated_at),
    }


async def _partner(request: Request) -> store.Partner:
    try:
        partner_id = int(request.path_params["partner_id"])
    except ValueError:
        raise AdminError(404, "no such partner") from None
    async with services_of(request).database.read() as connection:
        partner = await store.get_partner(connection, partner_id)
    if partner is None:
        raise AdminError(404, "no such partner")
    return partner


def _partner_failure(error: Exception) -> AdminError:
    if isinstance(error, OCPIError) and error.http_status == 405:
        return AdminError(409, error.message)
    if isinstance(error, OCPIError | PartnerError):
        return AdminError(502, str(error))
    raise error


async def create_token_a(request: Request) -> Response:
    """POST /admin/credentials-token-a: a new registration token and our versions URL."""
    _check_key(request)
    services = services_of(request)
    async with services.database.write() as connection:
        token = await store.create_registration_token(connection)
    services.auth.forget()
    return admin_json({"token": token, "versions_url": services.settings.versions_url}, 201)


async def list_all_partners(request: Request) -> Response:
    """GET /admin/partners."""
    _check_key(request)
    async with services_of(request).database.read() as connection:
        found = await store.list_partners(connection)
    return admin_json([partner_view(p) for p in found])


async def show_partner(request: Request) -> Response:
    """GET /admin/partners/{id}."""
    _check_key(request)
    return admin_json(partner_view(await _partner(request)))


async def register_partner(request: Request) -> Response:
    """POST /admin/partners: register with an eMSP using its token A."""
    _check_key(request)
    wanted = await _body(request, RegisterRequest)
    try:
        partner = await services_of(request).registry.register(
            wanted.versions_url, wanted.token, token_base64=wanted.token_base64
        )
    except (OCPIError, PartnerError) as error:
        raise _partner_failure(error) from None
    return admin_json(partner_view(partner), 201)


async def rotate_partner(request: Request) -> Response:
    """POST /admin/partners/{id}/rotate: update credentials (new tokens both ways)."""
    _check_key(request)
    partner = await _partner(request)
    try:
        updated = await services_of(request).registry.rotate(partner)
    except (OCPIError, PartnerError) as error:
        raise _partner_failure(error) from None
    return admin_json(partner_view(updated))


async def unregister_partner(request: Request) -> Response:
    """DELETE /admin/partners/{id}: unregister (the partner is told when it can be reached)."""
    _check_key(request)
    partner = await _partner(request)
    try:
        problem = await services_of(request).registry.unregister(partner)
    except OCPIError as error:
        raise _partner_failure(error) from None
    return admin_json({"id": partner.id, "status": store.UNREGISTERED, "partner_error": problem})


async def list_our_parties(request: Request) -> Response:
    """GET /admin/parties: the CPO parties we operate."""
    _check_key(request)
    async with services_of(request).database.read() as connection:
        parties = await list_parties(connection)
    return admin_json([p.__dict__ for p in parties])


async def put_party(request: Request) -> Response:
    """PUT /admin/parties/{country_code}/{party_id}: add a CPO party or change its details."""
    _check_key(request)
    try:
        country_code = codec.convert(request.path_params["country_code"], CiString2)
        party_id = codec.convert(request.path_params["party_id"], CiString3)
    except InvalidField as error:
        raise AdminError(400, error.reason, "country_code/party_id") from None
    wanted = await _body(request, PartyRequest)
    services = services_of(request)
    async with services.database.write() as connection:
        await upsert_party(connection, country_code, party_id,
                           codec.to_builtins(wanted.business_details))
    return admin_json({"country_code": country_code.upper(), "party_id": party_id.upper(),
                       "business_details": wanted.business_details})
