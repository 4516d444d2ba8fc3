"""OCPP 2.0.1 end to end: simulated charging station → reference CSMS → serve → fake eMSP."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from ocpi_sidecar.v1 import smart_charging_pb2 as sc
from simulators.ocpp201 import ChargePoint201Sim

from tests.fixtures.csms import TOKEN_UID, Csms, emsp_token
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio

CP = "CP201"
EVSE = "CP201-1"
# The site's tariff: 0.50 per session plus 0.40 per kWh, 20 % VAT.
FLAT, PER_KWH, VAT = Decimal("0.50"), Decimal("0.40"), Decimal("0.20")
PROFILE = {"charging_profile": {
    "start_date_time": "2030-01-01T12:00:00Z", "duration": 3600, "charging_rate_unit": "W",
    "charging_profile_period": [{"start_period": 0, "limit": 11000},
                                {"start_period": 1800, "limit": 7400}]}}


async def known_token(csms: Csms, uid: str = TOKEN_UID, allowed: str = "ALLOWED",
                      **extra: Any) -> dict[str, Any]:
    """The eMSP pushed the token to the CPO (real-time authorisation: whitelist NEVER) and
    answers its POST tokens/{uid}/authorize with `allowed`."""
    token = {**emsp_token(uid), **extra}
    pushed = await csms.emsp.call_cpo(
        "PUT", f"{csms.emsp.cpo_endpoints['tokens']}/DE/EMP/{uid}", json=token)
    assert pushed.status_code in (200, 201), pushed.text
    csms.emsp.authorizations[uid] = {"allowed": allowed, "token": token,
                                     "authorization_reference": f"REF-{uid}"}
    return token


def session(csms: Csms, session_id: str) -> dict[str, Any] | None:
    held: dict[str, Any] | None = csms.emsp.objects.get(f"sessions/NL/CPA/{session_id}")
    return held


def cdrs(csms: Csms) -> list[dict[str, Any]]:
    return [v for k, v in csms.emsp.objects.items() if k.startswith("cdrs/")]


def session_requests(csms: Csms, session_id: str) -> list[Any]:
    return [r for r in csms.emsp.received
            if r.path.startswith(f"/ocpi/2.2.1/sessions/NL/CPA/{session_id}")]


async def connected_evse(csms: Csms, cp: ChargePoint201Sim) -> None:
    await eventually(lambda: csms.evse_status(EVSE) == "AVAILABLE", within=30)


def price(kwh: Decimal) -> tuple[Decimal, Decimal]:
    """The hand calculation: excl. and incl. VAT of a session of `kwh` at the site tariff."""
    excl = FLAT + PER_KWH * kwh
    return excl, (excl * (1 + VAT)).quantize(Decimal("0.0001"))


async def test_connector_statuses_make_the_evse_status_and_offline_shows_unknown(
        csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        # One connector faulted, the other available: the EVSE can still start a session.
        await cp.status(1, 2, "Faulted")
        await cp.status(1, 1, "Unavailable")
        await eventually(lambda: csms.evse_status(EVSE) == "INOPERATIVE", within=30)
        await cp.status(1, 1, "Occupied")
        await eventually(lambda: csms.evse_status(EVSE) == "CHARGING", within=30)
        await cp.status(1, 1, "Faulted")
        await eventually(lambda: csms.evse_status(EVSE) == "OUTOFORDER", within=30)
        await cp.status(1, 2, "Reserved")
        await eventually(lambda: csms.evse_status(EVSE) == "RESERVED", within=30)
    await eventually(lambda: csms.evse_status(EVSE) == "UNKNOWN", within=30)
    # Back online: its StatusNotifications after the boot restore the EVSE's status.
    async with ChargePoint201Sim.connected(csms.url, CP):
        await eventually(lambda: csms.evse_status(EVSE) == "AVAILABLE", within=30)
    patches = csms.requests("PATCH", "locations/NL/CPA/REF-LOC1")
    assert patches and all(set(p.body) == {"status", "last_updated"} for p in patches)
    statuses = [p.body["status"] for p in patches if p.path.endswith(EVSE)]
    # Each change was seen before the next was made; after the reconnection the last one
    # counts (the first connector's Available leaves the EVSE RESERVED for a moment).
    assert statuses[:6] == [
        "AVAILABLE", "INOPERATIVE", "CHARGING", "OUTOFORDER", "RESERVED", "UNKNOWN"]
    assert statuses[-1] == "AVAILABLE"
    # The 1.6 charge point was never connected: no status change for its EVSEs.
    assert all("CP16" not in p.path for p in patches)


async def test_rfid_is_authorised_by_the_emsp_in_real_time(csms: Csms) -> None:
    await known_token(csms, language="nl", group_id="GROUP-1")
    csms.emsp.authorizations[TOKEN_UID]["info"] = {"language": "nl", "text": "Welkom"}
    await known_token(csms, "BLOCKED01", allowed="BLOCKED")
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        info = await cp.authorize(TOKEN_UID)
        assert info["status"] == "Accepted"
        assert info.get("language1") == "nl"
        assert info.get("group_id_token", {}).get("id_token") == "GROUP-1"
        assert info.get("personal_message") == {"format": "UTF8", "content": "Welkom",
                                                "language": "nl"}
        assert (await cp.authorize("BLOCKED01"))["status"] == "Blocked"
        assert (await cp.authorize("NOBODY01"))["status"] == "Unknown"
    asked = csms.requests("POST", "tokens/")
    assert {r.path for r in asked} >= {
        f"/ocpi/2.2.1/tokens/{TOKEN_UID}/authorize", "/ocpi/2.2.1/tokens/BLOCKED01/authorize"}


async def test_a_transaction_becomes_a_session_and_one_cdr_priced_by_the_tariff(
        csms: Csms) -> None:
    await known_token(csms)
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        transaction_id = await cp.plug_in(1, 1, uid=TOKEN_UID)
        await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                         == "ACTIVE", within=30)
        await cp.charge(1, kwh=10, kw=11, samples=4)
        await cp.stop(1)
        await cp.unplug(1)
        await eventually(lambda: cdrs(csms), within=30)
        await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                         == "COMPLETED", within=30)
    (cdr,) = cdrs(csms)
    held = session(csms, transaction_id)
    assert held is not None
    assert held["cdr_token"]["uid"] == TOKEN_UID and held["auth_method"] == "AUTH_REQUEST"
    assert held["authorization_reference"] == f"REF-{TOKEN_UID}"
    assert held["evse_uid"] == EVSE and held["connector_id"] == "1"
    assert Decimal(str(held["kwh"])) == Decimal(10)
    assert cdr["session_id"] == transaction_id
    assert Decimal(str(cdr["total_energy"])) == Decimal(10)
    excl, incl = price(Decimal(str(cdr["total_energy"])))
    assert Decimal(str(cdr["total_cost"]["excl_vat"])) == excl
    assert Decimal(str(cdr["total_cost"]["incl_vat"])) == incl
    assert cdr["cdr_token"]["contract_id"] == "DE-EMP-C00000001"
    # A PUT when it began, PATCHes after: never a second Session.
    assert session_requests(csms, transaction_id)[0].method == "PUT"
    assert {k for k in csms.emsp.objects if k.startswith("sessions/")} == {
        f"sessions/NL/CPA/{transaction_id}"}


async def start_session(csms: Csms, cp: ChargePoint201Sim) -> str:
    """A START_SESSION the station accepted; its transaction id."""
    reply = await csms.command("START_SESSION", {
        "token": emsp_token(whitelist="ALLOWED"), "location_id": "REF-LOC1",
        "evse_uid": EVSE}, "start")
    assert reply["result"] == "ACCEPTED"
    assert (await csms.command_result("START_SESSION", "start"))["result"] == "ACCEPTED"
    await eventually(lambda: 1 in cp.transactions, within=30)
    transaction_id = cp.transactions[1].transaction_id
    await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                     == "ACTIVE", within=30)
    ((action, call),) = [r for r in cp.received if r[0] == "RequestStartTransaction"]
    assert call["id_token"] == {"id_token": TOKEN_UID, "type": "Central"}
    assert call["evse_id"] == 1 and call["remote_start_id"] > 0
    return transaction_id


async def test_start_session_becomes_a_command_session(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        transaction_id = await start_session(csms, cp)
        held = session(csms, transaction_id)
        assert held is not None and held["auth_method"] == "COMMAND"
        assert held["cdr_token"]["uid"] == TOKEN_UID
        # The station lost the answer to Started and sends it again: the same request
        # reaches the sidecar (same key, same payload), the eMSP sees no second Session.
        started = [e for e in cp.sent_events if e.event_type == "Started"]
        assert await cp.repeat_event(cp.sent_events.index(started[0])) == {
            "status": "Accepted"}
        await cp.charge(1, kwh=1, kw=11)
        # No real-time check of a token the eMSP just sent in a command.
        assert not csms.requests("POST", "tokens/")
    assert {k for k in csms.emsp.objects if k.startswith("sessions/")} == {
        f"sessions/NL/CPA/{transaction_id}"}


async def test_stop_session_ends_the_command_session(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        transaction_id = await start_session(csms, cp)
        await cp.charge(1, kwh=2, kw=11)
        reply = await csms.command("STOP_SESSION", {"session_id": transaction_id}, "stop")
        assert reply["result"] == "ACCEPTED"
        assert (await csms.command_result("STOP_SESSION", "stop"))["result"] == "ACCEPTED"
        await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                         == "COMPLETED", within=30)
        assert [r for r in cp.received if r[0] == "RequestStopTransaction"] == [
            ("RequestStopTransaction", {"transaction_id": transaction_id})]
        await eventually(lambda: cdrs(csms), within=30)


async def test_unlock_connector_reaches_the_station(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        await csms.command("UNLOCK_CONNECTOR", {
            "location_id": "REF-LOC1", "evse_uid": EVSE, "connector_id": "2"}, "unlock")
        assert (await csms.command_result("UNLOCK_CONNECTOR", "unlock"))["result"] == \
            "ACCEPTED"
        cp.answers["UnlockConnector"] = "OngoingAuthorizedTransaction"
        await csms.command("UNLOCK_CONNECTOR", {
            "location_id": "REF-LOC1", "evse_uid": EVSE, "connector_id": "1"}, "busy")
        assert (await csms.command_result("UNLOCK_CONNECTOR", "busy"))["result"] == \
            "EVSE_OCCUPIED"
    assert [r for r in cp.received if r[0] == "UnlockConnector"] == [
        ("UnlockConnector", {"evse_id": 1, "connector_id": 2}),
        ("UnlockConnector", {"evse_id": 1, "connector_id": 1})]


async def test_charging_profiles_of_the_emsp_reach_the_station(csms: Csms) -> None:
    await known_token(csms)
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        transaction_id = await cp.plug_in(1, 1, uid=TOKEN_UID)
        await eventually(lambda: session(csms, transaction_id), within=30)
        url = f"{csms.emsp.cpo_endpoints['chargingprofiles']}/{transaction_id}"
        results = f"{csms.emsp.url}/ocpi/2.2.1/chargingprofiles/results"

        put = await csms.emsp.call_cpo("PUT", url, json={
            **PROFILE, "response_url": f"{results}/set"})
        assert put.json()["data"]["result"] == "ACCEPTED", put.text
        await eventually(lambda: csms.requests("POST", "chargingprofiles/results/set"),
                         within=30)
        assert csms.requests("POST", "chargingprofiles/results/set")[0].body == {
            "result": "ACCEPTED"}
        ((_, sent),) = [r for r in cp.received if r[0] == "SetChargingProfile"]
        profile = sent["charging_profile"]
        assert sent["evse_id"] == 1 and profile["transaction_id"] == transaction_id
        assert profile["charging_profile_purpose"] == "TxProfile"
        assert profile["charging_profile_kind"] == "Absolute"
        (schedule,) = profile["charging_schedule"]
        assert schedule["start_schedule"] == "2030-01-01T12:00:00Z"
        assert [(p["start_period"], p["limit"]) for p in schedule["charging_schedule_period"]] \
            == [(0, 11000), (1800, 7400)]

        get = await csms.emsp.call_cpo("GET", url, params={
            "duration": "900", "response_url": f"{results}/get"})
        assert get.json()["data"]["result"] == "ACCEPTED", get.text
        await eventually(lambda: csms.requests("POST", "chargingprofiles/results/get"),
                         within=30)
        active = csms.requests("POST", "chargingprofiles/results/get")[0].body
        assert active["result"] == "ACCEPTED"
        assert active["profile"]["charging_profile"]["charging_profile_period"][0][
            "limit"] == 11000

        delete = await csms.emsp.call_cpo("DELETE", url, params={
            "response_url": f"{results}/clear"})
        assert delete.json()["data"]["result"] == "ACCEPTED", delete.text
        await eventually(lambda: csms.requests("POST", "chargingprofiles/results/clear"),
                         within=30)
        assert csms.requests("POST", "chargingprofiles/results/clear")[0].body == {
            "result": "ACCEPTED"}
        assert not cp.profiles


async def test_profile_requests_become_ocpp201_calls_with_the_transactions_profile(
        csms: Csms) -> None:
    """The 2.0.1 side of smart charging on its own, field by field: requests as the sidecar
    streams them, handed to the connected station's link (the eMSP's whole route is the test
    above)."""
    await known_token(csms)
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        transaction_id = await cp.plug_in(1, 1, uid=TOKEN_UID)
        link = csms.bridge.links[CP]
        target = csms.bridge.registry.target("REF-LOC1", EVSE, "1")
        ids = {"session_id": transaction_id, "transaction_id": transaction_id,
               "location_id": "REF-LOC1", "evse_uid": EVSE, "connector_id": "1"}
        relative = sc.ChargingProfileRequest(
            request_id="set", kind=sc.CHARGING_PROFILE_REQUEST_KIND_SET, **ids,
            set=sc.SetChargingProfile(charging_profile=sc.ChargingProfile(
                charging_rate_unit=sc.CHARGING_RATE_UNIT_A, duration=600,
                periods=[sc.ChargingProfilePeriod(start_period=0, limit="16")])))
        assert (await link.profile(relative, target)).result == \
            sc.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED
        ((_, sent),) = [r for r in cp.received if r[0] == "SetChargingProfile"]
        profile = sent["charging_profile"]
        assert profile["charging_profile_kind"] == "Relative"
        assert profile["transaction_id"] == transaction_id and profile["id"] > 0
        assert profile["charging_schedule"][0]["charging_rate_unit"] == "A"

        get = sc.ChargingProfileRequest(
            request_id="get", kind=sc.CHARGING_PROFILE_REQUEST_KIND_GET_ACTIVE, **ids,
            get_active=sc.GetActiveChargingProfile(duration=900))
        outcome = await link.profile(get, target)
        assert outcome.result == sc.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED
        assert outcome.active is not None
        assert [(p.start_period, p.limit) for p in outcome.active.charging_profile.periods] \
            == [(0, "16")]
        assert outcome.active.charging_profile.duration == 900

        clear = sc.ChargingProfileRequest(
            request_id="clear", kind=sc.CHARGING_PROFILE_REQUEST_KIND_CLEAR, **ids,
            clear=sc.ClearChargingProfile())
        assert (await link.profile(clear, target)).result == \
            sc.CHARGING_PROFILE_RESULT_TYPE_ACCEPTED
        ((_, cleared),) = [r for r in cp.received if r[0] == "ClearChargingProfile"]
        assert cleared["charging_profile_id"] == profile["id"]
        # Nothing left to clear: the station answers Unknown.
        assert (await link.profile(clear, target)).result == \
            sc.CHARGING_PROFILE_RESULT_TYPE_UNKNOWN


async def reserve(csms: Csms, cp: ChargePoint201Sim, name: str = "reserve",
                  expiry: datetime | None = None) -> tuple[int, dict[str, Any]]:
    """A RESERVE_NOW the station holds: its OCPP id, and the RESERVATION Session."""
    expiry = expiry or datetime.now(UTC) + timedelta(minutes=30)
    reply = await csms.command("RESERVE_NOW", {
        "token": emsp_token(whitelist="ALLOWED"), "location_id": "REF-LOC1",
        "evse_uid": EVSE, "reservation_id": "RES-1",
        "expiry_date": expiry.isoformat().replace("+00:00", "Z")}, name)
    assert reply["result"] == "ACCEPTED"
    assert (await csms.command_result("RESERVE_NOW", name))["result"] == "ACCEPTED"
    ((_, sent),) = [r for r in cp.received if r[0] == "ReserveNow"]
    assert sent["id_token"] == {"id_token": TOKEN_UID, "type": "ISO14443"}
    assert sent["evse_id"] == 1

    def reserved() -> list[dict[str, Any]]:
        return [v for k, v in csms.emsp.objects.items()
                if k.startswith("sessions/") and v["status"] == "RESERVATION"]

    await eventually(reserved, within=30)
    (held,) = reserved()
    return int(sent["id"]), held


async def test_the_reserving_driver_continues_the_reservation_session(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        number, reservation = await reserve(csms, cp)
        assert number in cp.reservations
        transaction_id = await cp.plug_in(1, 1, uid=TOKEN_UID, reservation_id=number)
        await eventually(lambda: (session(csms, reservation["id"]) or {}).get("status")
                         == "ACTIVE", within=30)
        await cp.charge(1, kwh=1, kw=11)
        await cp.stop(1)
        await eventually(lambda: cdrs(csms), within=30)
    (cdr,) = cdrs(csms)
    assert cdr["session_id"] == reservation["id"]
    # The transaction continued the reservation's Session: no Session of its own id.
    sessions = {k for k in csms.emsp.objects if k.startswith("sessions/")}
    assert sessions == {f"sessions/NL/CPA/{reservation['id']}"}
    assert transaction_id != reservation["id"]
    # The reserving token came with the command: nobody asked the eMSP about it again.
    assert not csms.requests("POST", "tokens/")


async def test_an_expired_reservation_completes_its_session(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        number, reservation = await reserve(csms, cp)
        await cp.reservation_update(number, "Expired")
        await eventually(lambda: (session(csms, reservation["id"]) or {}).get("status")
                         == "COMPLETED", within=30)
        assert number not in csms.bridge.reservations


async def test_a_reservation_the_station_removed_completes_its_session(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        number, reservation = await reserve(csms, cp)
        await cp.reservation_update(number, "Removed")
        await eventually(lambda: (session(csms, reservation["id"]) or {}).get("status")
                         == "COMPLETED", within=30)
        path = "/ocpi/2.2.1/commands/RESERVE_NOW/reserve"
        await eventually(lambda: [r for r in csms.emsp.received if r.path == path
                                  and r.body["result"] == "CANCELED_RESERVATION"], within=30)


async def test_cancel_reservation_of_the_emsp_reaches_the_station(csms: Csms) -> None:
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        number, reservation = await reserve(csms, cp)
        await csms.command("CANCEL_RESERVATION", {"reservation_id": "RES-1"}, "cancel")
        assert (await csms.command_result("CANCEL_RESERVATION", "cancel"))["result"] == \
            "ACCEPTED"
        assert [r for r in cp.received if r[0] == "CancelReservation"] == [
            ("CancelReservation", {"reservation_id": number})]
        await eventually(lambda: (session(csms, reservation["id"]) or {}).get("status")
                         == "COMPLETED", within=30)


async def test_a_transaction_started_before_authorisation_gets_its_token_later(
        csms: Csms) -> None:
    await known_token(csms)
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        # Cable first: Started without idToken; the sidecar keeps the Session private.
        transaction_id = await cp.plug_in(1, 1)
        assert (CP, transaction_id) in csms.bridge.transactions
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                         == "ACTIVE", within=30)
        await cp.charge(1, kwh=5, kw=11)
        await cp.stop(1)
        await eventually(lambda: cdrs(csms), within=30)
    (cdr,) = cdrs(csms)
    assert cdr["session_id"] == transaction_id and cdr["cdr_token"]["uid"] == TOKEN_UID
    assert Decimal(str(cdr["total_energy"])) == Decimal(5)
    excl, incl = price(Decimal(5))
    assert Decimal(str(cdr["total_cost"]["excl_vat"])) == excl
    assert Decimal(str(cdr["total_cost"]["incl_vat"])) == incl
    # Everything the eMSP got of this Session carried the token: it was never sent PENDING.
    sent = session_requests(csms, transaction_id)
    assert sent[0].method == "PUT" and sent[0].body["cdr_token"]["uid"] == TOKEN_UID
    assert all(r.body.get("status") != "PENDING" for r in sent)


async def test_start_session_with_the_cable_already_in_authorises_that_transaction(
        csms: Csms) -> None:
    """OCPP 2.0.1 "remote start, cable plugged in first": the transaction runs already; the
    RequestStartTransaction answer names it and an Updated event brings the idToken and the
    remoteStartId."""
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        transaction_id = await cp.plug_in(1, 1)
        reply = await csms.command("START_SESSION", {
            "token": emsp_token(whitelist="ALLOWED"), "location_id": "REF-LOC1",
            "evse_uid": EVSE}, "start")
        assert reply["result"] == "ACCEPTED"
        assert (await csms.command_result("START_SESSION", "start"))["result"] == "ACCEPTED"
        await eventually(lambda: (session(csms, transaction_id) or {}).get("status")
                         == "ACTIVE", within=30)
        held = session(csms, transaction_id)
        assert held is not None and held["cdr_token"]["uid"] == TOKEN_UID
        assert held["auth_method"] == "COMMAND"
        assert not csms.requests("POST", "tokens/")


async def test_the_reserving_driver_with_the_cable_first_continues_the_reservation(
        csms: Csms) -> None:
    """Cable first on a reserved EVSE: the reserving driver's card arrives in an Updated
    event (with reservationId); the transaction continues the reservation's Session."""
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        number, reservation = await reserve(csms, cp)
        transaction_id = await cp.plug_in(1, 1)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        await eventually(lambda: (session(csms, reservation["id"]) or {}).get("status")
                         == "ACTIVE", within=30)
        assert session(csms, transaction_id) is None


