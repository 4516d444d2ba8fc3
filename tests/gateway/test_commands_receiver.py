"""Commands end to end: the fake eMSP POSTs, a real gRPC client plays the core, results return."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import (
    common_pb2,
    ev_driver_pb2_grpc,
    locations_pb2_grpc,
    smart_charging_pb2_grpc,
    tariffs_pb2_grpc,
    transactions_pb2_grpc,
)
from ocpi_sidecar.v1 import ev_driver_pb2 as pb
from ocpi_sidecar.v1 import locations_pb2 as loc
from sqlalchemy import func, select

from gateway.authorize import OCPIAuthorizer
from gateway.client import OCPIClient, outbound_http
from sidecar.ocpi import codec
from sidecar.ocpi.commands import COMMAND_TYPES
from sidecar.ocpi.enums import CommandType
from sidecar.servicers.server import create_server
from sidecar.store import outbox, tables
from sidecar.store.commands import hub_for
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.http import free_socket
from tests.fixtures.waiting import eventually
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.gateway.transaction_e2e import listed, register
from tests.servicers.transaction_builders import location_request, start, tariff_request

pytestmark = pytest.mark.anyio


@dataclass
class Core:
    """The core's side of our gRPC server, on the running gateway's database."""

    ev: ev_driver_pb2_grpc.EvDriverServiceStub
    locations: locations_pb2_grpc.LocationServiceStub
    tariffs: tariffs_pb2_grpc.TariffServiceStub
    transactions: transactions_pb2_grpc.TransactionServiceStub
    smart: smart_charging_pb2_grpc.SmartChargingServiceStub

    async def site(self, capabilities: tuple[int, ...] = ()) -> None:
        await self.tariffs.UpsertTariff(tariff_request())
        await self.locations.UpsertLocation(location_request(connectors=2,
                                                             capabilities=capabilities))


@pytest.fixture
async def ev_core(cpo: Cpo, authorize_timeout: float) -> AsyncIterator[Core]:
    """Our gRPC server (with real-time authorization over HTTP) beside the gateway."""
    async with outbound_http(timeout=5) as http:
        server, port = await create_server(
            "127.0.0.1:0", cpo.database, cpo.wakeup,
            authorizer=OCPIAuthorizer(OCPIClient(http)), authorize_timeout=authorize_timeout)
        await server.start()
        try:
            async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
                yield Core(ev_driver_pb2_grpc.EvDriverServiceStub(channel),
                           locations_pb2_grpc.LocationServiceStub(channel),
                           tariffs_pb2_grpc.TariffServiceStub(channel),
                           transactions_pb2_grpc.TransactionServiceStub(channel),
                           smart_charging_pb2_grpc.SmartChargingServiceStub(channel))
        finally:
            await server.stop(grace=None)


class Watcher:
    """A core's WatchCommands stream, read in the background."""

    def __init__(self, core: Core, consumer: str = "core-1") -> None:
        self.call = core.ev.WatchCommands(pb.WatchCommandsRequest(consumer_id=consumer))
        self.commands: list[pb.Command] = []
        self.ended: grpc.StatusCode | None = None
        self.task = asyncio.create_task(self._read())

    async def _read(self) -> None:
        try:
            async for response in self.call:
                self.commands.append(response.command)
        except grpc.aio.AioRpcError as error:
            self.ended = error.code()

    async def stop(self) -> None:
        self.call.cancel()
        await asyncio.gather(self.task, return_exceptions=True)


async def watching(cpo: Cpo, core: Core, consumer: str = "core-1") -> Watcher:
    watcher = Watcher(core, consumer)
    await eventually(lambda: hub_for(cpo.database).connected())
    return watcher


def response_url(emsp: FakeEmsp, name: str) -> str:
    return f"{emsp.url}/ocpi/2.2.1/commands/{name}/result-{name.lower()}"


