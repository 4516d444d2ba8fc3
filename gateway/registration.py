"""The credentials handshake (tokens A, B, C) in both directions, plus update and unregister."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.client import HostRefused, OCPIClient, PartnerError
from gateway.errors import (
    ClientApiUnusable,
    InvalidParameters,
    MethodNotAllowed,
    NoCpoParty,
    NoMatchingEndpoints,
    Unauthorized,
    UnsupportedVersion,
)
from gateway.urls import UnusableUrl, check_partner_url
from sidecar.ocpi import codec
from sidecar.ocpi.credentials import Credentials, CredentialsRole
from sidecar.ocpi.enums import InterfaceRole
from sidecar.ocpi.versions import VERSION, Version, VersionDetails
from sidecar.settings import Settings
from sidecar.store import hubs, outbox
from sidecar.store import partners as store
from sidecar.store.engine import Database
from sidecar.store.parties import list_parties
from sidecar.store.secrets import new_token, token_hash

log = logging.getLogger(__name__)
# The credentials methods a caller may use, registered or with a registration token.
WHEN_REGISTERED = ("GET", "PUT", "DELETE")
WHEN_UNREGISTERED = ("POST",)

# What we do with each partner module: push to its Receiver, or use its Tokens Sender.
PUSHED_MODULES = ("locations", "sessions", "cdrs", "tariffs")
PUSHED = "pushed"
PULLED = "pulled"
NOT_OFFERED = "not offered"


@dataclass(frozen=True)
class Discovery:
    """What we learnt of a partner's OCPI API: the version we use and its endpoints."""

    version: str
    endpoints: list[dict[str, str]]


def usable_url(url: str, field: str) -> str:
    """`url` when we may call it; else 3001 naming the field (credentials.asciidoc: a
    server that cannot use the client's endpoints answers 3001)."""
    try:
        return check_partner_url(url)
    except UnusableUrl as error:
        raise ClientApiUnusable(error.reason, field=field) from None


def _failed(what: str, error: PartnerError) -> ClientApiUnusable:
    """3001 saying what failed, in our words: the URL may be any host's, so what that host
    answered (its body, its status_message) is never repeated to the caller."""
    if isinstance(error, HostRefused):
        detail = error.policy
    elif error.http_status is None:
        detail = f"no answer ({error.reason or 'the connection failed or timed out'})"
    elif error.status_code is None:
        detail = f"HTTP {error.http_status}, not an OCPI answer"
    elif error.http_status < 300 and 1000 <= error.status_code < 2000:
        detail = f"HTTP {error.http_status}, but not a valid {what}"
    else:
        detail = f"HTTP {error.http_status}, OCPI {error.status_code}"
    return ClientApiUnusable(f"could not fetch your {what}: {detail}")


async def discover(
    client: OCPIClient, versions_url: str, token: str, *, token_base64: bool = True,
    field: str = "url",
) -> Discovery:
    """GET the partner's versions and 2.2.1 details (3001, 3002 or 3003 when that fails).

    Every URL on the way is checked before it is called or kept (`field` names where
    `versions_url` came from).
    """
    options: dict[str, Any] = {"token_base64": token_base64}
    usable_url(versions_url, field)
    try:
        versions = await client.fetch(versions_url, token, list[Version], **options)
    except PartnerError as error:
        raise _failed("versions endpoint", error) from None
    chosen = [(i, v) for i, v in enumerate(versions) if v.version == VERSION]
    if not chosen:
        offered = ", ".join(v.version for v in versions) or "none"
        raise UnsupportedVersion(f"no mutual version: partner offers {offered}, we speak 2.2.1")
    index, version = chosen[0]
    details_url = usable_url(version.url, f"versions[{index}].url")
    try:
        details = await client.fetch(details_url, token, VersionDetails, **options)
    except PartnerError as error:
        raise _failed("2.2.1 version details", error) from None
    for index, endpoint in enumerate(details.endpoints):
        usable_url(endpoint.url, f"endpoints[{index}].url")
    endpoints = [codec.to_builtins(e) for e in details.endpoints]
    if not any(e["identifier"] == "credentials" for e in endpoints):
        raise NoMatchingEndpoints("the partner's 2.2.1 details list no credentials endpoint")
    return Discovery(VERSION, endpoints)


