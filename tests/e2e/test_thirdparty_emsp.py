"""The real `serve` against a third-party OCPI implementation: the extrawest-ocpi library's
eMSP role, in its own process and virtual environment (tests/fixtures/thirdparty.py).

Our own fake eMSP shares our reading of the standard; this partner does not. Both handshake
directions, its pull of every Sender module we have, and every kind of push we make are checked
with its models doing the parsing.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import locations_pb2 as loc
from ocpi_sidecar.v1 import locations_pb2_grpc, tariffs_pb2_grpc, transactions_pb2_grpc
from ocpi_sidecar.v1 import tariffs_pb2 as tar
from ocpi_sidecar.v1.locations_pb2 import OCPP16_CHARGE_POINT_STATUS_CHARGING

from tests.fixtures.thirdparty import ServedCpo, ThirdPartyEmsp, token_header
from tests.fixtures.waiting import eventually
from tests.servicers.test_locations import connector, evse, evse_status
from tests.servicers.transaction_builders import (
    T0,
    location_request,
    tariff_request,
    ten_minutes,
)

pytestmark = pytest.mark.anyio


@pytest.fixture
async def channel(served_cpo: ServedCpo) -> AsyncIterator[grpc.aio.Channel]:
    async with grpc.aio.insecure_channel(served_cpo.grpc) as channel:
        yield channel


async def it_registers_with_us(cpo: ServedCpo, emsp: ThirdPartyEmsp) -> dict[str, Any]:
    created = await cpo.admin.post("/credentials-token-a")
    assert created.status_code == 201, created.text
    return await emsp.register_with(created.json()["versions_url"], created.json()["token"])


async def we_register_with_it(cpo: ServedCpo, emsp: ThirdPartyEmsp) -> dict[str, Any]:
    registered = await cpo.admin.post("/partners", json={
        "versions_url": emsp.versions_url, "token": await emsp.issue_token_a()})
    assert registered.status_code == 201, registered.text
    partner: dict[str, Any] = registered.json()
    return partner


async def our_partners(cpo: ServedCpo) -> list[dict[str, Any]]:
    listed = await cpo.admin.get("/partners")
    assert listed.status_code == 200
    partners: list[dict[str, Any]] = listed.json()
    return partners


def second(stamp: str) -> datetime:
    """A timestamp to the second: the library keeps RFC 3339 timestamps without fractions."""
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).replace(microsecond=0)


async def run_transaction(channel: grpc.aio.Channel, transaction_id: str) -> None:
    """The core's ten-minute transaction: a session PUT, PATCHes, the CDR at the end."""
    stub = transactions_pb2_grpc.TransactionServiceStub(channel)
    for method, request in ten_minutes(transaction_id):
        await getattr(stub, method)(request)


async def a_site(channel: grpc.aio.Channel, *location_ids: str) -> None:
    tariffs = tariffs_pb2_grpc.TariffServiceStub(channel)
    locations = locations_pb2_grpc.LocationServiceStub(channel)
    await tariffs.UpsertTariff(tariff_request("T1"))
    await tariffs.UpsertTariff(tariff_request("T2"))
    for location_id in location_ids:
        await locations.UpsertLocation(location_request(location_id))


# --- (a) registration, both ways -----------------------------------------------------------


async def test_it_registers_with_us_with_the_token_a_we_gave(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp
) -> None:
    reply = await it_registers_with_us(served_cpo, thirdparty_emsp)
    assert (reply["http_status"], reply["body"]["status_code"]) == (200, 1000), reply
    [partner] = await our_partners(served_cpo)
    assert partner["status"] == "REGISTERED"
    assert partner["versions_url"] == thirdparty_emsp.versions_url
    assert {e["identifier"] for e in partner["endpoints"]} >= {
        "credentials", "locations", "sessions", "cdrs", "tariffs"}
    state = await thirdparty_emsp.state()
    # We checked its versions and details with the token B it gave us, and were let in.
    assert [(r["method"], r["path"], r["http_status"]) for r in state["received"]] == [
        ("GET", "/ocpi/versions", 200), ("GET", "/ocpi/2.2.1/details", 200)]
    # The token C we answered lets it in, and no longer our token A.
    async with httpx.AsyncClient(timeout=10) as http:
        with_c = await http.get(served_cpo.module_url("credentials"),
                                headers=token_header(state["cpo"]["token"]))
    assert with_c.status_code == 200 and with_c.json()["status_code"] == 1000


