"""The outbound OCPI client against a real HTTP server answering each deviant form partners
use: liberal in what it accepts, each deviation logged once per partner host and kind."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from gateway.client import OCPIClient, PartnerError, PartnerUnreachable, outbound_http
from sidecar.ocpi.versions import VersionDetails
from tests.fixtures.http import running

pytestmark = pytest.mark.anyio

STAMP = "2026-01-01T00:00:00Z"
DETAILS = {"version": "2.2.1", "endpoints": [
    {"identifier": "credentials", "role": "SENDER", "url": "https://emsp.example.com/cred"}]}

# path -> (HTTP status, body)
ANSWERS: dict[str, tuple[int, Any]] = {
    "exact": (200, {"data": DETAILS, "status_code": 1000, "timestamp": STAMP}),
    "listed": (200, {"data": [DETAILS], "status_code": 1000, "timestamp": STAMP}),
    "no-timestamp": (200, {"data": DETAILS, "status_code": 1000}),
    "extra-fields": (200, {"data": DETAILS, "status_code": 1000, "timestamp": STAMP,
                           "status_message_extended": "x", "server": "y"}),
    "created": (201, {"data": DETAILS, "status_code": 1000, "timestamp": STAMP}),
    "no-data": (200, {"status_code": 1000, "timestamp": STAMP}),
    "created-no-data-no-timestamp": (201, {"status_code": 1000}),
    "refused": (200, {"status_code": 2001, "status_message": "bad", "timestamp": STAMP}),
    "listed-two": (200, {"data": [DETAILS, DETAILS], "status_code": 1000,
                         "timestamp": STAMP}),
    "not-json": (200, "<html>proxy</html>"),
}


async def answer(request: Request) -> Response:
    status, body = ANSWERS[request.path_params["kind"]]
    if isinstance(body, str):
        return Response(body, status, media_type="text/html")
    return JSONResponse(body, status)


@pytest.fixture
async def partner() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/{kind}", answer, methods=["GET", "PUT", "PATCH", "POST"])])
    async with running(app) as url:
        yield url


@pytest.fixture
async def other_partner() -> AsyncIterator[str]:
    app = Starlette(routes=[Route("/{kind}", answer, methods=["GET", "PUT", "PATCH", "POST"])])
    async with running(app) as url:
        yield url


@pytest.fixture
async def client() -> AsyncIterator[OCPIClient]:
    async with outbound_http(timeout=5) as http:
        yield OCPIClient(http)


def deviations(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "gateway.client" and r.levelno == logging.WARNING]


@pytest.mark.parametrize("kind", ["exact", "listed", "no-timestamp", "extra-fields", "created"])
async def test_each_accepted_form_yields_the_object(
    client: OCPIClient, partner: str, kind: str
) -> None:
    details = await client.fetch(f"{partner}/{kind}", "t", VersionDetails)
    assert details.version == "2.2.1"
    assert details.endpoints[0].identifier == "credentials"


@pytest.mark.parametrize("kind", ["no-data", "created-no-data-no-timestamp", "no-timestamp"])
@pytest.mark.parametrize("method", ["PUT", "PATCH", "POST"])
async def test_success_without_data_or_timestamp_is_success(
    client: OCPIClient, partner: str, kind: str, method: str
) -> None:
    reply = await client.request(method, f"{partner}/{kind}", "t", body=b"{}")
    assert reply.envelope.status_code == 1000
    assert reply.http_status in (200, 201)


async def test_each_deviation_is_logged_once_per_host_and_kind(
    client: OCPIClient, partner: str, other_partner: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "gateway.client")
    for _ in range(3):
        await client.fetch(f"{partner}/listed", "t", VersionDetails)
        await client.fetch(f"{partner}/no-timestamp", "t", VersionDetails)
        await client.fetch(f"{partner}/extra-fields", "t", VersionDetails)
        await client.fetch(f"{partner}/exact", "t", VersionDetails)
        await client.request("PUT", f"{partner}/no-data", "t", body=b"{}")
    logged = deviations(caplog)
    host = partner.removeprefix("http://")
    assert len(logged) == 3, logged
    assert all(host in line for line in logged)
    assert any("wrapped in a list" in line for line in logged)
    assert any("without timestamp" in line for line in logged)
    assert any("unknown fields" in line and "server" in line for line in logged)
    # Another partner's deviation is its own news.
    await client.fetch(f"{other_partner}/no-timestamp", "t", VersionDetails)
    assert len(deviations(caplog)) == 4
    assert other_partner.removeprefix("http://") in deviations(caplog)[-1]


async def test_what_stays_refused(client: OCPIClient, partner: str) -> None:
    with pytest.raises(PartnerError) as refused:
        await client.request("PUT", f"{partner}/refused", "t", body=b"{}")
    assert refused.value.status_code == 2001 and not isinstance(
        refused.value, PartnerUnreachable)
    # Two objects where one is expected are not one object.
    with pytest.raises(PartnerError, match="invalid data"):
        await client.fetch(f"{partner}/listed-two", "t", VersionDetails)
    with pytest.raises(PartnerUnreachable, match="no OCPI envelope"):
        await client.fetch(f"{partner}/not-json", "t", VersionDetails)
