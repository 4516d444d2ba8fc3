"""Admin API under /admin/, for the operator; its own key: `Authorization: Bearer <key>`."""

from __future__ import annotations

import hmac
from typing import Any, Literal, NamedTuple

import msgspec
from sqlalchemy import select
from starlette.requests import Request
from starlette.responses import Response

from gateway.client import PartnerError
from gateway.errors import NoCpoParty, OCPIError
from gateway.limiter import source_of
from gateway.registration import module_use
from gateway.services import Services, services_of
from gateway.urls import UnusableUrl, check_partner_url
from sidecar.domain import locations as domain_locations
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.types import URL, BusinessDetails, CiString2, CiString3, Token, utc
from sidecar.store import hubs, outbox, tables
from sidecar.store import partners as store
from sidecar.store.audience import location_audience, registered_partners
from sidecar.store.documents import id_is
from sidecar.store.parties import list_parties, upsert_party


class AdminError(Exception):
    """An admin request failed; rendered as {"error": message, "field": field}."""

    def __init__(self, http_status: int, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        self.http_status = http_status
        self.message = message
        self.field = field
        self.headers = headers or {}
        super().__init__(message)


class RegisterRequest(msgspec.Struct, frozen=True):
    """POST /admin/partners: the partner's versions URL and the token A it gave us."""

    versions_url: URL
    token: Token
    token_base64: bool = True


class TokenARequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """POST /admin/credentials-token-a (body optional): how the partner that registers with
    this token wants our token sent (false: unencoded, for an old peer)."""

    token_base64: bool = True


class PartnerChange(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """PATCH /admin/partners/{id}: what the operator may change on a partner."""

    token_base64: bool | msgspec.UnsetType = msgspec.UNSET


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
    headers = {"WWW-Authenticate": "Bearer"} if error.http_status == 401 else {}
    return Response(codec.encode(body), status_code=error.http_status,
                    headers={**headers, **error.headers}, media_type="application/json")


def check_key(request: Request) -> None:
    """The request's `Authorization: Bearer <admin key>`, else AdminError 401 (or 429)."""
    verify_key(services_of(request), source_of(request),
               request.headers.get("authorization", ""))


def verify_key(services: Services, source: str, header: str) -> None:
    """Check an Authorization header value against the admin key, counting failures per
    source in the one limiter (the console's login form comes here too, as "Bearer <key>")."""
    key = services.settings.admin_key
    limiter = services.auth.limiter
    wait = limiter.retry_after(source, header)
    if wait is not None:
        raise AdminError(429, f"too many failed authentications; retry after {wait} s",
                         headers={"Retry-After": str(wait)})
    scheme, _, presented = header.partition(" ")
    if key is None or scheme.lower() != "bearer" or not hmac.compare_digest(
        presented.strip().encode(), key.reveal().encode()
    ):
        limiter.failed(source, header)
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
        "roles": [role.as_json() for role in partner.roles],
        "endpoints": partner.endpoints,
        "modules": module_use(partner.endpoints),
        "token_base64": partner.outbound_token_base64,
        "created_at": utc(partner.created_at),
        "updated_at": utc(partner.updated_at),
    }


# Partner ids are SQL INTEGERs (32 bits on PostgreSQL): a larger number names no partner,
# and must not reach the database, where it is an overflow error instead of "not found".
_MAX_PARTNER_ID = 2**31 - 1


def partner_id_of(request: Request) -> int:
    """The `{partner_id}` of an admin path; 404 when it is not one a partner can have."""
    text = request.path_params["partner_id"]
    # str.isdigit() alone takes "²" and other non-ASCII digits, which int() refuses.
    if not (text.isascii() and text.isdigit() and len(text) <= 10
            and 0 < int(text) <= _MAX_PARTNER_ID):
        raise AdminError(404, "no such partner", "partner_id")
    return int(text)


async def _partner(request: Request) -> store.Partner:
    return await load_partner(services_of(request), partner_id_of(request))


async def load_partner(services: Services, partner_id: int) -> store.Partner:
    """The partner with this id, else AdminError 404."""
    async with services.database.read() as connection:
        partner = await store.get_partner(connection, partner_id)
    if partner is None:
        raise AdminError(404, "no such partner", "partner_id")
    return partner


def _partner_failure(error: Exception) -> AdminError:
    if isinstance(error, store.PartyHeld):
        # The operator may know both partners: name the one holding the party.
        return AdminError(409, f"the partner declares {error}", f"roles[{error.index}]")
    if isinstance(error, NoCpoParty):
        return AdminError(409, error.message)
    if isinstance(error, OCPIError) and error.http_status == 405:
        return AdminError(409, error.message)
    if isinstance(error, OCPIError | PartnerError):
        return AdminError(502, str(error))
    raise error


async def create_token_a(request: Request) -> Response:
    """POST /admin/credentials-token-a: a new registration token and our versions URL."""
    check_key(request)
    wanted = await _body(request, TokenARequest) if await request.body() else TokenARequest()
    return admin_json(await issue_token_a(services_of(request), wanted.token_base64), 201)


async def issue_token_a(services: Services, token_base64: bool) -> dict[str, Any]:
    """A new registration token A with our versions URL, for a partner to register with."""
    async with services.database.write() as connection:
        token = await store.create_registration_token(connection, token_base64=token_base64)
    return {"token": token, "versions_url": services.settings.versions_url,
            "token_base64": token_base64}


async def list_all_partners(request: Request) -> Response:
    """GET /admin/partners."""
    check_key(request)
    async with services_of(request).database.read() as connection:
        found = await store.list_partners(connection)
    return admin_json([partner_view(p) for p in found])


async def show_partner(request: Request) -> Response:
    """GET /admin/partners/{id}."""
    check_key(request)
    partner = await _partner(request)
    view = partner_view(partner)
    if partner.is_hub:
        # What the hub reports of the parties behind it: role, ConnectionStatus, and
        # whether it reaches them here.
        async with services_of(request).database.read() as connection:
            view["hub_clients"] = [
                {**c, "last_updated": utc(c["last_updated"])}
                for c in await hubs.list_clients(connection, partner.id)]
    return admin_json(view)


async def change_partner(request: Request) -> Response:
    """PATCH /admin/partners/{id}: change how we call a partner (`token_base64`)."""
    check_key(request)
    partner = await _partner(request)
    wanted = await _body(request, PartnerChange)
    services = services_of(request)
    if wanted.token_base64 is not msgspec.UNSET:
        async with services.database.write() as connection:
            await store.update_partner(connection, partner.id,
                                       outbound_token_base64=wanted.token_base64)
            partner = await store.get_partner(connection, partner.id) or partner
    return admin_json(partner_view(partner))


async def register_partner(request: Request) -> Response:
    """POST /admin/partners: register with an eMSP using its token A."""
    check_key(request)
    wanted = await _body(request, RegisterRequest)
    partner = await register(services_of(request), wanted)
    return admin_json(partner_view(partner), 201)


async def register(services: Services, wanted: RegisterRequest) -> store.Partner:
    """Register with an eMSP at `versions_url` with its token A; AdminError on failure."""
    try:
        check_partner_url(wanted.versions_url)
    except UnusableUrl as error:
        raise AdminError(400, error.reason, "versions_url") from None
    try:
        return await services.registry.register(
            wanted.versions_url, wanted.token, token_base64=wanted.token_base64
        )
    except (OCPIError, PartnerError, store.PartyHeld) as error:
        raise _partner_failure(error) from None


async def rotate_partner(request: Request) -> Response:
    """POST /admin/partners/{id}/rotate: update credentials (new tokens both ways)."""
    check_key(request)
    return admin_json(partner_view(await rotate(services_of(request), await _partner(request))))


async def rotate(services: Services, partner: store.Partner) -> store.Partner:
    """Update credentials with a partner (new tokens both ways); AdminError on failure."""
    try:
        return await services.registry.rotate(partner)
    except (OCPIError, PartnerError, store.PartyHeld) as error:
        raise _partner_failure(error) from None


async def unregister_partner(request: Request) -> Response:
    """DELETE /admin/partners/{id}: unregister (the partner is told when it can be reached)."""
    check_key(request)
    partner = await _partner(request)
    problem = await unregister(services_of(request), partner)
    return admin_json({"id": partner.id, "status": store.UNREGISTERED, "partner_error": problem})


async def unregister(services: Services, partner: store.Partner) -> str | None:
    """Unregister a partner; returns the partner's error when it could not be told."""
    try:
        return await services.registry.unregister(partner)
    except OCPIError as error:
        raise _partner_failure(error) from None


async def list_our_parties(request: Request) -> Response:
    """GET /admin/parties: the CPO parties we operate."""
    check_key(request)
    async with services_of(request).database.read() as connection:
        parties = await list_parties(connection)
    return admin_json([p.__dict__ for p in parties])


async def put_party(request: Request) -> Response:
    """PUT /admin/parties/{country_code}/{party_id}: add a CPO party or change its details."""
    check_key(request)
    try:
        country_code = codec.convert(request.path_params["country_code"], CiString2)
        party_id = codec.convert(request.path_params["party_id"], CiString3)
    except InvalidField as error:
        raise AdminError(400, error.reason, "country_code/party_id") from None
    wanted = await _body(request, PartyRequest)
    services = services_of(request)
    async with services.database.write() as connection:
        holder = await store.holder_of(connection, country_code, party_id)
        if holder is not None:
            # One party, one platform: ours cannot also be a partner's.
            raise AdminError(409, f"party {country_code.upper()}/{party_id.upper()} is held by"
                             f" partner {holder}", "country_code/party_id")
        await upsert_party(connection, country_code, party_id,
                           codec.to_builtins(wanted.business_details))
    return admin_json({"country_code": country_code.upper(), "party_id": party_id.upper(),
                       "business_details": wanted.business_details})


class PushRequest(msgspec.Struct, frozen=True):
    """POST /admin/push: push one object (or the whole module) to one partner (or all) now."""

    module: Literal["locations", "tariffs"]
    id: str | None = None
    partner: int | None = None


class Party(NamedTuple):
    """The owner an object id is narrowed to, when the id exists for several of our parties."""

    country_code: str | None = None
    party_id: str | None = None


def _narrowing(request: Request) -> Party:
    """?country_code=&party_id= of the request (either may be absent)."""
    return Party(request.query_params.get("country_code") or None,
                 request.query_params.get("party_id") or None)


async def _owner(services: Services, table: Any, object_id: str,
                 party: Party | None) -> tuple[str, str]:
    """The (country_code, party_id) of an object id, narrowed by `party`."""
    query = select(table.c.country_code, table.c.party_id).where(id_is(table, object_id))
    for name, value in zip(("country_code", "party_id"), party or Party(), strict=True):
        if value:
            query = query.where(table.c[name] == value.upper())
    async with services.database.read() as connection:
        owners = [(r.country_code, r.party_id) for r in await connection.execute(query)]
    if not owners:
        raise AdminError(404, f"no {table.name[:-1]} {object_id!r}", "id")
    if len(owners) > 1:
        raise AdminError(409, f"{object_id!r} exists for several parties: add ?country_code="
                         "&party_id=", "id")
    return owners[0]


async def _publish(request: Request, publish: bool) -> Response:
    check_key(request)
    return admin_json(await set_publish(services_of(request), request.path_params["location_id"],
                                        publish, _narrowing(request)))


async def set_publish(services: Services, location_id: str, publish: bool,
                      party: Party | None = None) -> dict[str, Any]:
    """Publish or unpublish one of our locations (partners are told by the push worker)."""
    country_code, party_id = await _owner(services, tables.locations, location_id, party)
    async with services.database.write() as connection:
        change = await domain_locations.set_publish(connection, country_code, party_id,
                                                    location_id, publish)
    services.wakeup.notify()
    return {"country_code": country_code, "party_id": party_id, "id": location_id,
            "publish": publish, "changed": change is not None}


async def publish_location(request: Request) -> Response:
    """POST /admin/locations/{id}/publish."""
    return await _publish(request, True)


async def unpublish_location(request: Request) -> Response:
    """POST /admin/locations/{id}/unpublish."""
    return await _publish(request, False)


async def push_now(request: Request) -> Response:
    """POST /admin/push: queue a PUT of the object(s) for the partner(s) and deliver at once."""
    check_key(request)
    wanted = await _body(request, PushRequest)
    queued = await queue_push(services_of(request), wanted, _narrowing(request))
    return admin_json({"queued": queued}, 202)


async def queue_push(services: Services, wanted: PushRequest, party: Party | None = None) -> int:
    """Queue a PUT of the object(s) for the partner(s), wake the push worker; how many rows."""
    table = tables.locations if wanted.module == "locations" else tables.tariffs
    if wanted.partner is not None:
        async with services.database.read() as connection:
            partner = await store.get_partner(connection, wanted.partner)
        if partner is None or partner.status != store.REGISTERED:
            raise AdminError(404, "no such registered partner", "partner")
    query = select(table)
    if wanted.id is not None:
        country_code, party_id = await _owner(services, table, wanted.id, party)
        query = query.where(id_is(table, wanted.id), table.c.country_code == country_code,
                            table.c.party_id == party_id)
    queued = 0
    async with services.database.write() as connection:
        for row in await connection.execute(query):
            if wanted.module == "locations":
                audience = await location_audience(connection, row.publish,
                                                   row.publish_allowed_to, False)
            else:
                audience = await registered_partners(connection)
            if wanted.partner is not None:
                audience = [p for p in audience if p == wanted.partner]
            await outbox.enqueue(connection, audience, wanted.module, row.country_code,
                                 row.party_id, row.object_id, outbox.PUT)
            queued += len(audience)
    services.wakeup.notify()
    return queued


async def push_status(request: Request) -> Response:
    """GET /admin/partners/{id}/push-status: pending, failing since, last error, last success."""
    check_key(request)
    partner = await _partner(request)
    async with services_of(request).database.read() as connection:
        status = await outbox.push_status(connection, partner.id)
    for key in ("failing_since", "retry_at", "last_success"):
        if status[key] is not None:
            status[key] = utc(status[key])
    return admin_json({"partner": partner.id, **status})