async def test_we_register_with_it_with_the_token_a_it_gave(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp
) -> None:
    partner = await we_register_with_it(served_cpo, thirdparty_emsp)
    assert partner["status"] == "REGISTERED"
    # It advertises its endpoints with a trailing slash; we keep them as given.
    urls = {e["identifier"]: e["url"] for e in partner["endpoints"]}
    assert urls["locations"] == f"{thirdparty_emsp.url}/ocpi/emsp/2.2.1/locations/"
    state = await thirdparty_emsp.state()
    posted = [r for r in state["received"] if r["method"] == "POST"]
    assert [(r["path"], r["http_status"], r["ocpi_status"]) for r in posted] == [
        ("/ocpi/emsp/2.2.1/credentials/", 200, 1000)]
    # Its token A is spent; it holds our token B-turned-C and our endpoints.
    assert state["tokens_a"] == 0 and state["tokens_c"] == 1
    assert state["cpo"]["versions_url"] == served_cpo.versions_url
    assert state["cpo"]["endpoints"]["locations"] == served_cpo.module_url("locations")


# --- (b) it pulls every Sender module ------------------------------------------------------


@pytest.mark.parametrize("routing", [None, ("NL", "CPA")], ids=["direct", "routing headers"])
async def test_it_pulls_every_sender_module_page_by_page(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp, channel: grpc.aio.Channel,
    routing: tuple[str, str] | None,
) -> None:
    reply = await it_registers_with_us(served_cpo, thirdparty_emsp)
    assert reply["body"]["status_code"] == 1000, reply
    await a_site(channel, "LOC1", "LOC2")
    await run_transaction(channel, "TX1")
    await run_transaction(channel, "TX2")

    # With routing headers it names itself DE/EMP: the party it declared, though its models
    # sent our credentials handshake that party lower-cased (a CiString is case-insensitive).
    pulled = await thirdparty_emsp.pull(limit=1, to=routing)
    for module in ("locations", "tariffs", "sessions", "cdrs"):
        got = pulled[module]
        assert got["errors"] == [], got["errors"]
        assert [p["http_status"] for p in got["pages"]] == [200, 200], (module, got["pages"])
        assert {p["total"] for p in got["pages"]} == {"2"}, (module, got["pages"])
    ids = {m: [o["id"] for o in pulled[m]["objects"]] for m in pulled}
    # Its models lower-case CiStrings (ids among them); the objects are ours all the same.
    assert ids["locations"] == ["loc1", "loc2"]
    assert ids["tariffs"] == ["t1", "t2"]
    assert sorted(s["id"] for s in pulled["sessions"]["objects"]) == ["tx1", "tx2"]
    sessions = {s["id"]: s for s in pulled["sessions"]["objects"]}
    assert {s["status"] for s in sessions.values()} == {"COMPLETED"}
    assert {s["kwh"] for s in sessions.values()} == {1.6}
    cdrs = pulled["cdrs"]["objects"]
    assert len(cdrs) == 2 and {c["total_energy"] for c in cdrs} == {1.6}
    assert {c["currency"] for c in cdrs} == {"EUR"}


# --- (c) every push we make is accepted by its models ----------------------------------------


def _pushes(state: dict[str, Any]) -> list[dict[str, Any]]:
    return [r for r in state["received"] if not r["path"].startswith("/ocpi/versions")
            and "/credentials" not in r["path"] and not r["path"].endswith("/details")]


async def registered(cpo: ServedCpo, emsp: ThirdPartyEmsp, direction: str) -> dict[str, Any]:
    """Register either way; returns the partner as our admin API shows it."""
    if direction == "we register":
        return await we_register_with_it(cpo, emsp)
    reply = await it_registers_with_us(cpo, emsp)
    assert reply["body"]["status_code"] == 1000, reply
    [partner] = await our_partners(cpo)
    return partner


