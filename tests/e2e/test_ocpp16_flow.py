"""OCPP 1.6J end to end: simulated charge point → reference CSMS → serve → fake eMSP."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import pytest
import websockets
from simulators.ocpp16 import ChargePoint16Sim

from tests.fixtures.csms import (
    CONTRACT_ID,
    TOKEN_UID,
    Csms,
    RestartableServe,
    emsp_knows,
    emsp_token,
    hand_priced,
    one_cdr,
    session_status,
)
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio


async def test_status_changes_reach_the_emsp_and_offline_shows_unknown(csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await eventually(lambda: csms.evse_status("CP16-1") == "AVAILABLE"
                         and csms.evse_status("CP16-2") == "AVAILABLE", within=30)
        await cp.status(2, "Faulted", error_code="GroundFailure")
        await eventually(lambda: csms.evse_status("CP16-2") == "OUTOFORDER", within=30)
        await cp.plug_in(1)
        await eventually(lambda: csms.evse_status("CP16-1") == "CHARGING", within=30)
    await eventually(lambda: csms.evse_status("CP16-1") == "UNKNOWN"
                     and csms.evse_status("CP16-2") == "UNKNOWN", within=30)
    patches = csms.requests("PATCH", "locations/NL/CPA/REF-LOC1")
    assert patches and all(set(p.body) == {"status", "last_updated"} for p in patches)
    # The CP201 EVSE was never connected: no status change for it was sent.
    assert all("CP201" not in p.path for p in patches)


async def test_an_rfid_authorised_in_real_time_charges_and_the_emsp_gets_session_and_cdr(
        csms: Csms) -> None:
    await emsp_knows(csms)
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await cp.plug_in(1)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        # The CPO asked the eMSP, at this charge point's location and EVSEs.
        (asked,) = [r for r in csms.emsp.received if r.path.endswith("/authorize")]
        assert asked.body == {"location_id": "REF-LOC1", "evse_uids": ["CP16-1", "CP16-2"]}
        transaction_id = await cp.start_transaction(1, TOKEN_UID)
        meter_start = cp.meters[1]
        active = await session_status(csms, str(transaction_id), "ACTIVE")
        assert active["evse_uid"] == "CP16-1" and active["connector_id"] == "1"
        assert active["auth_method"] == "AUTH_REQUEST"
        assert active["authorization_reference"] == f"REF-{TOKEN_UID}"
        assert active["cdr_token"]["uid"] == TOKEN_UID
        assert active["cdr_token"]["contract_id"] == CONTRACT_ID
        await cp.charge(1, kwh=2.5, kw=11)
        await cp.stop_transaction(1)
        await cp.unplug(1)
        kwh = (cp.meters[1] - meter_start) / 1000

    session = await session_status(csms, str(transaction_id), "COMPLETED")
    assert session["kwh"] == pytest.approx(kwh)
    assert csms.requests("PUT", f"sessions/NL/CPA/{transaction_id}")
    cdr = await one_cdr(csms, str(transaction_id))
    assert cdr["total_energy"] == pytest.approx(kwh)
    excl, incl = hand_priced(kwh)
    assert cdr["total_cost"]["excl_vat"] == pytest.approx(excl)
    assert cdr["total_cost"]["incl_vat"] == pytest.approx(incl)
    assert cdr["cdr_token"]["uid"] == TOKEN_UID
    assert cdr["cdr_location"]["evse_uid"] == "CP16-1"


async def test_an_rfid_the_emsp_blocks_is_refused_and_nothing_is_charged(csms: Csms) -> None:
    await emsp_knows(csms, allowed="BLOCKED")
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        assert await cp.swipe(TOKEN_UID) == "Blocked"
        # A charge point that starts anyway (say, from a stale local list) is refused.
        assert await cp.start_transaction(1, TOKEN_UID) == 0
    assert not csms.requests("PUT", "sessions")
    assert not csms.bridge.transactions


async def test_unlock_and_a_command_to_an_offline_charge_point(csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        answer = await csms.command("UNLOCK_CONNECTOR", {
            "location_id": "REF-LOC1", "evse_uid": "CP16-2", "connector_id": "1"}, "unlock")
        assert answer["result"] == "ACCEPTED"
        assert (await csms.command_result("UNLOCK_CONNECTOR", "unlock"))["result"] == "ACCEPTED"
        assert ("UnlockConnector", {"connector_id": 2}) in cp.received
    # Gone (the bridge has noticed: the EVSEs are UNKNOWN): the eMSP hears the EVSE is
    # inoperative, not a timeout.
    await eventually(lambda: csms.evse_status("CP16-1") == "UNKNOWN", within=30)
    await csms.command("UNLOCK_CONNECTOR", {
        "location_id": "REF-LOC1", "evse_uid": "CP16-1", "connector_id": "1"}, "offline")
    result = await csms.command_result("UNLOCK_CONNECTOR", "offline")
    assert result["result"] == "EVSE_INOPERATIVE"


PROFILE = {"charging_profile": {
    "charging_rate_unit": "W", "min_charging_rate": 1000.5,
    "charging_profile_period": [{"start_period": 0, "limit": 11000},
                                {"start_period": 1800, "limit": 7400.5}]}}


async def test_charging_profiles_from_the_emsp_reach_the_charge_point(csms: Csms) -> None:
    await emsp_knows(csms)
    profiles = f"{csms.emsp.cpo_endpoints['chargingprofiles']}"
    results = f"{csms.emsp.url}/ocpi/2.2.1/chargingprofiles/results"
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await cp.plug_in(2)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        transaction_id = await cp.start_transaction(2, TOKEN_UID)
        await session_status(csms, str(transaction_id), "ACTIVE")
        put = await csms.emsp.call_cpo("PUT", f"{profiles}/{transaction_id}", json={
            **PROFILE, "response_url": f"{results}/set"})
        assert put.json()["data"]["result"] == "ACCEPTED", put.text
        set_result = await csms.result_at("/ocpi/2.2.1/chargingprofiles/results/set")
        assert set_result["result"] == "ACCEPTED"
        sent = cp.profiles[2]
        assert sent["transaction_id"] == transaction_id
        assert sent["charging_profile_purpose"] == "TxProfile"
        assert sent["charging_profile_kind"] == "Relative"
        assert sent["charging_schedule"]["charging_rate_unit"] == "W"
        assert [(p["start_period"], p["limit"])
                for p in sent["charging_schedule"]["charging_schedule_period"]] == [
            (0, 11000), (1800, 7400.5)]

        get = await csms.emsp.call_cpo("GET", f"{profiles}/{transaction_id}", params={
            "duration": "900", "response_url": f"{results}/get"})
        assert get.json()["data"]["result"] == "ACCEPTED", get.text
        active = await csms.result_at("/ocpi/2.2.1/chargingprofiles/results/get")
        assert active["result"] == "ACCEPTED"
        periods = active["profile"]["charging_profile"]["charging_profile_period"]
        assert [(p["start_period"], p["limit"]) for p in periods] == [(0, 11000), (1800, 7400.5)]
        assert ("GetCompositeSchedule", {"connector_id": 2, "duration": 900}) in cp.received

        delete = await csms.emsp.call_cpo("DELETE", f"{profiles}/{transaction_id}", params={
            "response_url": f"{results}/clear"})
        assert delete.json()["data"]["result"] == "ACCEPTED", delete.text
        cleared = await csms.result_at("/ocpi/2.2.1/chargingprofiles/results/clear")
        assert cleared["result"] == "ACCEPTED"
        assert 2 not in cp.profiles


def _reservation(evse_uid: str, name: str) -> dict[str, object]:
    return {"token": emsp_token(), "expiry_date": "2030-01-01T12:00:00Z",
            "reservation_id": f"RES-{name}", "location_id": "REF-LOC1", "evse_uid": evse_uid}


async def _reserved_session(csms: Csms) -> dict[str, object]:
    def reserved() -> list[object]:
        return [r for r in csms.requests("PUT", "sessions") if r.body["status"] == "RESERVATION"]

    await eventually(reserved, within=30)
    (put,) = reserved()
    body: dict[str, object] = put.body
    return body


async def test_a_reservation_is_held_at_the_charge_point_and_its_driver_charges_in_it(
        csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        answer = await csms.command("RESERVE_NOW", _reservation("CP16-2", "used"), "reserve")
        assert answer["result"] == "ACCEPTED"
        assert (await csms.command_result("RESERVE_NOW", "reserve"))["result"] == "ACCEPTED"
        ((action, sent),) = [(a, p) for a, p in cp.received if a == "ReserveNow"]
        assert sent["connector_id"] == 2 and sent["id_tag"] == TOKEN_UID
        assert sent["expiry_date"].startswith("2030-01-01T12:00:00")
        reservation = await _reserved_session(csms)
        assert reservation["evse_uid"] == "CP16-2"

        await cp.plug_in(2)
        transaction_id = await cp.start_transaction(2, TOKEN_UID,
                                                    reservation_id=sent["reservation_id"])
        assert transaction_id > 0
        # The transaction continues the reservation's Session: its id, now ACTIVE.
        active = await session_status(csms, str(reservation["id"]), "ACTIVE")
        assert active["auth_method"] == "COMMAND"
        meter_start = cp.meters[2]
        await cp.charge(2, kwh=1.2, kw=7.4)
        await cp.stop_transaction(2)
        kwh = (cp.meters[2] - meter_start) / 1000
    session = await session_status(csms, str(reservation["id"]), "COMPLETED")
    assert session["kwh"] == pytest.approx(kwh)
    cdr = await one_cdr(csms, str(reservation["id"]))
    assert cdr["total_energy"] == pytest.approx(kwh)
    assert cdr["total_cost"]["excl_vat"] == pytest.approx(hand_priced(kwh)[0])
    assert not csms.bridge.reservations


async def test_the_emsp_cancels_a_reservation_at_the_charge_point(csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await csms.command("RESERVE_NOW", _reservation("CP16-1", "cancelled"), "reserve")
        assert (await csms.command_result("RESERVE_NOW", "reserve"))["result"] == "ACCEPTED"
        reservation = await _reserved_session(csms)
        assert cp.reservations
        answer = await csms.command("CANCEL_RESERVATION", {"reservation_id": "RES-cancelled"},
                                    "cancel")
        assert answer["result"] == "ACCEPTED"
        assert (await csms.command_result("CANCEL_RESERVATION", "cancel"))["result"] == (
            "ACCEPTED")
        assert not cp.reservations
        assert ("CancelReservation", {"reservation_id": next(
            p["reservation_id"] for a, p in cp.received if a == "ReserveNow")}) in cp.received
    await session_status(csms, str(reservation["id"]), "COMPLETED")


async def test_start_session_starts_at_the_charge_point_and_stop_session_ends_it(
        csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        answer = await csms.command("START_SESSION", {
            "token": emsp_token(), "location_id": "REF-LOC1", "evse_uid": "CP16-2",
            "authorization_reference": "REF-START"}, "start")
        assert answer["result"] == "ACCEPTED"
        assert (await csms.command_result("START_SESSION", "start"))["result"] == "ACCEPTED"
        ((_, sent),) = [(a, p) for a, p in cp.received if a == "RemoteStartTransaction"]
        assert sent == {"id_tag": TOKEN_UID, "connector_id": 2}
        await eventually(lambda: 2 in cp.transactions, within=30)
        transaction_id = cp.transactions[2].transaction_id
        # The transaction the remote start began is that command's session.
        active = await session_status(csms, str(transaction_id), "ACTIVE")
        assert active["auth_method"] == "COMMAND"
        assert active["authorization_reference"] == "REF-START"
        assert active["evse_uid"] == "CP16-2"
        await cp.charge(2, kwh=3, kw=11)

        stop = await csms.command("STOP_SESSION", {"session_id": str(transaction_id)}, "stop")
        assert stop["result"] == "ACCEPTED"
        assert (await csms.command_result("STOP_SESSION", "stop"))["result"] == "ACCEPTED"
        assert ("RemoteStopTransaction", {"transaction_id": transaction_id}) in cp.received
        await eventually(lambda: 2 not in cp.transactions, within=30)
    session = await session_status(csms, str(transaction_id), "COMPLETED")
    assert session["kwh"] == pytest.approx(3)
    cdr = await one_cdr(csms, str(transaction_id))
    assert cdr["total_cost"]["incl_vat"] == pytest.approx(hand_priced(3)[1])


async def test_the_bridge_rides_out_a_sidecar_crash_with_the_same_requests(
        restartable_csms: tuple[Csms, RestartableServe]) -> None:
    csms, serve = restartable_csms
    await emsp_knows(csms, whitelist="ALWAYS")
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await cp.plug_in(1)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        transaction_id = await cp.start_transaction(1, TOKEN_UID)
        meter_start = cp.meters[1]
        await session_status(csms, str(transaction_id), "ACTIVE")

        serve.kill()
        # The charge point goes on charging; its MeterValues.req waits at the bridge, which
        # retries the write until the sidecar is back.
        charging = asyncio.create_task(cp.charge(1, kwh=2, kw=11, samples=1))
        await eventually(lambda: csms.bridge.sidecar.retries > 0, within=30)
        await asyncio.to_thread(serve.start)
        await charging
        # The command stream was reopened: a command reaches the charge point again.
        await _unlocked(csms)
        await cp.stop_transaction(1)
        kwh = (cp.meters[1] - meter_start) / 1000

    session = await session_status(csms, str(transaction_id), "COMPLETED")
    assert session["kwh"] == pytest.approx(kwh)
    cdr = await one_cdr(csms, str(transaction_id))
    assert cdr["total_energy"] == pytest.approx(kwh)


async def _unlocked(csms: Csms) -> None:
    """An UNLOCK_CONNECTOR accepted and carried out, tried at most 60 times 0.5 s apart: the
    sidecar answers REJECTED while no command stream is open."""
    for attempt in range(60):
        name = f"unlock-{attempt}"
        answer = await csms.command("UNLOCK_CONNECTOR", {
            "location_id": "REF-LOC1", "evse_uid": "CP16-2", "connector_id": "1"}, name)
        if answer["result"] == "ACCEPTED":
            result = await csms.command_result("UNLOCK_CONNECTOR", name)
            assert result["result"] == "ACCEPTED"
            return
        await asyncio.sleep(0.5)
    raise AssertionError("no command stream was open at the sidecar after its restart")


async def test_a_repeated_start_transaction_gets_the_same_transaction(csms: Csms) -> None:
    await emsp_knows(csms, whitelist="ALWAYS")
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await cp.plug_in(1)
        first = await cp.start_transaction(1, TOKEN_UID, message_id="start-1")
        # The answer was lost: the charge point sends the same message, with the same id.
        again = await cp.start_transaction(1, TOKEN_UID, message_id="start-1")
        assert again == first > 0
        await session_status(csms, str(first), "ACTIVE")
        await cp.stop_transaction(1)
    await session_status(csms, str(first), "COMPLETED")
    assert {r.path for r in csms.requests("PUT", "sessions")} == {
        f"/ocpi/2.2.1/sessions/NL/CPA/{first}"}


async def test_an_unused_reservation_is_reported_expired_at_its_expiry_date(
        csms: Csms) -> None:
    """OCPP 1.6 has no message for an expired reservation: the bridge reports EXPIRED at
    the expiry date it sent, and the eMSP's Session completes."""
    expiry = (datetime.now(UTC) + timedelta(seconds=5)).replace(microsecond=0)
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2):
        body = {**_reservation("CP16-1", "expiring"),
                "expiry_date": expiry.isoformat().replace("+00:00", "Z")}
        assert (await csms.command("RESERVE_NOW", body, "reserve"))["result"] == "ACCEPTED"
        assert (await csms.command_result("RESERVE_NOW", "reserve"))["result"] == "ACCEPTED"
        reservation = await _reserved_session(csms)
        session = await session_status(csms, str(reservation["id"]), "COMPLETED")
    assert session["end_date_time"].startswith(expiry.strftime("%Y-%m-%dT%H:%M:%S"))
    assert not csms.bridge.reservations


