"""Calls to partners' OCPI endpoints over one shared aiohttp session.

    PartnerError                 the partner answered, but not with OCPI success
    └── PartnerUnreachable       no usable HTTP answer (connect error, timeout, not JSON)
        └── HostRefused          the address policy refused the host (gateway/addresses.py)

Liberal in what we accept: an envelope without `timestamp` or with fields of its own, `data`
absent on success, HTTP 200 or 201, and a single object wrapped in a one-element list are
all understood (`Deviations` logs each departure from the spec once per partner host).
"""

from __future__ import annotations

import asyncio
import base64
import errno
import logging
import socket
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
import msgspec

from gateway.addresses import AddressPolicy, AddressRefused, refused_in
from gateway.urls import url_problem
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.envelope import FIELDS, Received

T = TypeVar("T")

log = logging.getLogger(__name__)

# The kinds of departure from the spec's exact answer form that we accept.
NO_TIMESTAMP = "envelope without timestamp"
UNKNOWN_FIELDS = "envelope with unknown fields"
LISTED_OBJECT = "single object wrapped in a list"


class PartnerError(Exception):
    """The partner's answer was not OCPI success (`status_code` None when there was none)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, http_status: int | None = None,
        reason: str | None = None,
    ) -> None:
        self.status_code = status_code
        self.http_status = http_status
        # What failed, in our own words (never the partner's), when there was no answer.
        self.reason = reason
        super().__init__(message)


class PartnerUnreachable(PartnerError):
    """No usable answer: the connection failed, timed out, or the body was not an envelope."""


class HostRefused(PartnerUnreachable):
    """Not called: the address policy refused the host; `policy` is what to tell."""

    def __init__(self, message: str, policy: str) -> None:
        self.policy = policy
        super().__init__(message)


@dataclass(frozen=True)
class Reply:
    """A partner's answer: HTTP status, the envelope, and the response headers."""

    http_status: int
    envelope: Received
    headers: Mapping[str, str]  # names case-insensitive
    method: str = ""
    url: str = ""


class Deviations:
    """Departures from the spec that we accept, logged once per partner host and kind.

    A peer that always omits the timestamp would otherwise log on every push; once is enough
    for its operator to be told, and what it means for us does not change per request.
    """

    def __init__(self) -> None:
        self.seen: set[tuple[str, str]] = set()

    def note(self, url: str, kind: str, detail: str = "") -> None:
        """Record one occurrence; the first per (host, kind) is logged."""
        key = (urlsplit(url).netloc, kind)
        if key in self.seen:
            return
        self.seen.add(key)
        log.warning("partner %s: %s (accepted; logged once)%s", key[0], kind,
                    f": {detail}" if detail else "")


@dataclass(frozen=True)
class Response:
    """An HTTP answer, read whole: partners' answers are small envelopes."""

    status_code: int
    headers: Mapping[str, str]  # names case-insensitive
    content: bytes


class OutboundHttp:
    """The one outbound HTTP client of a process: an aiohttp session, used directly.

    Chosen by bench/push.py: to 20 partners at once httpx's own transport managed 91
    pushes/s, httpx on aiohttp's transport about 1,600, and aiohttp without the httpx facade
    (which cost ~80 % of each push's CPU) more again (see README). Every connection it opens
    goes through `policy.socket_factory`, so the address policy holds for the address
    actually connected to, whatever DNS said when OCPIClient checked the host.
    """

    def __init__(self, *, timeout: float = 10.0, policy: AddressPolicy | None = None) -> None:
        self.timeout = aiohttp.ClientTimeout(total=timeout)
        self.policy = policy or AddressPolicy()
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> OutboundHttp:
        connector = aiohttp.TCPConnector(limit=400, keepalive_timeout=5.0,
                                         socket_factory=self.policy.socket_factory)
        # No cookies (partners authenticate by token), no proxy from the environment.
        self._session = aiohttp.ClientSession(
            connector=connector, timeout=self.timeout,
            cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True)
        return self

    async def __aexit__(self, kind: type[BaseException] | None, error: BaseException | None,
                        trace: TracebackType | None) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def request(self, method: str, url: str, *, content: bytes | None = None,
                      headers: Mapping[str, str] | None = None) -> Response:
        """One request, its answer read whole; aiohttp's and the OS's errors as raised."""
        if self._session is None:
            raise RuntimeError("OutboundHttp used outside `async with`")
        async with self._session.request(method, url, data=content, headers=headers,
                                         allow_redirects=False) as response:
            body = await response.read()
            return Response(response.status, response.headers, body)

    async def get(self, url: str, **options: Any) -> Response:
        return await self.request("GET", url, **options)


def outbound_http(
    *, timeout: float = 10.0, policy: AddressPolicy | None = None
) -> OutboundHttp:
    """The process's outbound HTTP client; use it as `async with outbound_http() as http`."""
    return OutboundHttp(timeout=timeout, policy=policy)


