"""/metrics on the admin listener: request counts by route template, push outcomes by partner
and module, the outbox per partner; and a refused push logged once, not per retry."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta

import grpc
import pytest
from ocpi_sidecar.v1 import common_pb2, ev_driver_pb2_grpc
from ocpi_sidecar.v1 import ev_driver_pb2 as ev
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import update

from gateway.authorize import OCPIAuthorizer
from gateway.client import OCPIClient, outbound_http
from sidecar import metrics
from sidecar.servicers.server import create_server
from sidecar.store import tables
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_push import KEY, our_location, register, store_location
from tests.gateway.test_tokens_receiver import OFFICIAL

pytestmark = pytest.mark.anyio


async def scrape(cpo: Cpo) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    reply = await cpo.admin.get(f"{cpo.settings.admin_url}/metrics")
    assert reply.status_code == 200, reply.text
    return {(sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(reply.text)
            for sample in family.samples}


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def test_requests_are_counted_by_route_template_and_status(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    route = "/ocpi/cpo/2.2.1/locations/{location_id}"
    labels = {"listener": "ocpi", "method": "GET", "route": route, "status": "404"}
    before = value(await scrape(cpo), "ocpi_sidecar_http_requests_total", **labels)
    for location_id in ("A1", "B2", "C3"):
        await emsp.call_cpo("GET", f"{cpo.url('locations')}/{location_id}")
    samples = await scrape(cpo)
    assert value(samples, "ocpi_sidecar_http_requests_total", **labels) == before + 3
    assert value(samples, "ocpi_sidecar_http_request_duration_seconds_count",
                 listener="ocpi", method="GET", route=route) >= 3
    # Raw paths never become label values.
    assert not [key for key in samples if any("A1" in v for _, v in key[1])]


async def test_a_refused_push_shows_in_metrics_and_is_logged_once(
        cpo: Cpo, emsp: FakeEmsp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocpi_sidecar.push")
    partner = str(await register(cpo, emsp))
    refused = {"partner": partner, "module": "locations", "outcome": "refused"}
    before = value(await scrape(cpo), "ocpi_sidecar_push_attempts_total", **refused)
    emsp.refusals[KEY] = (400, 2001)
    await store_location(cpo, our_location())

    async def counted(times: int) -> bool:
        samples = await scrape(cpo)
        return value(samples, "ocpi_sidecar_push_attempts_total", **refused) >= before + times

    await eventually(lambda: counted(1), within=5)
    samples = await scrape(cpo)
    assert value(samples, "ocpi_sidecar_outbox_pending", partner=partner) == 1
    assert value(samples, "ocpi_sidecar_outbox_oldest_pending_age_seconds",
                 partner=partner) >= 0
    # Make the refused object due again at once, twice: two more refusals, no more lines.
    for times in (2, 3):
        async with cpo.database.write() as connection:
            await connection.execute(update(tables.outbox).values(
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        cpo.wakeup.notify()
        await eventually(lambda t=times: counted(t), within=5)
    refusals = [r for r in caplog.records
                if r.name == "ocpi_sidecar.push" and "refused" in r.getMessage()]
    assert len(refusals) == 1, [r.getMessage() for r in refusals]
    [line] = refusals
    assert line.levelno == logging.WARNING
    # The partner's own status code and message are in the line.
    assert "OCPI 2001" in line.getMessage() and "refused" in line.fields["error"]  # type: ignore[attr-defined]
    assert line.fields["ocpi_status"] == 2001  # type: ignore[attr-defined]


async def test_a_failing_partner_is_logged_when_it_starts_failing_and_when_it_recovers(
        cpo: Cpo, emsp: FakeEmsp, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ocpi_sidecar.push")
    partner = str(await register(cpo, emsp))
    unreachable = {"partner": partner, "module": "locations", "outcome": "unreachable"}
    emsp.failure = (503, 3000)
    await store_location(cpo, our_location())

    async def failed(times: int) -> bool:
        samples = await scrape(cpo)
        return value(samples, "ocpi_sidecar_push_attempts_total", **unreachable) >= times

    await eventually(lambda: failed(1), within=5)
    for times in (2, 3, 4):
        async with cpo.database.write() as connection:
            await connection.execute(update(tables.partners).values(push_backoff_until=None))
            await connection.execute(update(tables.outbox).values(
                next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
        cpo.wakeup.notify()
        await eventually(lambda t=times: failed(t), within=5)
    emsp.failure = None
    async with cpo.database.write() as connection:
        await connection.execute(update(tables.partners).values(push_backoff_until=None))
        await connection.execute(update(tables.outbox).values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    cpo.wakeup.notify()
    await eventually(lambda: KEY in emsp.objects, within=5)

    def lines() -> list[logging.LogRecord]:
        return [r for r in caplog.records if r.name == "ocpi_sidecar.push"]

    await eventually(lambda: any("work again" in r.getMessage() for r in lines()), within=5)
    failing = [r for r in lines() if "failing" in r.getMessage()]
    assert len(failing) == 1 and failing[0].levelno == logging.WARNING
    assert "HTTP 503" in failing[0].getMessage()
    [recovered] = [r for r in lines() if "work again" in r.getMessage()]
    assert recovered.levelno == logging.INFO


async def test_real_time_authorization_latency_is_observed_by_outcome(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    emsp.authorizations["KNOWN1"] = {"allowed": "ALLOWED", "token": {**OFFICIAL, "uid": "KNOWN1"}}

    def observed(outcome: str) -> float:
        return metrics.REGISTRY.get_sample_value(
            "ocpi_sidecar_realtime_authorize_duration_seconds_count", {"outcome": outcome}) or 0.0

    before = {outcome: observed(outcome) for outcome in ("answered", "unknown")}
    async with outbound_http(timeout=5) as http:
        server, port = await create_server(
            "127.0.0.1:0", cpo.database, cpo.wakeup,
            authorizer=OCPIAuthorizer(OCPIClient(http)), authorize_timeout=2.0)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                stub = ev_driver_pb2_grpc.EvDriverServiceStub(channel)
                for uid in ("KNOWN1", "NOBODY1"):
                    await stub.AuthorizeToken(ev.AuthorizeTokenRequest(
                        token_uid=uid, token_type=common_pb2.TOKEN_TYPE_RFID))
        finally:
            await server.stop(grace=None)
    assert observed("answered") == before["answered"] + 1
    assert observed("unknown") == before["unknown"] + 1