def results(emsp: FakeEmsp, name: str) -> list[Any]:
    path = response_url(emsp, name).removeprefix(emsp.url)
    return [r for r in emsp.received if r.method == "POST" and r.path == path]


def bodies(emsp: FakeEmsp) -> dict[str, dict[str, Any]]:
    """A valid body of every command, answered at `response_url(emsp, name)`."""
    token = {**OFFICIAL, "whitelist": "NEVER"}
    return {
        "START_SESSION": {"response_url": response_url(emsp, "START_SESSION"), "token": token,
                          "location_id": "LOC1", "evse_uid": "EVSE1", "connector_id": "1",
                          "authorization_reference": "AUTH-1"},
        "STOP_SESSION": {"response_url": response_url(emsp, "STOP_SESSION"),
                         "session_id": "TX1"},
        "RESERVE_NOW": {"response_url": response_url(emsp, "RESERVE_NOW"), "token": token,
                        "expiry_date": "2030-01-01T12:00:00Z", "reservation_id": "R1",
                        "location_id": "LOC1", "evse_uid": "EVSE1"},
        "CANCEL_RESERVATION": {"response_url": response_url(emsp, "CANCEL_RESERVATION"),
                               "reservation_id": "R1"},
        "UNLOCK_CONNECTOR": {"response_url": response_url(emsp, "UNLOCK_CONNECTOR"),
                             "location_id": "LOC1", "evse_uid": "EVSE1", "connector_id": "2"},
    }


async def command(emsp: FakeEmsp, cpo: Cpo, name: str, body: dict[str, Any],
                  **headers: str) -> dict[str, Any]:
    reply = await emsp.call_cpo("POST", f"{cpo.url('commands')}/{name}", json=body,
                                headers=headers)
    assert reply.status_code == 200, reply.text
    return dict(reply.json())


async def stored_commands(cpo: Cpo) -> int:
    async with cpo.database.read() as connection:
        return int((await connection.execute(
            select(func.count()).select_from(tables.commands))).scalar_one())


def test_spec_shaped_command_bodies_round_trip() -> None:
    for name, body in bodies(FakeEmsp(url="https://emsp.example.com")).items():
        parsed = codec.convert(body, COMMAND_TYPES[CommandType(name)])
        assert codec.to_builtins(parsed) == body


async def _accepted_reservation(cpo: Cpo, core: Core, emsp: FakeEmsp) -> None:
    watcher = await watching(cpo, core, "setup")
    reply = await command(emsp, cpo, "RESERVE_NOW", bodies(emsp)["RESERVE_NOW"])
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=watcher.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    await watcher.stop()
    await eventually(lambda: not hub_for(cpo.database).connected())


@pytest.mark.parametrize("name", list(CommandType))
async def test_each_command_reaches_the_core_and_its_result_the_response_url(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, name: str
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start("TX1", connector_id="1"))
    if name == "CANCEL_RESERVATION":
        await _accepted_reservation(cpo, ev_core, emsp)
    watcher = await watching(cpo, ev_core)
    reply = await command(emsp, cpo, name, bodies(emsp)[name],
                          **{"X-Correlation-ID": f"corr-{name}"})
    assert reply["status_code"] == 1000
    assert reply["data"]["result"] == "ACCEPTED" and reply["data"]["timeout"] > 0

    await eventually(lambda: watcher.commands)
    (sent,) = watcher.commands
    assert sent.type == pb.CommandType.Value(f"COMMAND_TYPE_{name}")
    assert sent.requested_by.country_code == "DE" and sent.delivery_count == 1
    payload = getattr(sent, sent.WhichOneof("payload"))
    if name == "START_SESSION":
        assert payload.token.uid == "012345678" and payload.connector_id == "1"
        assert payload.authorization_reference == "AUTH-1"
    elif name == "STOP_SESSION":
        assert payload.transaction_id == "TX1"
    elif name in ("RESERVE_NOW", "CANCEL_RESERVATION"):
        assert payload.reservation_id == "R1" and payload.ocpp_reservation_id > 0
    else:
        assert (payload.location_id, payload.evse_uid, payload.connector_id) == (
            "LOC1", "EVSE1", "2")
    await ev_core.ev.AcknowledgeCommand(pb.AcknowledgeCommandRequest(
        command_id=sent.command_id, consumer_id="core-1"))
    answer = await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    assert not answer.after_deadline

    await eventually(lambda: results(emsp, name))
    (posted,) = results(emsp, name)
    assert posted.body == {"result": "ACCEPTED"}
    assert posted.headers["x-correlation-id"] == f"corr-{name}"
    assert posted.headers["authorization"].startswith("Token ")
    await watcher.stop()


