"""Checklist §14 H–J: tokens, commands and charging profiles we receive."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as pb
from ocpi_sidecar.v1 import locations_pb2 as loc
from starlette.requests import Request
from starlette.responses import Response

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.http import free_socket, running
from tests.fixtures.waiting import eventually
from tests.gateway.test_charging_profiles_receiver import PROFILE, response_url
from tests.gateway.test_charging_profiles_receiver import watching as watching_profiles
from tests.gateway.test_commands_receiver import (
    Core,
    bodies,
    command,
    ev_core,
    results,
    stored_commands,
    watching,
)
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.gateway.transaction_e2e import listed, register
from tests.servicers.test_ev_driver import authorize
from tests.servicers.transaction_builders import start, token

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]  # the fixture

TOKENS = "/ocpi/2.2.1/tokens"


@pytest.mark.parametrize(("name", "value"), [("country_code", "FR"), ("party_id", "XXX")])
async def test_106_a_put_naming_another_party_than_its_url_is_2001_and_stores_nothing(
    cpo: Cpo, emsp: FakeEmsp, name: str, value: str
) -> None:
    await register(cpo, emsp)
    url = f"{cpo.url('tokens')}/DE/EMP/012345678"
    reply = await emsp.call_cpo("PUT", url, json={**OFFICIAL, name: value})
    assert reply.json()["status_code"] == 2001, reply.text
    assert name in reply.json()["status_message"]
    assert (await emsp.call_cpo("GET", url)).status_code == 404


class QueryRecordingEmsp(FakeEmsp):
    """The fake eMSP, also keeping the query string of each request it receives."""

    queries: list[tuple[str, str]]

    async def handle(self, request: Request) -> Response:
        self.queries.append((request.url.path, request.url.query))
        return await super().handle(request)


@pytest.fixture
async def recording_emsp() -> AsyncIterator[QueryRecordingEmsp]:
    fake = QueryRecordingEmsp()
    fake.queries = []
    sock = free_socket()
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(timeout=10) as http:
        fake.http = http
        async with running(fake.app(), sock):
            yield fake


async def test_111_a_never_token_is_asked_of_the_emsp_with_its_type(
    cpo: Cpo, ev_core: Core, recording_emsp: QueryRecordingEmsp
) -> None:
    emsp = recording_emsp
    await register(cpo, emsp)
    token = {**OFFICIAL, "whitelist": "NEVER"}
    await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/012345678", json=token)
    emsp.authorizations["012345678"] = {"allowed": "ALLOWED", "token": token}
    reply = await authorize(ev_core)
    assert reply.result == pb.AUTHORIZATION_RESULT_ALLOWED
    asked = [query for path, query in emsp.queries if path.endswith("/authorize")]
    assert asked == ["type=RFID"]
    (request,) = [r for r in emsp.received if r.path.endswith("/authorize")]
    assert request.path == f"{TOKENS}/012345678/authorize"
    assert request.body == {"location_id": "LOC1", "evse_uids": ["EVSE1"]}


async def test_122_an_evse_needing_a_connector_refuses_a_start_without_one(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site(capabilities=(loc.CAPABILITY_REMOTE_START_STOP_CAPABLE,
                                     loc.CAPABILITY_START_SESSION_CONNECTOR_REQUIRED))
    watcher = await watching(cpo, ev_core)
    body = {k: v for k, v in bodies(emsp)["START_SESSION"].items() if k != "connector_id"}
    reply = await command(emsp, cpo, "START_SESSION", body)
    assert reply["data"]["result"] != "ACCEPTED"
    assert await stored_commands(cpo) == 0
    await watcher.stop()


async def test_124_a_session_started_by_a_command_is_its(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    reply = await command(emsp, cpo, "START_SESSION", bodies(emsp)["START_SESSION"])
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    sent = watcher.commands[0]
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    payload = sent.start_session
    await ev_core.transactions.StartTransaction(start(
        "TX9", connector_id="1", start_command_id=sent.command_id,
        token=token(payload.token.uid, authorization_reference=payload.authorization_reference)))
    (session,) = await listed(emsp, cpo, "sessions")
    assert session["auth_method"] == "COMMAND"
    assert session["authorization_reference"] == "AUTH-1"
    assert session["cdr_token"]["uid"] == OFFICIAL["uid"]
    await watcher.stop()


async def test_127_an_emsp_cannot_cancel_a_reservation_of_another_with_the_same_id(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    reserve = await command(emsp, cpo, "RESERVE_NOW", bodies(emsp)["RESERVE_NOW"])
    assert reserve["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=watcher.commands[0].command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    await eventually(lambda: results(emsp, "RESERVE_NOW"))
    theirs_token = {**OFFICIAL, "country_code": "FR", "party_id": "MSP", "uid": "FR1",
                    "whitelist": "NEVER"}
    cancel = await command(second_emsp, cpo, "CANCEL_RESERVATION",
                           bodies(second_emsp)["CANCEL_RESERVATION"])  # the same "R1"
    assert cancel["data"]["result"] != "ACCEPTED"
    assert len(watcher.commands) == 1
    # Its own RESERVE_NOW with that id is its own reservation: another number on the
    # charger, so it replaces nothing of the first eMSP's.
    theirs = await command(second_emsp, cpo, "RESERVE_NOW",
                           {**bodies(second_emsp)["RESERVE_NOW"], "token": theirs_token})
    assert theirs["data"]["result"] == "ACCEPTED"
    await eventually(lambda: len(watcher.commands) == 2)
    first, second = (c.reserve_now for c in watcher.commands)
    assert first.reservation_id == second.reservation_id == "R1"
    assert first.ocpp_reservation_id != second.ocpp_reservation_id
    await watcher.stop()


@pytest.mark.parametrize("missing", ["location_id", "evse_uid", "connector_id"])
async def test_129_unlock_without_its_place_is_2001(
    cpo: Cpo, emsp: FakeEmsp, missing: str
) -> None:
    await register(cpo, emsp)
    body = {k: v for k, v in bodies(emsp)["UNLOCK_CONNECTOR"].items() if k != missing}
    reply = await command(emsp, cpo, "UNLOCK_CONNECTOR", body)
    assert reply["status_code"] == 2001 and missing in reply["status_message"]


async def test_135_profile_requests_for_an_unknown_session_are_unknown_session(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    watcher = await watching_profiles(cpo, ev_core)
    url = f"{cpo.url('chargingprofiles')}/NOPE"
    replies = [
        await emsp.call_cpo("PUT", url, json={**PROFILE,
                                              "response_url": response_url(emsp, "set")}),
        await emsp.call_cpo("GET", url, params={"duration": "900",
                                                "response_url": response_url(emsp, "get")}),
        await emsp.call_cpo("DELETE", url, params={"response_url": response_url(emsp,
                                                                                "clear")}),
    ]
    for reply in replies:
        assert reply.json()["data"]["result"] == "UNKNOWN_SESSION", reply.text
    assert watcher.requests == []
    await watcher.stop()
