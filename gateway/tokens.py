"""Tokens module, Receiver interface (GET, PUT, PATCH), and the admin pull of an eMSP's list.

Tokens are client-owned: a partner reads and writes only under its own parties; a URL naming
any other party answers HTTP 404 with 2001, as if nothing were there.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection
from starlette.requests import Request
from starlette.responses import Response

from gateway.admin import AdminError, admin_json, check_key, partner_id_of
from gateway.client import OCPIClient, PartnerError
from gateway.errors import InvalidParameters, UnknownToken
from gateway.modules import ModuleRequest, module_request
from gateway.routing import to_partner
from gateway.services import services_of
from gateway.transport import ocpi_response, raw
from gateway.urls import join
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.enums import InterfaceRole, TokenType
from sidecar.ocpi.patch import apply_patch, decode_patch
from sidecar.ocpi.tokens import Token
from sidecar.ocpi.types import now, utc
from sidecar.store import partners as partner_store
from sidecar.store import tokens as store
from sidecar.store.engine import Database
from sidecar.store.parties import sending_party
from sidecar.store.partners import Partner

_NEXT = re.compile(r'<([^>]+)>\s*;\s*rel="?next"?')


@dataclass(frozen=True)
class TokenAddress:
    """What the URL of a token names: its owner party, uid and type."""

    country_code: str
    party_id: str
    uid: str
    type: TokenType


def _not_yours(country_code: str, party_id: str) -> InvalidParameters:
    return InvalidParameters(f"{country_code}/{party_id} is not one of your parties",
                             http_status=404)


async def _address(request: Request, module: ModuleRequest) -> TokenAddress:
    """The token the URL names, under a party the caller holds (else 404: transport's
    answer for objects that are not the client's)."""
    params = request.path_params
    country_code, party_id = params["country_code"], params["party_id"]
    async with module.services.database.read() as connection:
        holder = await partner_store.holder_of(connection, country_code, party_id)
    if holder != module.partner.id:
        raise _not_yours(country_code, party_id)
    try:
        type_ = TokenType(request.query_params.get("type", TokenType.RFID))
    except ValueError:
        raise InvalidParameters("not a TokenType", field="type") from None
    return TokenAddress(country_code, party_id, params["uid"], type_)


async def _store(connection: AsyncConnection, partner_id: int, token: Token) -> int:
    """upsert_tokens for one token; the holder check there (in this write transaction)
    answers like the one of `_address`, for a party released meanwhile."""
    try:
        return await store.upsert_tokens(connection, partner_id, [token])
    except store.NotHolder as error:
        raise _not_yours(error.country_code, error.party_id) from None


def _unknown(address: TokenAddress) -> UnknownToken:
    return UnknownToken(f"no {address.type} token {address.uid!r}", http_status=404)


def _check_identity(token: Token, address: TokenAddress) -> None:
    """The body must be the object the URL names (CiStrings compare case-insensitively)."""
    for name, wanted in (("country_code", address.country_code),
                         ("party_id", address.party_id), ("uid", address.uid)):
        if str(getattr(token, name)).upper() != wanted.upper():
            raise InvalidParameters(f"{getattr(token, name)!r} differs from the URL's "
                                    f"{wanted!r}", field=name)
    if token.type != address.type:
        raise InvalidParameters(f"{token.type} differs from the URL's {address.type}",
                                field="type")


async def get_token(request: Request) -> Response:
    """GET /tokens/{country_code}/{party_id}/{uid}[?type=]: the token as we cache it."""
    module = await module_request(request)
    address = await _address(request, module)
    async with module.services.database.read() as connection:
        row = await store.get_token(connection, address.country_code, address.party_id,
                                    address.uid, address.type)
    if row is None or row.partner_id != module.partner.id:
        raise _unknown(address)
    return ocpi_response(raw(row.document), headers=module.reply_headers)


async def put_token(request: Request) -> Response:
    """PUT /tokens/{country_code}/{party_id}/{uid}[?type=]: store or replace the token."""
    module = await module_request(request)
    address = await _address(request, module)
    token = codec.decode(await request.body(), Token)
    _check_identity(token, address)
    async with module.services.database.write() as connection:
        created = await _store(connection, module.partner.id, token)
    return ocpi_response(http_status=201 if created else 200, headers=module.reply_headers)


async def patch_token(request: Request) -> Response:
    """PATCH /tokens/{country_code}/{party_id}/{uid}[?type=]: change some fields.

    The body is validated before the stored token is looked at, so a PATCH without
    `last_updated` is 2001 whether or not the token exists.
    """
    module = await module_request(request)
    address = await _address(request, module)
    patch = decode_patch(await request.body(), Token)
    if "type" in patch and patch["type"] != address.type:
        raise InvalidParameters("a token's type cannot be changed", field="type")
    async with module.services.database.write() as connection:
        row = await store.get_token(connection, address.country_code, address.party_id,
                                    address.uid, address.type)
        if row is None or row.partner_id != module.partner.id:
            raise _unknown(address)
        await _store(connection, module.partner.id, apply_patch(row.token, patch))
    return ocpi_response(headers=module.reply_headers)


# --- the admin pull ("refresh token cache") ---------------------------------------------


class RefreshRequest(msgspec.Struct, frozen=True):
    """POST /admin/partners/{id}/tokens/refresh: `full` ignores the last pull time."""

    full: bool = False


@dataclass
class PullReport:
    """What a pull of an eMSP's Tokens Sender list did."""

    pages: int = 0
    received: int = 0
    stored: int = 0
    invalid: int = 0
    date_from: datetime | None = None


async def refresh_tokens(request: Request) -> Response:
    """Pull the partner's Tokens list (from the last pull, or all of it) into the cache."""
    check_key(request)
    services = services_of(request)
    body = await request.body()
    try:
        options = codec.decode(body, RefreshRequest) if body.strip() else RefreshRequest()
    except InvalidField as error:
        raise AdminError(400, error.reason, error.path) from None
    partner_id = partner_id_of(request)
    async with services.database.read() as connection:
        partner = await partner_store.get_partner(connection, partner_id)
        since = None if options.full else await store.tokens_pulled_at(connection, partner_id)
    if partner is None or partner.status != partner_store.REGISTERED:
        raise AdminError(404, f"no registered partner {partner_id}", "partner_id")
    try:
        report = await pull_tokens(services.client, services.database, partner, since)
    except PartnerError as error:
        raise AdminError(502, f"pulling tokens failed: {error}") from None
    return admin_json({"pages": report.pages, "received": report.received,
                       "stored": report.stored, "invalid": report.invalid,
                       "date_from": utc(report.date_from) if report.date_from else None})


async def pull_tokens(
    client: OCPIClient, database: Database, partner: Partner, since: datetime | None
) -> PullReport:
    """GET every page of the partner's Tokens list (following Link) and store what is valid.

    Each page is stored as it arrives; the pull time is recorded only once the last page
    came, so an interrupted pull is repeated from the same point next time.
    """
    url = partner.endpoint("tokens", InterfaceRole.SENDER)
    if url is None or partner.outbound_token is None:
        raise AdminError(409, "the partner has no Tokens Sender endpoint")
    started = now()
    async with database.read() as connection:
        routing = to_partner(partner, await sending_party(connection))
    report = PullReport(date_from=since)
    next_url: str | None = url
    if since is not None:
        next_url = join(url, query=f"date_from={utc(since).strftime('%Y-%m-%dT%H:%M:%SZ')}")
    while next_url is not None:
        reply = await client.request("GET", next_url, partner.outbound_token,
                                     headers=routing, token_base64=partner.outbound_token_base64)
        items = reply.envelope.data if isinstance(reply.envelope.data, list) else []
        report.pages += 1
        report.received += len(items)
        valid = []
        for item in items:
            try:
                token = codec.convert(item, Token)
            except InvalidField:
                report.invalid += 1
                continue
            valid.append(token)
        async with database.write() as connection:
            held = await store.held_tokens(connection, partner.id, valid)
            await store.upsert_tokens(connection, partner.id, held)
        report.invalid += len(valid) - len(held)  # not the partner's to give
        report.stored += len(held)
        found = _NEXT.search(reply.headers.get("link", ""))
        next_url = found.group(1) if found else None
    async with database.write() as connection:
        await store.set_tokens_pulled_at(connection, partner.id, started)
    return report