def module_use(endpoints: list[dict[str, str]]) -> dict[str, str]:
    """Per module we exchange, whether the partner's endpoints let us: a Receiver endpoint
    for each module we push, the Sender endpoint of tokens (pulled, asked in real time)."""

    def offered(identifier: str, role: str) -> bool:
        return any(e["identifier"] == identifier and e.get("role") == role for e in endpoints)

    use = {m: PUSHED if offered(m, InterfaceRole.RECEIVER) else NOT_OFFERED
           for m in PUSHED_MODULES}
    use["tokens"] = PULLED if offered("tokens", InterfaceRole.SENDER) else NOT_OFFERED
    return use


def _log_missing_modules(partner_id: int, versions_url: str,
                         endpoints: list[dict[str, str]]) -> None:
    """Said once, when the partner's endpoints are stored: a missing endpoint is the
    partner's choice (it may not take tariffs), not a failure, so nothing logs it later."""
    missing = [m for m, use in module_use(endpoints).items() if use == NOT_OFFERED]
    if missing:
        log.warning("partner %d (%s) offers no endpoint for %s: not exchanged with it",
                    partner_id, versions_url, ", ".join(missing))


def _roles(credentials: Credentials) -> list[dict[str, Any]]:
    return [codec.to_builtins(role) for role in credentials.roles]


async def _hold(connection: AsyncConnection, partner_id: int, roles: list[dict[str, Any]]) -> None:
    """A partner's POST or PUT claims the parties of its roles; a party another partner
    holds refuses the whole request (its transaction stores nothing).

    The credentials module leaves no doubt that roles are data the server must be able to
    use ("to determine the URLs a client will use when pushing"); a party that already
    means another platform is one we cannot, so this is an invalid parameter (2001) naming
    the role and the party, and not which partner holds it.
    """
    try:
        await store.hold_parties(connection, partner_id, roles)
    except store.PartyHeld as held:
        whose = "this CPO's own" if held.holder is None else "held by another platform"
        raise InvalidParameters(
            f"party {held.country_code}/{held.party_id} is {whose}",
            field=f"roles[{held.index}]") from None