async def test_a_core_reporting_nothing_by_the_deadline_means_timeout(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    object.__setattr__(cpo.settings, "command_timeout", 1.0)
    await register(cpo, emsp)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    reply = await command(emsp, cpo, "UNLOCK_CONNECTOR", bodies(emsp)["UNLOCK_CONNECTOR"])
    assert reply["data"] == {"result": "ACCEPTED", "timeout": 1}
    await eventually(lambda: watcher.commands)
    await eventually(lambda: results(emsp, "UNLOCK_CONNECTOR"), within=10)
    assert results(emsp, "UNLOCK_CONNECTOR")[0].body == {"result": "TIMEOUT"}

    late = await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=watcher.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    assert late.after_deadline
    await asyncio.sleep(0.5)
    assert len(results(emsp, "UNLOCK_CONNECTOR")) == 1
    await watcher.stop()


async def test_without_a_core_the_command_is_rejected_and_nothing_queued(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    reply = await command(emsp, cpo, "START_SESSION", bodies(emsp)["START_SESSION"])
    assert reply["status_code"] == 1000 and reply["data"]["result"] == "REJECTED"
    assert "not connected" in reply["data"]["message"][0]["text"]
    assert await stored_commands(cpo) == 0


async def test_a_core_that_reconnects_before_acknowledging_gets_the_command_again(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    first = await watching(cpo, ev_core)
    await command(emsp, cpo, "START_SESSION", bodies(emsp)["START_SESSION"])
    await eventually(lambda: first.commands)
    await first.stop()
    await eventually(lambda: not hub_for(cpo.database).connected())

    second = await watching(cpo, ev_core)
    await eventually(lambda: second.commands)
    assert second.commands[0].command_id == first.commands[0].command_id
    assert second.commands[0].delivery_count == 2
    for _ in range(2):  # a report repeated (say, after a retry) still makes one POST
        await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
            command_id=second.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_REJECTED,
            messages=[common_pb2.DisplayText(language="en", text="no cable")]))
    await eventually(lambda: results(emsp, "START_SESSION"))
    await asyncio.sleep(0.5)
    assert [r.body for r in results(emsp, "START_SESSION")] == [
        {"result": "REJECTED", "message": [{"language": "en", "text": "no cable"}]}]

    # Acknowledged commands are not delivered again.
    await second.stop()
    third = await watching(cpo, ev_core)
    await asyncio.sleep(0.3)
    assert third.commands == []
    await third.stop()


async def test_an_emsp_cannot_stop_another_emsps_session_or_use_its_tokens(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start("TX1", connector_id="1"))  # DE/EMP's token
    watcher = await watching(cpo, ev_core)
    stop = await command(second_emsp, cpo, "STOP_SESSION", bodies(second_emsp)["STOP_SESSION"])
    assert stop["data"]["result"] == "UNKNOWN_SESSION"
    unknown = await command(emsp, cpo, "STOP_SESSION",
                            {**bodies(emsp)["STOP_SESSION"], "session_id": "NOPE"})
    assert unknown["data"]["result"] == "UNKNOWN_SESSION"
    start_ = await command(second_emsp, cpo, "START_SESSION",
                           bodies(second_emsp)["START_SESSION"])  # the token is DE/EMP's
    assert start_["data"]["result"] == "REJECTED"
    cancel = await command(second_emsp, cpo, "CANCEL_RESERVATION",
                           bodies(second_emsp)["CANCEL_RESERVATION"])
    assert cancel["data"]["result"] == "REJECTED"
    await asyncio.sleep(0.3)
    assert watcher.commands == [] and await stored_commands(cpo) == 0
    await watcher.stop()


async def test_a_partner_claiming_another_partners_party_cannot_use_its_tokens(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    cached = {**OFFICIAL, "uid": "TA1", "whitelist": "ALWAYS"}
    put = await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/TA1", json=cached)
    assert put.json()["status_code"] == 1000
    second_emsp.extra_parties = [("DE", "EMP")]  # A's party, as a hostile eMSP would
    await second_emsp.update_at_cpo()
    stolen = await second_emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/TA1",
                                        json={**cached, "contract_id": "DE8ACCSTOLEN01"})
    assert stolen.status_code == 404
    answer = await ev_core.ev.AuthorizeToken(pb.AuthorizeTokenRequest(
        token_uid="TA1", token_type=common_pb2.TOKEN_TYPE_RFID))
    assert answer.token.contract_id == OFFICIAL["contract_id"]
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    start_ = await command(second_emsp, cpo, "START_SESSION",
                           bodies(second_emsp)["START_SESSION"])  # the token is DE/EMP's
    assert start_["data"]["result"] == "REJECTED"
    assert await stored_commands(cpo) == 0
    await watcher.stop()
    # A session of a DE/EMP token is A's: listed to A, never to B.
    await ev_core.transactions.StartTransaction(start("TX1", connector_id="1"))
    assert [s["id"] for s in await listed(emsp, cpo, "sessions")] == ["TX1"]
    assert await listed(second_emsp, cpo, "sessions") == []


async def test_unknown_places_are_2003_rejected(cpo: Cpo, ev_core: Core, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    for changes in ({"location_id": "NOWHERE"}, {"evse_uid": "NOPE"}, {"connector_id": "9"}):
        body = {**bodies(emsp)["START_SESSION"], **changes}
        reply = await command(emsp, cpo, "START_SESSION", body)
        assert reply["status_code"] == 2003 and reply["data"]["result"] == "REJECTED", changes
    assert await stored_commands(cpo) == 0
    await watcher.stop()


@pytest.mark.parametrize(("name", "change", "field"), [
    ("START_SESSION", {"evse_uid": None}, "evse_uid"),
    ("START_SESSION", {"token": {**OFFICIAL, "whitelist": None}}, "token.whitelist"),
    ("UNLOCK_CONNECTOR", {"connector_id": None}, "connector_id"),
    ("RESERVE_NOW", {"expiry_date": "tomorrow"}, "expiry_date"),
    ("STOP_SESSION", {"response_url": None}, "response_url"),
])
async def test_bad_command_bodies_return_2001_naming_the_field(
    cpo: Cpo, emsp: FakeEmsp, name: str, change: dict[str, Any], field: str
) -> None:
    await register(cpo, emsp)
    body = {k: v for k, v in {**bodies(emsp)[name], **change}.items() if v is not None}
    if "token" in change:
        body["token"] = {k: v for k, v in change["token"].items() if v is not None}
    reply = await command(emsp, cpo, name, body)
    assert reply["status_code"] == 2001, reply
    assert field in reply["status_message"]


async def test_an_unknown_command_is_not_accepted(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    reply = await emsp.call_cpo("POST", f"{cpo.url('commands')}/FOO", json={})
    assert reply.status_code == 404 and reply.json()["status_code"] == 2001


async def test_each_command_goes_to_one_stream_and_a_reused_consumer_id_replaces_it(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    first = await watching(cpo, ev_core, "core-a")
    other = Watcher(ev_core, "core-b")
    await command(emsp, cpo, "UNLOCK_CONNECTOR", bodies(emsp)["UNLOCK_CONNECTOR"])
    await eventually(lambda: first.commands or other.commands)
    await asyncio.sleep(0.3)
    assert len(first.commands) + len(other.commands) == 1
    holder, idle = (first, other) if first.commands else (other, first)

    # The holder's consumer id opens a new stream: the old one ends, the new one gets it.
    again = Watcher(ev_core, "core-a" if holder is first else "core-b")
    await eventually(lambda: holder.ended is not None and again.commands)
    assert holder.ended == grpc.StatusCode.ABORTED
    assert again.commands[0].command_id == holder.commands[0].command_id
    assert idle.commands == []

    # A second, different result for the command is a conflict; the same one is a replay.
    report = pb.ReportCommandResultRequest(command_id=again.commands[0].command_id,
                                           result=pb.COMMAND_RESULT_TYPE_ACCEPTED)
    assert not (await ev_core.ev.ReportCommandResult(report)).after_deadline
    assert not (await ev_core.ev.ReportCommandResult(report)).after_deadline
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
            command_id=report.command_id, result=pb.COMMAND_RESULT_TYPE_FAILED))
    assert raised.value.code() == grpc.StatusCode.ALREADY_EXISTS
    await eventually(lambda: results(emsp, "UNLOCK_CONNECTOR"))
    for watcher in (idle, again):
        await watcher.stop()


async def test_an_evse_listing_capabilities_without_the_needed_one_is_not_supported(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site(capabilities=(loc.CAPABILITY_RFID_READER,
                                     loc.CAPABILITY_REMOTE_START_STOP_CAPABLE))
    watcher = await watching(cpo, ev_core)
    for name in ("RESERVE_NOW", "UNLOCK_CONNECTOR"):
        reply = await command(emsp, cpo, name, bodies(emsp)[name])
        assert reply["data"]["result"] == "NOT_SUPPORTED", name
    start_ = await command(emsp, cpo, "START_SESSION", bodies(emsp)["START_SESSION"])
    assert start_["data"]["result"] == "ACCEPTED"
    await watcher.stop()


async def test_an_unusable_response_url_is_tried_a_few_times_and_delays_nothing(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    partner = await register(cpo, emsp)
    await ev_core.site()
    closed = free_socket()
    dead_url = f"http://127.0.0.1:{closed.getsockname()[1]}/results/unlock"
    closed.close()  # nothing listens there any more: every POST is refused
    watcher = await watching(cpo, ev_core)
    body = {**bodies(emsp)["UNLOCK_CONNECTOR"], "response_url": dead_url}
    reply = await command(emsp, cpo, "UNLOCK_CONNECTOR", body)
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=watcher.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))

    async def attempts_to_dead_url() -> int:
        async with cpo.database.read() as connection:
            return int(await connection.scalar(select(func.count()).select_from(
                tables.push_attempts).where(tables.push_attempts.c.url == dead_url)) or 0)

    async def dropped() -> bool:
        async with cpo.database.read() as connection:
            left = await connection.scalar(select(func.count()).select_from(
                tables.outbox).where(tables.outbox.c.module == "commands"))
        return left == 0 and await attempts_to_dead_url() > 0
    # Meanwhile the partner is not backing off: a status change reaches it at once.
    await ev_core.locations.SetEvseStatus(loc.SetEvseStatusRequest(
        idempotency_key="st-1", location_id="LOC1", evse_uid="EVSE1",
        timestamp=watcher.commands[0].created_at,
        ocpp16_status=loc.OCPP16_CHARGE_POINT_STATUS_CHARGING))
    await eventually(lambda: any(r.method == "PATCH" for r in emsp.received))
    await eventually(dropped, within=30)
    assert await attempts_to_dead_url() == outbox.RESULT_ATTEMPTS
    async with cpo.database.read() as connection:
        row = (await connection.execute(select(tables.partners).where(
            tables.partners.c.id == partner))).one()
    assert row.push_backoff_until is None and row.push_failing_since is None
    await watcher.stop()
