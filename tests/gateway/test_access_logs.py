"""One access line per HTTP request on either listener, with every field, over real servers."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_push import register

pytestmark = pytest.mark.anyio

LOCATION = "/ocpi/cpo/2.2.1/locations/{location_id}"


def access_lines(caplog: pytest.LogCaptureFixture) -> list[dict[str, Any]]:
    return [r.fields for r in caplog.records  # type: ignore[attr-defined]
            if r.name == "ocpi_sidecar.access" and "route" in getattr(r, "fields", {})]


async def line_of(caplog: pytest.LogCaptureFixture, request_id: str) -> dict[str, Any]:
    """The one line of the request sent with this X-Request-ID (written after the answer)."""
    def found() -> list[dict[str, Any]]:
        return [f for f in access_lines(caplog) if f["request_id"] == request_id]
    await eventually(found, within=5)
    [line] = found()
    return line


@pytest.fixture
def access(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="ocpi_sidecar.access")
    return caplog


async def test_an_ocpi_request_line_names_route_partner_statuses_and_ids(
        cpo: Cpo, emsp: FakeEmsp, access: pytest.LogCaptureFixture) -> None:
    partner = await register(cpo, emsp)
    reply = await emsp.call_cpo("GET", f"{cpo.url('locations')}/NOPE", headers={
        "X-Request-ID": "req-1", "X-Correlation-ID": "corr-1"})
    assert reply.status_code == 404 and reply.json()["status_code"] == 2003
    # The header that tells the access log the OCPI status never leaves the process.
    assert "x-ocpi-status-code" not in reply.headers
    line = await line_of(access, "req-1")
    assert line == {"listener": "ocpi", "method": "GET", "route": LOCATION,
                    "partner": partner, "status": 404, "ocpi_status": 2003,
                    "duration_ms": line["duration_ms"], "request_id": "req-1",
                    "correlation_id": "corr-1"}
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    [record] = [r for r in access.records if getattr(r, "fields", None) is line]
    assert record.levelno == logging.INFO
    assert LOCATION in record.getMessage() and "NOPE" not in record.getMessage()


async def test_a_success_carries_1000_and_made_up_ids(
        cpo: Cpo, emsp: FakeEmsp, access: pytest.LogCaptureFixture) -> None:
    await register(cpo, emsp)
    reply = await emsp.call_cpo("GET", cpo.url("locations"))
    assert reply.status_code == 200
    line = await line_of(access, reply.headers["x-request-id"])
    assert (line["route"], line["status"], line["ocpi_status"]) == (
        "/ocpi/cpo/2.2.1/locations", 200, 1000)
    # No X-Correlation-ID sent: the request id stands for it, as in the answer.
    assert line["correlation_id"] == reply.headers["x-correlation-id"] == line["request_id"]


async def test_unknown_paths_and_unknown_tokens_have_bounded_fields(
        cpo: Cpo, access: pytest.LogCaptureFixture) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        unknown = await client.get(f"{cpo.settings.public_url}/ocpi/cpo/2.2.1/no/such/thing/123",
                                   headers={"X-Request-ID": "req-404"})
        bad_token = await client.get(cpo.versions_url, headers={
            "X-Request-ID": "req-401", "Authorization": "Token bm90LWEtdG9rZW4="})
        odd_method = await client.request("BREW", cpo.versions_url,
                                          headers={"X-Request-ID": "req-brew"})
    assert unknown.status_code == 404 and bad_token.status_code == 401
    line = await line_of(access, "req-404")
    assert (line["route"], line["partner"], line["ocpi_status"]) == ("unmatched", None, 2000)
    line = await line_of(access, "req-401")
    assert (line["route"], line["partner"], line["status"]) == ("/ocpi/versions", None, 401)
    line = await line_of(access, "req-brew")
    assert (line["method"], line["status"]) == ("OTHER", odd_method.status_code)


async def test_admin_requests_are_logged_without_an_ocpi_status(
        cpo: Cpo, access: pytest.LogCaptureFixture) -> None:
    reply = await cpo.admin.get("/partners/12345", headers={"X-Request-ID": "adm-1"})
    assert reply.status_code == 404
    line = await line_of(access, "adm-1")
    assert line["listener"] == "admin" and line["route"] == "/admin/partners/{partner_id}"
    assert (line["status"], line["ocpi_status"], line["partner"]) == (404, None, None)


async def test_probes_are_counted_but_logged_only_at_debug(
        cpo: Cpo, access: pytest.LogCaptureFixture) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        reply = await client.get(f"{cpo.settings.admin_url}/healthz",
                                 headers={"X-Request-ID": "probe-1"})
    assert reply.status_code == 200
    # A later request's line is written after the probe's would have been.
    await cpo.admin.get("/partners", headers={"X-Request-ID": "after-probe"})
    await line_of(access, "after-probe")
    assert not [f for f in access_lines(access) if f["request_id"] == "probe-1"]