@pytest.mark.parametrize("direction", ["we register", "it registers"])
async def test_every_push_is_accepted_and_stored_as_sent(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp, channel: grpc.aio.Channel,
    direction: str,
) -> None:
    partner = await registered(served_cpo, thirdparty_emsp, direction)
    await a_site(channel, "LOC1")
    emsp = thirdparty_emsp
    await eventually(lambda: _stored(emsp, "locations", "NL/CPA/LOC1"))
    await eventually(lambda: _stored(emsp, "tariffs", "NL/CPA/T2"))

    locations = locations_pb2_grpc.LocationServiceStub(channel)
    await locations.SetEvseStatus(evse_status(
        "EVSE1", at=T0, ocpp16_status=OCPP16_CHARGE_POINT_STATUS_CHARGING))
    await eventually(lambda: _evse_status(emsp, "CHARGING"))
    await run_transaction(channel, "TX1")
    await eventually(lambda: _has_cdr(emsp))
    # The session's last PATCH (COMPLETED) and the CDR are separate deliveries.
    await eventually(lambda: _session_status(emsp, "COMPLETED"))

    state = await emsp.state()
    pushes = _pushes(state)
    refused = [r for r in pushes if (r["http_status"], r["ocpi_status"]) != (200, 1000)]
    assert refused == [], refused
    kinds = {(r["method"], r["path"].split("/")[4]) for r in pushes}
    assert kinds >= {("PUT", "locations"), ("PATCH", "locations"), ("PUT", "tariffs"),
                     ("PUT", "sessions"), ("PATCH", "sessions"), ("POST", "cdrs")}, kinds
    status = await served_cpo.admin.get(f"/partners/{partner['id']}/push-status")
    assert status.json()["last_error"] is None, status.json()

    # What it stores is what we serve (the ids in our spelling: its store keeps them).
    ours = await _our_objects(served_cpo, state["cpo"]["token"])
    location = state["objects"]["locations"]["nl/cpa/loc1"]
    served_location = ours["locations"][0]
    assert (location["country_code"], location["party_id"], location["id"]) == (
        "NL", "CPA", "LOC1")
    assert [e["uid"] for e in location["evses"]] == ["EVSE1"]
    assert location["evses"][0]["status"] == served_location["evses"][0]["status"]
    assert location["evses"][0]["evse_id"] == served_location["evses"][0]["evse_id"]
    assert location["coordinates"] == served_location["coordinates"]
    assert second(location["evses"][0]["last_updated"]) == second(
        served_location["evses"][0]["last_updated"])
    for tariff in ours["tariffs"]:
        stored = state["objects"]["tariffs"][f"nl/cpa/{tariff['id'].lower()}"]
        assert stored["id"] == tariff["id"] and stored["currency"] == tariff["currency"]
        assert _prices(stored) == _prices(tariff)
        assert differences(stored, tariff) == []
    session = state["objects"]["sessions"]["nl/cpa/tx1"]
    [served_session] = ours["sessions"]
    assert (session["id"], session["status"]) == ("TX1", served_session["status"])
    assert session["kwh"] == served_session["kwh"]
    assert session["total_cost"] == served_session["total_cost"]
    assert session["cdr_token"]["uid"] == served_session["cdr_token"]["uid"]
    [served_cdr] = ours["cdrs"]
    cdr = state["objects"]["cdrs"][served_cdr["id"].lower()]
    assert cdr["id"] == served_cdr["id"]
    assert cdr["total_energy"] == served_cdr["total_energy"]
    assert cdr["total_cost"] == served_cdr["total_cost"]
    assert len(cdr["charging_periods"]) == len(served_cdr["charging_periods"])
    # Field by field, everything we serve is what it holds (its models add empty defaults
    # and keep timestamps to the second). Session periods are left out: its PATCH replaces
    # the list, where ours appends new periods.
    assert differences(location, served_location) == []
    # Its CdrLocation model has no evse_uid (2.2.1 requires it), so it drops ours.
    assert differences(cdr, served_cdr) == [
        ".cdr_location.evse_uid: None held, 'EVSE1' served"]
    assert differences({**session, "charging_periods": None},
                       {**served_session, "charging_periods": None}) == []