class Registry:
    """Registration state changes; every one of them clears the authentication cache."""

    def __init__(
        self, settings: Settings, database: Database, client: OCPIClient
    ) -> None:
        self.settings = settings
        self.database = database
        self.client = client
        # Runs (in the background) once a partner is registered, whichever side started:
        # a hub's HubClientInfo is pulled then (set by create_apps).
        self.on_registered: Callable[[store.Partner], Coroutine[Any, Any, None]] | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    def _registered(self, partner: store.Partner) -> None:
        if self.on_registered is None:
            return
        task = asyncio.get_running_loop().create_task(self.on_registered(partner))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def our_credentials(self, token: str) -> Credentials:
        """Our credentials object: the token to call us with, our versions URL, all our parties."""
        return Credentials(token=token, url=self.settings.versions_url,
                           roles=await self._our_roles())

    async def _our_roles(self) -> list[CredentialsRole]:
        """Our parties as credentials roles; NoCpoParty when there is none (CredentialsRole+:
        every handshake checks this before it calls or stores anything)."""
        async with self.database.read() as connection:
            parties = await list_parties(connection)
        if not parties:
            raise NoCpoParty()
        return [
            codec.convert(
                {"role": p.role, "country_code": p.country_code, "party_id": p.party_id,
                 "business_details": p.business_details},
                CredentialsRole,
            )
            for p in parties
        ]

    # --- the partner calls our credentials endpoint -------------------------------------

    async def accept(self, caller: store.Caller, offered: Credentials) -> Credentials:
        """POST: a partner registers with the token A we gave it (we answer with token C)."""
        if caller.partner is not None or caller.registration_id is None:
            raise MethodNotAllowed("already registered: use PUT to update, DELETE to end",
                                   allow=WHEN_REGISTERED)
        await self._our_roles()
        roles = _roles(offered)
        token_base64 = caller.registration_token_base64
        found = await discover(self.client, offered.url, offered.token,
                               token_base64=token_base64)
        token_c = new_token()
        async with self.database.write() as connection:
            partner_id = await store.insert_partner(
                connection, status=store.REGISTERED, versions_url=offered.url,
                version=found.version, endpoints=found.endpoints, roles=roles,
                outbound_token=offered.token, outbound_token_base64=token_base64,
                inbound_token_hash=token_hash(token_c),
            )
            await _hold(connection, partner_id, roles)
            if not await store.use_registration_token(
                connection, caller.registration_id, partner_id
            ):
                raise Unauthorized("this registration token was used meanwhile")
        _log_missing_modules(partner_id, offered.url, found.endpoints)
        async with self.database.read() as connection:
            registered = await store.get_partner(connection, partner_id)
        if registered is not None:
            self._registered(registered)
        return await self.our_credentials(token_c)

    async def update(self, caller: store.Caller, offered: Credentials) -> Credentials:
        """PUT: a registered partner gives a new token (and maybe new endpoints); new token C."""
        partner = caller.partner
        if partner is None or partner.status != store.REGISTERED:
            raise MethodNotAllowed("not registered: use POST with a registration token",
                                   allow=WHEN_UNREGISTERED)
        await self._our_roles()
        found = await discover(self.client, offered.url, offered.token,
                               token_base64=partner.outbound_token_base64)
        token_c = new_token()
        roles = _roles(offered)
        async with self.database.write() as connection:
            await _hold(connection, partner.id, roles)
            await store.update_partner(
                connection, partner.id, versions_url=offered.url, version=found.version,
                endpoints=found.endpoints, roles=roles, outbound_token=offered.token,
                inbound_token_hash=token_hash(token_c), pending_token_hash=None,
            )
        _log_missing_modules(partner.id, offered.url, found.endpoints)
        return await self.our_credentials(token_c)

    async def remove(self, caller: store.Caller) -> None:
        """DELETE: the partner ends the registration; its token stops working at once."""
        partner = caller.partner
        if partner is None or partner.status != store.REGISTERED:
            raise MethodNotAllowed("not registered", allow=WHEN_UNREGISTERED)
        await self._forget_partner(partner.id)

    async def _forget_partner(self, partner_id: int) -> None:
        async with self.database.write() as connection:
            await outbox.forget_partner(connection, partner_id)
            await store.release_parties(connection, partner_id)
            await hubs.forget_hub(connection, partner_id)
            await store.update_partner(
                connection, partner_id, status=store.UNREGISTERED, inbound_token_hash=None,
                pending_token_hash=None, outbound_token=None,
            )

    # --- we call the partner's credentials endpoint -------------------------------------

    async def register(
        self, versions_url: str, token_a: str, *, token_base64: bool = True
    ) -> store.Partner:
        """Register with a partner that gave us its token A; we keep its token C."""
        await self._our_roles()
        found = await discover(self.client, versions_url, token_a, token_base64=token_base64)
        token_b = new_token()
        async with self.database.write() as connection:
            partner_id = await store.insert_partner(
                connection, status=store.PENDING, versions_url=versions_url,
                version=found.version, endpoints=found.endpoints, roles=[],
                outbound_token=token_a, outbound_token_base64=token_base64,
                inbound_token_hash=token_hash(token_b),
            )
        try:
            answer = await self._send_credentials("POST", found, token_a, token_b, token_base64)
        except BaseException:
            async with self.database.write() as connection:
                await store.delete_partner(connection, partner_id)
            raise
        roles = _roles(answer)
        try:
            async with self.database.write() as connection:
                await store.hold_parties(connection, partner_id, roles)
                await store.update_partner(
                    connection, partner_id, status=store.REGISTERED, versions_url=answer.url,
                    roles=roles, outbound_token=answer.token,
                )
                partner = await store.get_partner(connection, partner_id)
        except store.PartyHeld:
            # The partner registered us, but it is not to be registered here: it goes, and
            # it is told (with the token it just gave us) so that it does not call us in vain.
            async with self.database.write() as connection:
                await store.delete_partner(connection, partner_id)
            await self._tell_unregistered(found, answer.token, token_base64)
            raise
        assert partner is not None
        _log_missing_modules(partner.id, versions_url, found.endpoints)
        self._registered(partner)
        return partner

    async def rotate(self, partner: store.Partner) -> store.Partner:
        """Update our credentials with a partner (PUT): new token B for it, new token C for us."""
        if partner.status != store.REGISTERED or partner.outbound_token is None:
            raise MethodNotAllowed("not registered")
        await self._our_roles()
        found = await discover(self.client, partner.versions_url, partner.outbound_token,
                               token_base64=partner.outbound_token_base64)
        token_b = new_token()
        async with self.database.write() as connection:
            await store.update_partner(connection, partner.id,
                                       pending_token_hash=token_hash(token_b))
        try:
            answer = await self._send_credentials(
                "PUT", found, partner.outbound_token, token_b, partner.outbound_token_base64
            )
        except BaseException:
            async with self.database.write() as connection:
                await store.update_partner(connection, partner.id, pending_token_hash=None)
            raise
        roles = _roles(answer)
        tokens = {"outbound_token": answer.token, "inbound_token_hash": token_hash(token_b),
                  "pending_token_hash": None}
        try:
            async with self.database.write() as connection:
                await store.hold_parties(connection, partner.id, roles)
                await store.update_partner(
                    connection, partner.id, version=found.version, endpoints=found.endpoints,
                    versions_url=answer.url, roles=roles, **tokens)
                updated = await store.get_partner(connection, partner.id)
        except store.PartyHeld:
            # The partner has switched to the new tokens already: keep them (else neither
            # side could call the other), but nothing else it answered; it keeps its parties.
            async with self.database.write() as connection:
                await store.update_partner(connection, partner.id, **tokens)
            raise
        assert updated is not None
        _log_missing_modules(updated.id, updated.versions_url, found.endpoints)
        return updated

    async def unregister(self, partner: store.Partner) -> str | None:
        """DELETE our credentials at the partner, then forget it; returns the partner's error."""
        if partner.status == store.UNREGISTERED:
            raise MethodNotAllowed("not registered")
        problem = None
        url = partner.endpoint("credentials")
        if url and partner.outbound_token and partner.status == store.REGISTERED:
            try:
                await self.client.request("DELETE", url, partner.outbound_token,
                                          token_base64=partner.outbound_token_base64)
            except PartnerError as error:
                problem = str(error)
        await self._forget_partner(partner.id)
        return problem

    async def _tell_unregistered(self, found: Discovery, token: str, token_base64: bool) -> None:
        """Best effort: DELETE our credentials at a partner we will not keep."""
        url = next(e["url"] for e in found.endpoints if e["identifier"] == "credentials")
        try:
            await self.client.request("DELETE", url, token, token_base64=token_base64)
        except PartnerError as error:
            log.warning("could not unregister at %s: %s", url, error)

    async def _send_credentials(
        self, method: str, found: Discovery, token: str, token_b: str, token_base64: bool
    ) -> Credentials:
        url = next(e["url"] for e in found.endpoints if e["identifier"] == "credentials")
        ours = await self.our_credentials(token_b)
        reply = await self.client.request(
            method, url, token, body=codec.encode(ours), token_base64=token_base64
        )
        answer = self.client.data(reply, Credentials)
        # The versions URL in its answer is the one we call from now on (rotate).
        usable_url(answer.url, "url")
        return answer