async def test_a_connection_without_an_ocpp_subprotocol_or_of_a_stranger_is_refused(
        csms: Csms) -> None:
    for offered in ([], ["ocpp1.5"]):
        with pytest.raises(websockets.InvalidStatus) as refused:
            await websockets.connect(f"{csms.url}/CP16",
                                     subprotocols=offered)  # type: ignore[arg-type]
        assert refused.value.response.status_code == 400
    assert "CP16" not in csms.bridge.links
    # A charge point the site does not have is closed at once.
    async with websockets.connect(f"{csms.url}/NOPE",
                                  subprotocols=["ocpp1.6"]) as stranger:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await stranger.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1008
    assert not csms.bridge.links


async def test_a_charge_point_that_reconnects_stays_online(csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as old:
        await eventually(lambda: csms.evse_status("CP16-1") == "AVAILABLE", within=30)
        async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as new:
            # The bridge ends the older connection, and does not take it for going offline.
            assert old._runner is not None
            await asyncio.wait_for(asyncio.shield(old._runner), 30)
            await new.plug_in(1)
            await eventually(lambda: csms.evse_status("CP16-1") == "CHARGING", within=30)
            unknown = [p for p in csms.requests("PATCH", "locations/NL/CPA/REF-LOC1")
                       if p.body["status"] == "UNKNOWN"]
            assert unknown == []
    await eventually(lambda: csms.evse_status("CP16-1") == "UNKNOWN", within=30)