def differences(stored: Any, served: Any, path: str = "") -> list[str]:
    """Where what the library holds differs from what we serve."""
    if isinstance(served, dict) and isinstance(stored, dict):
        found = []
        for key, value in served.items():
            found += differences(stored.get(key), value, f"{path}.{key}")
        for key, value in stored.items():
            if key not in served and value not in (None, [], {}):
                found.append(f"{path}.{key}: {value!r} held, not served")
        return found
    if isinstance(served, list) and isinstance(stored, list) and len(served) == len(stored):
        return [d for n, (a, b) in enumerate(zip(stored, served, strict=True))
                for d in differences(a, b, f"{path}[{n}]")]
    if isinstance(served, str) and isinstance(stored, str) and served.endswith("Z"):
        try:
            same = second(stored) == second(served)
        except ValueError:
            same = stored == served
    elif isinstance(served, int | float) and isinstance(stored, int | float):
        same = float(stored) == float(served)
    else:
        same = stored == served
    return [] if same else [f"{path}: {stored!r} held, {served!r} served"]


async def _stored(emsp: ThirdPartyEmsp, module: str, key: str) -> bool:
    return await emsp.stored(module, key) is not None


async def _evse_status(emsp: ThirdPartyEmsp, status: str) -> bool:
    location = await emsp.stored("locations", "NL/CPA/LOC1")
    return bool(location) and location["evses"][0]["status"] == status


async def _has_evses(emsp: ThirdPartyEmsp, uids: set[str]) -> bool:
    location = await emsp.stored("locations", "NL/CPA/LOC1")
    return bool(location) and {e["uid"] for e in location["evses"]} == uids


async def _evse_of(emsp: ThirdPartyEmsp, uid: str, field: str, value: str) -> bool:
    location = await emsp.stored("locations", "NL/CPA/LOC1")
    return any(e["uid"] == uid and e[field] == value for e in location["evses"])


async def _gone(emsp: ThirdPartyEmsp, module: str, key: str) -> bool:
    return await emsp.stored(module, key) is None


async def _status_listed(cpo: ServedCpo, reply: dict[str, Any], location_id: str,
                         status: str) -> bool:
    """Our own GET shows the EVSE status (the core's report is stored asynchronously)."""
    token = reply["body"]["data"]["token"]
    async with httpx.AsyncClient(timeout=10) as http:
        answer = await http.get(f"{cpo.module_url('locations')}/{location_id}",
                                headers=token_header(token))
    return bool(answer.json()["data"]["evses"][0]["status"] == status)


async def _session_status(emsp: ThirdPartyEmsp, status: str) -> bool:
    session = await emsp.stored("sessions", "NL/CPA/TX1")
    return bool(session) and session["status"] == status


async def _has_cdr(emsp: ThirdPartyEmsp) -> bool:
    return bool((await emsp.state())["objects"]["cdrs"])


def _prices(tariff: dict[str, Any]) -> list[list[tuple[str, float, float | None]]]:
    return [[(c["type"], float(c["price"]), c.get("vat")) for c in e["price_components"]]
            for e in tariff["elements"]]


async def _our_objects(cpo: ServedCpo, token: str) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    async with httpx.AsyncClient(timeout=10) as http:
        for module in ("locations", "tariffs", "sessions", "cdrs"):
            answer = await http.get(cpo.module_url(module), headers=token_header(token))
            assert answer.status_code == 200, answer.text
            found[module] = answer.json()["data"]
    return found


async def test_evse_and_tariff_changes_and_removals_reach_it(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp, channel: grpc.aio.Channel
) -> None:
    await we_register_with_it(served_cpo, thirdparty_emsp)
    await a_site(channel, "LOC1")
    emsp = thirdparty_emsp
    await eventually(lambda: _stored(emsp, "tariffs", "NL/CPA/T2"))
    await eventually(lambda: _stored(emsp, "locations", "NL/CPA/LOC1"))
    locations = locations_pb2_grpc.LocationServiceStub(channel)
    tariffs = tariffs_pb2_grpc.TariffServiceStub(channel)

    await locations.UpsertEvse(loc.UpsertEvseRequest(
        idempotency_key="evse2", location_id="LOC1",
        evse=evse("EVSE2", connector("1"), connector("2"), evse_id="NL*CPA*E2")))
    await eventually(lambda: _has_evses(emsp, {"EVSE1", "EVSE2"}))
    await locations.RemoveEvse(loc.RemoveEvseRequest(
        idempotency_key="rm-evse1", location_id="LOC1", evse_uid="EVSE1"))
    await eventually(lambda: _evse_of(emsp, "EVSE1", "status", "REMOVED"))
    await tariffs.DeleteTariff(tar.DeleteTariffRequest(idempotency_key="rm-t2", tariff_id="T2"))
    await eventually(lambda: _gone(emsp, "tariffs", "NL/CPA/T2"))

    state = await emsp.state()
    refused = [r for r in _pushes(state) if (r["http_status"], r["ocpi_status"]) != (200, 1000)]
    assert refused == [], refused
    location = state["objects"]["locations"]["nl/cpa/loc1"]
    evse2 = next(e for e in location["evses"] if e["uid"] == "EVSE2")
    assert evse2["evse_id"] == "NL*CPA*E2"
    assert [c["id"] for c in evse2["connectors"]] == ["1", "2"]


