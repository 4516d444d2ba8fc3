"""Roaming through a hub, and a platform of several eMSP parties, end to end: real HTTP on
loopback (our gateway, a fake hub), real gRPC for the core."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as evpb

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.hub import FakeHub
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, ev_core, results, watching
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.gateway.transaction_e2e import register
from tests.servicers.transaction_builders import T0, end, start, token

pytestmark = pytest.mark.anyio

__all__ = ["ev_core"]  # the fixture

EMP = ("FR", "EMP")


def hub_token(uid: str = "HUBTOKEN1", party: tuple[str, str] = EMP) -> dict[str, Any]:
    return {**OFFICIAL, "country_code": party[0], "party_id": party[1], "uid": uid,
            "contract_id": f"{party[0]}-{party[1]}-C1", "whitelist": "ALWAYS"}


async def connected_hub(cpo: Cpo, hub: FakeHub) -> int:
    """Register with the hub and wait for its HubClientInfo to be pulled."""
    partner_id = await register(cpo, hub)

    async def held() -> bool:
        view = (await cpo.admin.get(f"/partners/{partner_id}")).json()
        return sum(c["held"] for c in view.get("hub_clients", [])) == len(hub.parties)
    await eventually(held)
    return partner_id


def routed_to(request: Any) -> tuple[str | None, str | None]:
    return (request.headers.get("ocpi-to-country-code"),
            request.headers.get("ocpi-to-party-id"))


async def test_a_token_of_a_party_behind_the_hub_is_stored_with_or_without_routing(
    cpo: Cpo, hub: FakeHub
) -> None:
    await connected_hub(cpo, hub)
    body = hub_token()
    url = f"{cpo.url('tokens')}/FR/EMP/{body['uid']}"
    reply = await hub.forward(EMP, "PUT", url, json=body)
    assert reply.status_code == 201 and reply.json()["status_code"] == 1000, reply.text
    # The answer echoes the routing headers swapped.
    assert reply.headers["ocpi-to-party-id"] == "EMP"
    got = await hub.forward(EMP, "GET", url)
    assert got.json()["data"]["uid"] == body["uid"]
    plain = await hub.call_cpo("PUT", f"{cpo.url('tokens')}/IT/EMX/T2",
                               json=hub_token("T2", ("IT", "EMX")))
    assert plain.status_code == 201, plain.text
    # A party the hub does not list stays refused.
    other = await hub.forward(("NL", "XXX"), "GET", url)
    assert other.json()["status_code"] == 2001


async def test_sessions_and_cdrs_of_a_party_behind_the_hub_go_to_it_addressed_to_the_party(
    cpo: Cpo, ev_core: Core, hub: FakeHub
) -> None:
    await connected_hub(cpo, hub)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start(token=token(party=EMP), connector_id="1"))
    await eventually(lambda: hub.to(EMP, "PUT", "/sessions/NL/CPA/TX1"))
    sent = hub.to(EMP, "PUT", "/sessions/NL/CPA/TX1")[0]
    assert (sent.headers["ocpi-from-country-code"], sent.headers["ocpi-from-party-id"]) == (
        "NL", "CPA")
    await ev_core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=20),
                                                  meter_stop="15000"))
    await eventually(lambda: hub.to(EMP, "POST", "/cdrs"))
    # Locations are a broadcast: once to the hub, addressed to the hub.
    locations = [r for r in hub.received if r.method == "PUT" and "/locations/" in r.path]
    assert locations and {routed_to(r) for r in locations} == {("DE", "HUB")}


async def test_a_start_session_through_the_hub_gets_its_result_back_to_the_party(
    cpo: Cpo, ev_core: Core, hub: FakeHub
) -> None:
    await connected_hub(cpo, hub)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    url = f"{hub.url}/ocpi/2.2.1/commands/START_SESSION/result-start_session"
    body = {"response_url": url, "token": {**hub_token(), "whitelist": "NEVER"},
            "location_id": "LOC1", "evse_uid": "EVSE1", "connector_id": "1"}
    reply = await hub.forward(EMP, "POST", f"{cpo.url('commands')}/START_SESSION", json=body)
    assert reply.json()["data"]["result"] == "ACCEPTED", reply.text
    await eventually(lambda: watcher.commands)
    sent = watcher.commands[0]
    await ev_core.ev.ReportCommandResult(evpb.ReportCommandResultRequest(
        command_id=sent.command_id, result=evpb.COMMAND_RESULT_TYPE_ACCEPTED))
    await eventually(lambda: results(hub, "START_SESSION"))
    assert routed_to(results(hub, "START_SESSION")[0]) == EMP
    await watcher.stop()


async def test_an_unknown_rfid_is_asked_of_the_hub_with_routing_headers(
    cpo: Cpo, ev_core: Core, hub: FakeHub
) -> None:
    await connected_hub(cpo, hub)
    await ev_core.site()
    hub.authorizations["CARD99"] = {"allowed": "ALLOWED", "token": hub_token("CARD99")}
    answer = await ev_core.ev.AuthorizeToken(evpb.AuthorizeTokenRequest(
        token_uid="CARD99", location_id="LOC1"))
    assert answer.result == evpb.AUTHORIZATION_RESULT_ALLOWED
    asked = [r for r in hub.received if r.path.endswith("/CARD99/authorize")]
    assert asked and asked[0].headers["ocpi-from-party-id"] == "CPA"
    assert routed_to(asked[0]) == ("DE", "HUB")


async def test_a_party_the_hub_reports_offline_gets_its_session_once_connected_again(
    cpo: Cpo, ev_core: Core, hub: FakeHub
) -> None:
    await connected_hub(cpo, hub)
    await ev_core.site()
    info = {"country_code": "FR", "party_id": "EMP", "role": "EMSP", "status": "OFFLINE",
            "last_updated": "2026-01-02T00:00:00Z"}
    url = f"{cpo.url('hubclientinfo')}/FR/EMP"
    reply = await hub.call_cpo("PUT", url, json=info)
    assert reply.json()["status_code"] == 1000, reply.text
    await ev_core.transactions.StartTransaction(start(token=token(party=EMP), connector_id="1"))
    await ev_core.transactions.StartTransaction(start("TX2", connector_id="2", token=token(
        "CARD2", party=("IT", "EMX"))))
    # The other party's session goes on; the offline one's waits.
    await eventually(lambda: hub.to(("IT", "EMX"), "PUT", "/sessions/NL/CPA/TX2"))
    assert not hub.to(EMP, "PUT", "/sessions/NL/CPA/TX1")
    reply = await hub.call_cpo("PUT", url, json={**info, "status": "CONNECTED",
                                                 "last_updated": "2026-01-02T00:01:00Z"})
    assert reply.json()["status_code"] == 1000
    await eventually(lambda: hub.to(EMP, "PUT", "/sessions/NL/CPA/TX1"))


async def test_a_platform_of_two_emsp_parties_gets_each_session_addressed_to_its_party(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    emsp.country_code, emsp.party_id = "NL", "EXA"
    emsp.extra_parties = [("BE", "EXB")]
    await register(cpo, emsp)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(
        start(token=token(party=("BE", "EXB")), connector_id="1"))
    await eventually(lambda: any(r.path.endswith("/sessions/NL/CPA/TX1")
                                 for r in emsp.received))
    sent = next(r for r in emsp.received if r.path.endswith("/sessions/NL/CPA/TX1"))
    assert routed_to(sent) == ("BE", "EXB")


async def test_hubclientinfo_is_in_our_version_details(cpo: Cpo, hub: FakeHub) -> None:
    await connected_hub(cpo, hub)
    details = await hub.call_cpo("GET", cpo.versions_url.replace("versions", "cpo/2.2.1"))
    assert {"identifier": "hubclientinfo", "role": "RECEIVER"} in [
        {k: e[k] for k in ("identifier", "role")} for e in details.json()["data"]["endpoints"]]


