"""Calls to partners' OCPI endpoints over one shared httpx client.

    PartnerError                 the partner answered, but not with OCPI success
    └── PartnerUnreachable       no usable HTTP answer (connect error, timeout, not JSON)
"""

from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx
from httpx_aiohttp import AiohttpTransport

from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.envelope import Response as Envelope

T = TypeVar("T")


class PartnerError(Exception):
    """The partner's answer was not OCPI success (`status_code` None when there was none)."""

    def __init__(
        self, message: str, *, status_code: int | None = None, http_status: int | None = None
    ) -> None:
        self.status_code = status_code
        self.http_status = http_status
        super().__init__(message)


class PartnerUnreachable(PartnerError):
    """No usable answer: the connection failed, timed out, or the body was not an envelope."""


@dataclass(frozen=True)
class Reply:
    """A partner's answer: HTTP status, the envelope, and the response headers."""

    http_status: int
    envelope: Envelope[Any]
    headers: httpx.Headers


def outbound_http(*, timeout: float = 10.0) -> httpx.AsyncClient:
    """The one outbound HTTP client of a process: httpx's API on aiohttp's engine.

    Chosen by bench/push.py: to 20 partners at once the default transport managed 91
    pushes/s where the aiohttp one managed 1,600 (see README).
    """
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=200)
    return httpx.AsyncClient(timeout=timeout, transport=AiohttpTransport(limits=limits))


def authorization(token: str, *, encode: bool = True) -> str:
    """The Authorization header value for a token (Base64 unless the peer wants it raw)."""
    value = base64.b64encode(token.encode()).decode() if encode else token
    return f"Token {value}"


class OCPIClient:
    """Sends OCPI requests and checks envelopes; one instance per process."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

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
        try:
            response = await self.http.request(method, url, content=body, headers=sent)
        except httpx.HTTPError as error:
            raise PartnerUnreachable(f"{method} {url}: {type(error).__name__}") from None
        try:
            envelope = codec.decode(response.content, Envelope[Any])
        except InvalidField as error:
            raise PartnerUnreachable(
                f"{method} {url}: HTTP {response.status_code}, no OCPI envelope ({error})",
                http_status=response.status_code,
            ) from None
        if response.status_code >= 300 or not 1000 <= envelope.status_code < 2000:
            raise PartnerError(
                f"{method} {url}: HTTP {response.status_code}, OCPI {envelope.status_code}"
                f" {envelope.status_message or ''}".rstrip(),
                status_code=envelope.status_code,
                http_status=response.status_code,
            )
        return Reply(response.status_code, envelope, response.headers)

    async def fetch(self, url: str, token: str, type_: type[T], **options: Any) -> T:
        """GET and validate the envelope's data as `type_`."""
        reply = await self.request("GET", url, token, **options)
        try:
            return codec.convert(reply.envelope.data, type_)
        except InvalidField as error:
            raise PartnerError(f"GET {url}: invalid data: {error}") from None
