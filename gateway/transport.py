"""OCPI transport: the response envelope, Token authentication, request ids, routing headers."""

from __future__ import annotations

import base64
import binascii
import time
import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.errors import InvalidParameters, OCPIError, TooManyFailures, Unauthorized
from gateway.limiter import FailureLimiter, source_of
from sidecar.ocpi import codec
from sidecar.ocpi.envelope import Response as Envelope
from sidecar.ocpi.types import now
from sidecar.store.engine import Database
from sidecar.store.partners import CALLERS, Caller, find_caller
from sidecar.store.secrets import token_hash

JSON = "application/json"

# The envelope's status_code, told to the access log (gateway/access.py) beside the answer
# instead of parsing the body again; that middleware removes it before the answer leaves.
OCPI_STATUS_HEADER = b"x-ocpi-status-code"
_SUCCESS = (OCPI_STATUS_HEADER, b"1000")


def ocpi_response(
    data: Any = None,
    *,
    status_code: int = 1000,
    message: str | None = None,
    http_status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """An OCPI envelope around `data` (an OCPI object, builtins, or msgspec.Raw JSON)."""
    body = codec.encode(
        Envelope(status_code=status_code, timestamp=now(), data=data, status_message=message)
    )
    response = Response(body, status_code=http_status, headers=headers, media_type=JSON)
    response.raw_headers.append(
        _SUCCESS if status_code == 1000 else (OCPI_STATUS_HEADER, b"%d" % status_code))
    return response


_stamp_cache: tuple[int, bytes] = (0, b"")


def _timestamp() -> bytes:
    """The current time as an encoded OCPI DateTime, computed once a second."""
    global _stamp_cache
    second = int(time.time())
    if _stamp_cache[0] != second:
        _stamp_cache = (second, codec.encode(now()))
    return _stamp_cache[1]


def ocpi_json_response(data: bytes, headers: dict[str, str] | None = None) -> Response:
    """A success envelope around `data`, already JSON (stored documents): no re-encoding."""
    body = b"".join((b'{"data":', data, b',"status_code":1000,"timestamp":', _timestamp(),
                     b"}"))
    response = Response(body, headers=headers, media_type=JSON)
    response.raw_headers.append(_SUCCESS)
    return response


def error_response(error: OCPIError) -> Response:
    """The one rendering of an OCPIError."""
    return ocpi_response(
        status_code=error.status_code, message=error.message, http_status=error.http_status,
        headers=error.headers or None,
    )


class RequestIds:
    """ASGI middleware: each response repeats X-Request-ID and X-Correlation-ID (made if absent)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        found = {k: v for k, v in scope["headers"] if k in (b"x-request-id", b"x-correlation-id")}
        request_id = found.get(b"x-request-id") or str(uuid.uuid4()).encode()
        correlation_id = found.get(b"x-correlation-id") or request_id
        scope.setdefault("state", {})["request_id"] = request_id.decode("latin-1")
        scope["state"]["correlation_id"] = correlation_id.decode("latin-1")

        async def send_with_ids(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message.get("headers", []),
                    (b"x-request-id", request_id),
                    (b"x-correlation-id", correlation_id),
                ]
            await send(message)

        await self.app(scope, receive, send_with_ids)


class TrailingSlashes:
    """ASGI middleware: a path ending in `/` is routed as the same path without it.

    The spec's own examples ask for `.../cdrs/?offset=...` and many partner clients do not
    follow redirects, so every route answers both forms itself (the router never redirects).
    Links we build from the request then carry the path without the slash; both work.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            # In place, not a copy: the access log (outside) reads the route the router
            # records in this same scope.
            scope["path"] = path.rstrip("/") or "/"
            raw = scope.get("raw_path")
            if raw:
                scope["raw_path"] = raw.rstrip(b"/") or b"/"
        await self.app(scope, receive, send)


def _candidates(header: str | None) -> list[str]:
    """Tokens the Authorization header may mean: its Base64 decoding first, then as sent."""
    if not header:
        return []
    scheme, _, value = header.partition(" ")
    value = value.strip()
    if scheme.lower() != "token" or not value:
        return []
    found = []
    try:
        decoded = base64.b64decode(value, validate=True).decode("ascii")
    except (binascii.Error, UnicodeDecodeError):
        decoded = ""
    # The spec's own examples encode a trailing newline; it is never part of a token.
    decoded = decoded[:-1] if decoded.endswith("\n") else decoded
    if decoded and decoded.isprintable():
        found.append(decoded)
    found.append(value)
    return found


class Authenticator:
    """Maps the Authorization header to a Caller, with a cache off the database.

    A cached caller is kept until a change to callers (registration, rotation, unregistration,
    parties) commits, here or in another replica (sidecar.store.signals); while changes of
    other replicas cannot be heard, for at most `ttl` seconds.
    """

    def __init__(
        self,
        database: Database,
        *,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        limiter: FailureLimiter | None = None,
        size: int = 10_000,
    ) -> None:
        self.database = database
        # Failed authentications, OCPI and admin alike (gateway/admin.py uses it too).
        # Not `limiter or …`: a limiter with no failures yet has length 0, so it is falsy.
        self.limiter = limiter if limiter is not None else FailureLimiter()
        self.ttl = ttl
        self.clock = clock
        self.size = size
        # token hash -> (generation of callers, expiry, caller, token)
        self._cache: dict[bytes, tuple[tuple[int, ...], float, Caller, str]] = {}

    async def authenticate(self, request: Request) -> tuple[Caller, str]:
        """The caller and the plain token it presented; Unauthorized (401) otherwise.

        TooManyFailures (429) before any look-up when the source or the token's prefix
        failed too often.
        """
        header = request.headers.get("authorization")
        source = source_of(request)
        wait = self.limiter.retry_after(source, header)
        if wait is not None:
            raise TooManyFailures(wait)
        for token in _candidates(header):
            digest = token_hash(token)
            generation = self.database.generation(CALLERS)
            cached = self._cache.get(digest)
            if cached is not None and cached[0] == generation and cached[1] > self.clock():
                _tell_access_log(request, cached[2])
                return cached[2], cached[3]
            async with self.database.read() as connection:
                caller = await find_caller(connection, digest)
            if caller is not None:
                _tell_access_log(request, caller)
                ttl = self.database.cache_ttl(self.ttl)
                if len(self._cache) >= self.size:
                    self._cache.clear()
                self._cache[digest] = (generation, self.clock() + ttl if ttl is not None
                                       else float("inf"), caller, token)
                return caller, token
        self.limiter.failed(source, header)
        raise Unauthorized()


def _tell_access_log(request: Request, caller: Caller) -> None:
    """The partner's id for the access line (gateway/access.py); never its token."""
    request.state.partner = caller.partner.id if caller.partner is not None else None


def routing_parties(
    request: Request, caller: Caller, ours: list[tuple[str, str]]
) -> dict[str, str]:
    """Check the OCPI-from/to routing headers of a functional-module request.

    FROM must be a party the caller reaches (one of its roles, or a party behind it when
    it is a hub: a hub forwards with the OCPI-from of the party that sent the request) and
    TO one of ours (either may be absent). Returns the response's routing headers: the
    request's swapped.
    """
    headers = request.headers
    sender = (headers.get("ocpi-from-country-code"), headers.get("ocpi-from-party-id"))
    target = (headers.get("ocpi-to-country-code"), headers.get("ocpi-to-party-id"))
    partner = caller.partner
    if sender[0] and sender[1] and partner is not None:
        if not caller.reaches(sender[0], sender[1]):
            raise InvalidParameters("not one of the caller's parties", field="OCPI-from-party-id")
    if target[0] and target[1]:
        wanted = (target[0].upper(), target[1].upper())
        if wanted not in {(c.upper(), p.upper()) for c, p in ours}:
            raise InvalidParameters("not a party of this platform", field="OCPI-to-party-id")
    reply: dict[str, str] = {}
    if target[0] and target[1]:
        reply["OCPI-from-country-code"], reply["OCPI-from-party-id"] = target[0], target[1]
    if sender[0] and sender[1]:
        reply["OCPI-to-country-code"], reply["OCPI-to-party-id"] = sender[0], sender[1]
    return reply


def raw(document: bytes) -> msgspec.Raw:
    """Stored JSON placed into an envelope without decoding it again."""
    return msgspec.Raw(document)
