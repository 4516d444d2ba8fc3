"""Hostile input found by fuzzing, each case pinned: never a 500, always our own error form."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator

import httpx
import pytest

from gateway.client import OCPIClient, PartnerUnreachable, outbound_http
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp

pytestmark = pytest.mark.anyio


async def registered(cpo: Cpo, emsp: FakeEmsp) -> None:
    token = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    reply = await emsp.register_with(cpo.versions_url, token)
    assert reply.json()["status_code"] == 1000


def is_envelope(reply: httpx.Response) -> bool:
    body = reply.json()
    return isinstance(body, dict) and "status_code" in body and "timestamp" in body


@pytest.mark.parametrize("offset", ["-1", "abc", "1e3", "²", "9" * 40, " 1", "0x10", "1.5"])
async def test_bad_offset_is_400_naming_it(cpo: Cpo, emsp: FakeEmsp, offset: str) -> None:
    await registered(cpo, emsp)
    reply = await emsp.call_cpo("GET", cpo.url("locations"), params={"offset": offset})
    assert reply.status_code == 400
    assert reply.json()["status_code"] == 2001
    assert reply.json()["status_message"].startswith("offset:")


@pytest.mark.parametrize("path", [
    "/partners/abc/tokens/refresh", "/partners/1.5/rotate", "/partners/%20/push-status",
    "/partners/99999999999999999999999", "/partners/-1/tokens/refresh"])
async def test_non_integer_partner_id_is_an_admin_404(cpo: Cpo, path: str) -> None:
    method = "GET" if path.count("/") == 2 or path.endswith("push-status") else "POST"
    reply = await cpo.admin.request(method, path)
    assert reply.status_code == 404
    assert reply.json() == {"error": "no such partner", "field": "partner_id"}


@pytest.mark.parametrize("versions_url", [
    "http://[::1", "http://a\x00b/ocpi", "ftp://emsp.example.com/versions", "versions",
    "http://" + "a" * 70 + ".example.com/", "http://xn--/", "http://host:99999/",
    "http:///no-host"])
async def test_malformed_versions_url_is_an_admin_400(cpo: Cpo, versions_url: str) -> None:
    reply = await cpo.admin.post("/partners", json={"versions_url": versions_url,
                                                    "token": "t"})
    assert reply.status_code == 400
    assert reply.json()["field"] == "versions_url"
    assert (await cpo.admin.get("/partners")).json() == []


@pytest.fixture
async def client() -> AsyncIterator[OCPIClient]:
    async with outbound_http(timeout=5) as http:
        yield OCPIClient(http)


@pytest.mark.parametrize("url", [
    "http://[::1", "http://a\x00b/", "http://" + "a" * 70 + ".example.com/", "http://xn--/",
    "ftp://x/y", "notaurl"])
async def test_invalid_urls_are_partner_unreachable(client: OCPIClient, url: str) -> None:
    with pytest.raises(PartnerUnreachable, match="invalid URL"):
        await client.request("GET", url, "token")


async def test_connection_refused_says_so(client: OCPIClient) -> None:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # bound, never listening: nothing accepts on the port
    with pytest.raises(PartnerUnreachable, match="connection refused"):
        await client.request("GET", f"http://127.0.0.1:{port}/versions", "token")


@pytest.fixture
async def garbage_server() -> AsyncIterator[str]:
    """A TCP server answering every request with a malformed HTTP response head."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.readuntil(b"\r\n\r\n")
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: nope\r\n\r\n{}")
        await writer.drain()
        writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/versions"
    finally:
        server.close()
        await server.wait_closed()


async def test_malformed_http_answer_is_partner_unreachable(
    client: OCPIClient, garbage_server: str
) -> None:
    with pytest.raises(PartnerUnreachable, match="malformed HTTP answer"):
        await client.request("GET", garbage_server, "token")


async def test_registering_with_a_garbage_answering_host_is_502(
    cpo: Cpo, garbage_server: str
) -> None:
    reply = await cpo.admin.post("/partners", json={"versions_url": garbage_server,
                                                    "token": "t"})
    assert reply.status_code == 502
    assert "malformed HTTP answer" in reply.json()["error"]


async def test_headers_too_large_on_an_ocpi_path_get_the_envelope(cpo: Cpo) -> None:
    async with httpx.AsyncClient(timeout=10) as http:
        reply = await http.get(cpo.versions_url, headers={"X-Big": "x" * 20_000})
        admin = await http.get(f"{cpo.admin_url}/partners",
                               headers={"X-Big": "x" * 20_000})
    assert reply.status_code == 431
    assert is_envelope(reply) and reply.json()["status_code"] == 2000
    assert admin.status_code == 431 and "error" in admin.json()