async def test_we_rotate_credentials_at_it_and_unregister(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp, channel: grpc.aio.Channel
) -> None:
    partner = await we_register_with_it(served_cpo, thirdparty_emsp)
    before = (await thirdparty_emsp.state())["cpo"]["token"]
    rotated = await served_cpo.admin.post(f"/partners/{partner['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    state = await thirdparty_emsp.state()
    put = [r for r in state["received"] if r["method"] == "PUT"]
    assert [(r["path"], r["http_status"], r["ocpi_status"]) for r in put] == [
        ("/ocpi/emsp/2.2.1/credentials/", 200, 1000)]
    assert state["cpo"]["token"] != before and state["tokens_c"] == 1
    # Pushes after the rotation carry the new token C it issued.
    await a_site(channel, "LOC1")
    await eventually(lambda: _stored(thirdparty_emsp, "locations", "NL/CPA/LOC1"))
    async with httpx.AsyncClient(timeout=10) as http:
        old = await http.get(served_cpo.module_url("locations"), headers=token_header(before))
        new = await http.get(served_cpo.module_url("locations"),
                             headers=token_header(state["cpo"]["token"]))
    assert (old.status_code, new.status_code) == (401, 200)

    gone = await served_cpo.admin.delete(f"/partners/{partner['id']}")
    assert gone.status_code == 200, gone.text
    assert gone.json()["partner_error"] is None, gone.json()
    state = await thirdparty_emsp.state()
    deleted = [r for r in state["received"] if r["method"] == "DELETE"]
    assert [(r["path"], r["http_status"], r["ocpi_status"]) for r in deleted] == [
        ("/ocpi/emsp/2.2.1/credentials/", 200, 1000)]
    assert state["cpo"] == {} and state["tokens_c"] == 0


async def test_it_polls_with_date_from_and_gets_only_what_changed(
    served_cpo: ServedCpo, thirdparty_emsp: ThirdPartyEmsp, channel: grpc.aio.Channel
) -> None:
    reply = await it_registers_with_us(served_cpo, thirdparty_emsp)
    assert reply["body"]["status_code"] == 1000, reply
    await a_site(channel, "LOC1", "LOC2", "LOC3")
    first = await thirdparty_emsp.pull(limit=2)
    stamps = sorted(o["last_updated"] for o in first["locations"]["objects"])
    assert len(stamps) == 3
    locations = locations_pb2_grpc.LocationServiceStub(channel)
    await locations.SetEvseStatus(evse_status(
        "EVSE1", at=T0, location_id="LOC2", ocpp16_status=OCPP16_CHARGE_POINT_STATUS_CHARGING))
    # It polls from the newest last_updated it holds: to the second, as its models keep
    # timestamps, so what changed in that second comes again (as date_from is inclusive).
    since = max(stamps)
    await eventually(lambda: _status_listed(served_cpo, reply, "LOC2", "CHARGING"))
    later = await thirdparty_emsp.pull(limit=1, date_from=since)
    got = later["locations"]
    assert got["errors"] == []
    changed = {o["id"]: o for o in got["objects"]}
    assert "loc2" in changed and changed["loc2"]["evses"][0]["status"] == "CHARGING"
    assert all(o["last_updated"] >= since for o in got["objects"])
    # One object a page, every page found through Link, each keeping date_from.
    assert len(got["pages"]) == len(got["objects"]) == int(got["pages"][0]["total"])
    assert all("date_from=" in p["url"] for p in got["pages"]), got["pages"]