async def test_a_station_counting_its_transactions_gets_ids_unique_in_the_sidecar(
        csms: Csms) -> None:
    """2.0.1 transactionIds are unique per station only: one that is not a UUID is sent as
    `<charge point id>-<transactionId>`, and commands reach the station with its own id."""
    await known_token(csms)
    async with ChargePoint201Sim.connected(csms.url, CP) as cp:
        await connected_evse(csms, cp)
        assert await cp.swipe(TOKEN_UID) == "Accepted"
        assert await cp.plug_in(1, 1, uid=TOKEN_UID, transaction_id="7") == "7"
        await eventually(lambda: (session(csms, f"{CP}-7") or {}).get("status") == "ACTIVE",
                         within=30)
        await cp.charge(1, kwh=1, kw=11)
        reply = await csms.command("STOP_SESSION", {"session_id": f"{CP}-7"}, "stop")
        assert reply["result"] == "ACCEPTED"
        assert (await csms.command_result("STOP_SESSION", "stop"))["result"] == "ACCEPTED"
        assert [r for r in cp.received if r[0] == "RequestStopTransaction"] == [
            ("RequestStopTransaction", {"transaction_id": "7"})]
        await eventually(lambda: (session(csms, f"{CP}-7") or {}).get("status")
                         == "COMPLETED", within=30)
    assert session(csms, "7") is None
