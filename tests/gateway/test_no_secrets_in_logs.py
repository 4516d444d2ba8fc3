"""No token and no key in any log line, at DEBUG, over a whole partner's life: token A,
registration both ways, pushes, a token PUT, a command, a real-time authorization, rotations
both ways, a failed authentication, unregistration. Every logger of the process (ours, the
database drivers', httpx's) writes into one handler on the root logger; its text is scanned
for every token and key, as sent and Base64-encoded."""

from __future__ import annotations

import base64
import logging
from collections.abc import AsyncIterator, Iterator
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import common_pb2, ev_driver_pb2_grpc, locations_pb2_grpc, tariffs_pb2_grpc
from ocpi_sidecar.v1 import ev_driver_pb2 as ev
from sqlalchemy.exc import DBAPIError

from gateway.authorize import OCPIAuthorizer
from gateway.client import OCPIClient, outbound_http
from sidecar.servicers.server import create_server
from sidecar.store import tables
from sidecar.store.engine import Database
from tests.fixtures.cpo import ADMIN_KEY, Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.servicers.transaction_builders import location_request, tariff_request

pytestmark = pytest.mark.anyio


class Everything(logging.Handler):
    """Keeps every record as the text any formatter could show: message, traceback, fields."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        fields = getattr(record, "fields", None)
        self.texts.append(self.format(record) + (f" {fields!r}" if fields else ""))


@pytest.fixture
def captured() -> Iterator[Everything]:
    root = logging.getLogger()
    handler, level = Everything(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(level)


@pytest.fixture
async def core_channel(cpo: Cpo) -> AsyncIterator[grpc.aio.Channel]:
    """Our gRPC server (real-time authorization over HTTP) beside the running gateway."""
    async with outbound_http(timeout=5) as http:
        server, port = await create_server(
            "127.0.0.1:0", cpo.database, cpo.wakeup,
            authorizer=OCPIAuthorizer(OCPIClient(http)), authorize_timeout=2.0)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield channel
        finally:
            await server.stop(grace=None)


class Secrets:
    """Every token and key seen during the flow."""

    def __init__(self) -> None:
        self.seen: set[str] = {ADMIN_KEY}

    def note(self, *values: Any) -> None:
        self.seen.update(v for v in values if isinstance(v, str) and v)

    def of(self, emsp: FakeEmsp) -> None:
        self.note(emsp.token_for_cpo, *emsp.accepted.values())

    def forms(self) -> set[str]:
        found = set()
        for secret in self.seen:
            found.add(secret)
            for suffix in ("", "\n"):
                encoded = base64.b64encode((secret + suffix).encode()).decode()
                found.update({encoded, encoded.rstrip("=")})
        return found


async def test_no_token_or_key_is_ever_logged(
        cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp, core_channel: grpc.aio.Channel,
        captured: Everything) -> None:
    secrets = Secrets()
    # Case 1: the eMSP registers with our token A (then holds our C; we hold its C).
    issued = (await cpo.admin.post("/credentials-token-a")).json()
    secrets.note(issued["token"])
    reply = await emsp.register_with(cpo.versions_url, issued["token"])
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text
    secrets.of(emsp)
    # Case 2: we register with the second eMSP's token A.
    token_a = second_emsp.issue_token_a()
    secrets.note(token_a)
    registered = await cpo.admin.post("/partners", json={
        "versions_url": second_emsp.versions_url, "token": token_a})
    assert registered.status_code == 201, registered.text
    secrets.of(second_emsp)
    partners = {p["versions_url"]: p["id"]
                for p in (await cpo.admin.get("/partners")).json()}

    # Pushes to both.
    await tariffs_pb2_grpc.TariffServiceStub(core_channel).UpsertTariff(tariff_request())
    await locations_pb2_grpc.LocationServiceStub(core_channel).UpsertLocation(
        location_request())
    await eventually(lambda: "locations/NL/CPA/LOC1" in emsp.objects
                     and "locations/NL/CPA/LOC1" in second_emsp.objects)

    # A token PUT, a command (no core watching: it times out or is rejected), a real-time
    # authorization of a token nobody holds in the cache.
    put = await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/{OFFICIAL['uid']}",
                              json=OFFICIAL)
    assert put.status_code in (200, 201), put.text
    command = await emsp.call_cpo("POST", f"{cpo.url('commands')}/START_SESSION", json={
        "response_url": f"{emsp.url}/ocpi/2.2.1/commands/START_SESSION/1",
        "token": {**OFFICIAL, "whitelist": "NEVER"}, "location_id": "LOC1",
        "evse_uid": "EVSE1", "authorization_reference": "AUTH-1"})
    assert command.status_code == 200, command.text
    await ev_driver_pb2_grpc.EvDriverServiceStub(core_channel).AuthorizeToken(
        ev.AuthorizeTokenRequest(token_uid="UNKNOWN1", token_type=common_pb2.TOKEN_TYPE_RFID))

    # Rotations both ways: the first eMSP PUTs new credentials; we rotate the second.
    updated = await emsp.update_at_cpo()
    assert updated.status_code == 200, updated.text
    secrets.of(emsp)
    rotated = await cpo.admin.post(f"/partners/{partners[second_emsp.versions_url]}/rotate")
    assert rotated.status_code == 200, rotated.text
    secrets.of(second_emsp)

    # Credentials nobody issued, presented to both listeners.
    wrong = "not-a-token-but-looks-like-one-0123456789"
    secrets.note(wrong)
    refused = await emsp.call_cpo("GET", cpo.url("locations"), token=wrong)
    assert refused.status_code == 401
    refused = await cpo.admin.get("/partners", headers={"Authorization": f"Bearer {wrong}"})
    assert refused.status_code == 401

    # Unregistration: the first from its side, the second from ours.
    gone = await emsp.call_cpo("DELETE", emsp.cpo_endpoints["credentials"])
    assert gone.status_code == 200, gone.text
    removed = await cpo.admin.delete(f"/partners/{partners[second_emsp.versions_url]}")
    assert removed.status_code == 200, removed.text

    text = "\n".join(captured.texts)
    # The capture saw the flow at DEBUG (else finding nothing would prove nothing).
    assert "ocpi_sidecar.access" in text and " DEBUG " in text
    assert "/ocpi/cpo/2.2.1/credentials" in text
    assert len(secrets.seen) >= 8
    leaked = sorted(secret for secret in secrets.forms() if secret in text)
    assert not leaked, [line for line in captured.texts if any(s in line for s in leaked)][:5]


async def test_a_database_error_does_not_repeat_its_parameters(
        database: Database, captured: Everything) -> None:
    # On PostgreSQL the server's own DETAIL ("Failing row contains (…)") lists the values.
    secret = "token-in-a-failed-statement-0123456789"
    # Only the token given: the row breaks NOT NULL constraints, so the statement fails.
    with pytest.raises(DBAPIError) as raised:
        async with database.write() as connection:
            await connection.execute(tables.partners.insert().values(outbound_token=secret))
    logging.getLogger("ocpi_sidecar.test").error("the insert failed", exc_info=raised.value)
    assert "partners" in str(raised.value)
    assert secret not in str(raised.value) and secret not in "\n".join(captured.texts)
