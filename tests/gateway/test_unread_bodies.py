"""A request body the route never reads, or reads only part of, costs the partner nothing.

Routes may answer before reading a body (a 401 on a POST, a GET that carries one). Hypercorn
closes a connection whose request it has not read to the end, and a close with unread bytes
in the socket makes the kernel reset it: the client then loses the answer, or the next
request on its kept-alive connection. So the gateway reads what is left of a body (up to
its limit) before it answers, and a body over the limit is refused with 413 up front.

Raw sockets on loopback: the head goes first and the body only after the server has had
the chance to answer without it. Before the fix that answer came, and the connection was
gone when the body and a second request followed; now both requests are answered on one
connection, whatever the order in which the bytes arrive.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import h11
import httpx
import pytest

from gateway.app import BODY_LIMIT
from tests.fixtures.cpo import ADMIN_KEY, Cpo

pytestmark = pytest.mark.anyio

# Long enough for a server that answers without the body to have done so.
HEAD_START = 0.3


async def _token_a(cpo: Cpo) -> str:
    reply = await cpo.admin.post("/credentials-token-a")
    assert reply.status_code == 201, reply.text
    token: str = reply.json()["token"]
    return token


async def _exchange(url: str, head: bytes, body: bytes, then: bytes) -> list[int]:
    """Send `head`, then (after HEAD_START) `body` and the request `then`, on one
    connection; the statuses of the answers read until the server closes."""
    parts = urlsplit(url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        writer.write(head)
        await writer.drain()
        early = asyncio.ensure_future(reader.read(1))
        done, _ = await asyncio.wait({early}, timeout=HEAD_START)
        first = early.result() if done else b""
        try:
            writer.write(body + then)
            await writer.drain()
        except ConnectionError:
            pass
        rest = first if done else b""
        if not done:
            rest = await early
        try:
            while chunk := await asyncio.wait_for(reader.read(65536), timeout=10):
                rest += chunk
        except ConnectionError:
            pass
        return _statuses(rest)
    finally:
        writer.close()


def _statuses(raw: bytes) -> list[int]:
    """The status of each complete answer in `raw`, parsed as a client would."""
    parser = h11.Connection(h11.CLIENT)
    statuses: list[int] = []
    parser.receive_data(raw)
    parser.receive_data(b"")
    while True:
        if parser.our_state is h11.IDLE:
            # h11 reads answers only to requests it saw sent; the bytes sent are ours.
            parser.send(h11.Request(method="GET", target="/", headers=[("Host", "x")]))
            parser.send(h11.EndOfMessage())
        try:
            event = parser.next_event()
        except h11.RemoteProtocolError:
            return statuses
        if isinstance(event, h11.Response):
            statuses.append(event.status_code)
        elif isinstance(event, h11.EndOfMessage):
            if parser.our_state is not h11.DONE or parser.their_state is not h11.DONE:
                return statuses
            try:
                parser.start_next_cycle()
            except h11.LocalProtocolError:
                return statuses
        elif event in (h11.NEED_DATA, h11.PAUSED) or isinstance(event, h11.ConnectionClosed):
            return statuses


def _request(method: str, url: str, body: bytes = b"", *, extra: str = "",
             close: bool = False) -> tuple[bytes, bytes]:
    parts = urlsplit(url)
    head = (f"{method} {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
            f"Content-Length: {len(body)}\r\n{extra}"
            f"{'Connection: close' if close else ''}\r\n\r\n")
    return head.replace("\r\n\r\n\r\n", "\r\n\r\n").encode(), body


@pytest.mark.parametrize("listener", ["admin", "ocpi"])
async def test_a_get_with_a_body_leaves_the_connection_usable(cpo: Cpo, listener: str) -> None:
    url = (f"{cpo.settings.admin_url}/openapi.json" if listener == "admin"
           else cpo.versions_url)
    token = "" if listener == "admin" else f"Authorization: Token {await _token_a(cpo)}\r\n"
    head, body = _request("GET", url, b'{"a": ' + b"1" * 2000 + b"}", extra=token)
    then = b"".join(_request("GET", url, extra=token, close=True))
    assert await _exchange(url, head, body, then) == [200, 200]


async def test_a_post_refused_before_its_body_is_read_leaves_the_connection_usable(
    cpo: Cpo,
) -> None:
    url = cpo.url("credentials")
    token_a = await _token_a(cpo)
    head, body = _request("POST", url, json.dumps({"token": "x" * 5000}).encode(),
                          extra="Authorization: Token not-a-token\r\n")
    then = b"".join(_request("GET", cpo.versions_url,
                             extra=f"Authorization: Token {token_a}\r\n", close=True))
    assert await _exchange(url, head, body, then) == [401, 200]


async def test_a_body_over_the_limit_is_refused_with_413_in_the_listeners_form(
    cpo: Cpo,
) -> None:
    token_a = await _token_a(cpo)
    async with httpx.AsyncClient(timeout=10) as http:
        ocpi = await http.post(cpo.url("credentials"), content=b"x" * (BODY_LIMIT + 1),
                               headers={"Authorization": f"Token {token_a}"})
        admin = await http.post(f"{cpo.admin_url}/partners", content=b"x" * (BODY_LIMIT + 1),
                                headers={"Authorization": f"Bearer {ADMIN_KEY}"})
    assert ocpi.status_code == 413
    assert ocpi.json()["status_code"] == 2000, ocpi.text
    assert admin.status_code == 413 and "error" in admin.json(), admin.text


async def test_a_chunked_body_over_the_limit_is_refused_with_413(cpo: Cpo) -> None:
    token_a = await _token_a(cpo)

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(BODY_LIMIT // 65536 + 2):
            yield b"x" * 65536

    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.post(cpo.url("credentials"), content=chunks(),
                                headers={"Authorization": f"Token {token_a}"})
        # The connection was drained, so it serves the next request.
        after = await http.get(cpo.versions_url, headers={"Authorization": f"Token {token_a}"})
    assert reply.status_code == 413 and reply.json()["status_code"] == 2000, reply.text
    assert after.status_code == 200