def failure(error: BaseException) -> str:
    """What went wrong in an outbound call, in words, from the exception and its causes
    (aiohttp wraps the OS's error: the chain of causes is what tells)."""
    seen: BaseException | None = error
    while seen is not None:
        if isinstance(seen, ConnectionRefusedError) or (
                isinstance(seen, OSError) and seen.errno == errno.ECONNREFUSED):
            return "connection refused"
        if isinstance(seen, aiohttp.ClientConnectorDNSError | socket.gaierror):
            return "host name not resolved"
        if isinstance(seen, aiohttp.ClientSSLError | ssl.SSLError):
            return f"TLS failed: {seen}"
        if isinstance(seen, aiohttp.ClientConnectorError) and isinstance(
                seen.os_error, ConnectionRefusedError):
            return "connection refused"
        if isinstance(seen, aiohttp.ServerDisconnectedError | ConnectionResetError):
            return "connection closed before an answer"
        if isinstance(seen, aiohttp.ClientResponseError | aiohttp.ClientPayloadError):
            return "malformed HTTP answer"
        if isinstance(seen, TimeoutError | asyncio.TimeoutError | aiohttp.ServerTimeoutError):
            return "timed out"
        if isinstance(seen, aiohttp.InvalidURL | aiohttp.NonHttpUrlClientError | UnicodeError):
            return "invalid URL"
        seen = seen.__cause__ or seen.__context__
    return f"transport error ({type(error).__name__})"


def authorization(token: str, *, encode: bool = True) -> str:
    """The Authorization header value for a token (Base64 unless the peer wants it raw)."""
    value = base64.b64encode(token.encode()).decode() if encode else token
    return f"Token {value}"


class OCPIClient:
    """Sends OCPI requests and checks envelopes; one instance per process."""

    def __init__(self, http: OutboundHttp, policy: AddressPolicy | None = None) -> None:
        self.http = http
        self.policy = policy or AddressPolicy()
        self.deviations = Deviations()

    async def request(
        self,
        method: str,
        url: str,
        token: str,
        *,
        body: bytes | None = None,
        token_base64: bool = True,
        correlation_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """Send one request; raise PartnerError unless the envelope says 1xxx."""
        request_id = str(uuid.uuid4())
        sent = {
            "Authorization": authorization(token, encode=token_base64),
            "X-Request-ID": request_id,
            "X-Correlation-ID": correlation_id or request_id,
            **(headers or {}),
        }
        if body is not None:
            sent["Content-Type"] = "application/json"
        problem = url_problem(url)
        if problem is not None:
            raise PartnerUnreachable(f"{method} {url}: {problem}", reason=problem)
        try:
            await self.policy.check(url)
            response = await self.http.request(method, url, content=body, headers=sent)
        except (aiohttp.ClientError, OSError, ValueError, TimeoutError, AddressRefused) as error:
            refused = refused_in(error)
            if refused is not None:
                raise HostRefused(f"{method} {url}: {refused}", str(refused)) from None
            # Whatever the HTTP stack raises, the caller gets one kind of failure saying
            # what went wrong; a partner's URL or answer must never become our 500.
            reason = failure(error)
            raise PartnerUnreachable(f"{method} {url}: {reason}", reason=reason) from None
        envelope = self._envelope(method, url, response)
        if response.status_code >= 300 or not 1000 <= envelope.status_code < 2000:
            raise PartnerError(
                f"{method} {url}: HTTP {response.status_code}, OCPI {envelope.status_code}"
                f" {envelope.status_message or ''}".rstrip(),
                status_code=envelope.status_code,
                http_status=response.status_code,
            )
        return Reply(response.status_code, envelope, response.headers, method, url)

    def _envelope(self, method: str, url: str, response: Response) -> Received:
        """The answer's envelope; PartnerUnreachable when the body is none."""
        envelope: Received | None = None
        try:
            body = msgspec.json.decode(response.content)
            envelope = codec.convert(body, Received) if isinstance(body, dict) else None
        except (msgspec.DecodeError, InvalidField) as error:
            problem = str(error)
        else:
            problem = "not a JSON object"
        if envelope is None:
            raise PartnerUnreachable(
                f"{method} {url}: HTTP {response.status_code}, no OCPI envelope ({problem})",
                http_status=response.status_code,
            ) from None
        if envelope.timestamp is None:
            self.deviations.note(url, NO_TIMESTAMP)
        unknown = body.keys() - FIELDS
        if unknown:
            self.deviations.note(url, UNKNOWN_FIELDS, ", ".join(sorted(unknown)))
        return envelope

    def data(self, reply: Reply, type_: type[T]) -> T:
        """The answer's `data` as `type_`; PartnerError when it is not one.

        A single object wrapped in a one-element list (a common library does this) is taken
        as that object.
        """
        value = reply.envelope.data
        try:
            return codec.convert(value, type_)
        except InvalidField as error:
            problem = error
        if isinstance(value, list) and len(value) == 1:
            try:
                unwrapped = codec.convert(value[0], type_)
            except InvalidField:
                pass
            else:
                self.deviations.note(reply.url, LISTED_OBJECT)
                return unwrapped
        raise PartnerError(f"{reply.method} {reply.url}: invalid data: {problem}",
                           status_code=reply.envelope.status_code,
                           http_status=reply.http_status)

    async def fetch(self, url: str, token: str, type_: type[T], **options: Any) -> T:
        """GET and validate the envelope's data as `type_`."""
        return self.data(await self.request("GET", url, token, **options), type_)
