"""Checklist §14 D–G: the objects we own (locations, sessions, CDRs, tariffs), as GET lists
them and as pushes carry them, checked against the spec's tables written out here apart
from our models."""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Awaitable
from datetime import datetime, timedelta
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import locations_pb2 as loc
from ocpi_sidecar.v1 import tariffs_pb2 as tar
from ocpi_sidecar.v1 import transactions_pb2 as pb
from sqlalchemy import select

from sidecar.store import tables
from tests.checklist.support import emsp_registers, strings
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.transaction_e2e import Core, core, listed, register, sent_cdrs, site
from tests.servicers.transaction_builders import (
    T0,
    end,
    location_request,
    meter_event,
    meter_value,
    start,
    tariff_request,
    ten_minutes,
    token,
    update,
)

pytestmark = pytest.mark.anyio
__all__ = ["core"]  # the fixture

# Required fields (cardinality 1 or +) of mod_locations, mod_sessions, mod_cdrs, mod_tariffs.
REQUIRED = {
    "Location": {"country_code", "party_id", "id", "publish", "address", "city", "country",
                 "coordinates", "time_zone", "last_updated"},
    "EVSE": {"uid", "status", "connectors", "last_updated"},
    "Connector": {"id", "standard", "format", "power_type", "max_voltage", "max_amperage",
                  "last_updated"},
    "Session": {"country_code", "party_id", "id", "start_date_time", "kwh", "cdr_token",
                "auth_method", "location_id", "evse_uid", "connector_id", "currency",
                "status", "last_updated"},
    "CdrToken": {"country_code", "party_id", "uid", "type", "contract_id"},
    "CDR": {"country_code", "party_id", "id", "start_date_time", "end_date_time", "cdr_token",
            "auth_method", "cdr_location", "currency", "charging_periods", "total_cost",
            "total_energy", "total_time", "last_updated"},
    "CdrLocation": {"id", "address", "city", "country", "coordinates", "evse_uid", "evse_id",
                    "connector_id", "connector_standard", "connector_format",
                    "connector_power_type"},
    "Tariff": {"country_code", "party_id", "id", "currency", "elements", "last_updated"},
    "PriceComponent": {"type", "price", "step_size"},
}
# Maximum lengths by field name (the same in every object that has the field; address and
# state take the erratum's 255 and 45).
MAX_LENGTH = {"country_code": 2, "party_id": 3, "id": 36, "uid": 36, "evse_id": 48,
              "location_id": 36, "evse_uid": 36, "connector_id": 36, "session_id": 36,
              "name": 255, "address": 255, "city": 45, "postal_code": 10, "state": 45,
              "country": 3, "currency": 3, "contract_id": 36, "authorization_reference": 36,
              "meter_id": 255, "tariff_id": 36, "time_zone": 255, "latitude": 10,
              "longitude": 11, "language": 2, "text": 512, "physical_reference": 16,
              "floor_level": 4, "visual_number": 64, "issuer": 64}
SESSION_DIMENSIONS = {"CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT",
                      "MIN_CURRENT", "MAX_POWER", "MIN_POWER", "PARKING_TIME", "POWER",
                      "RESERVATION_TIME", "STATE_OF_CHARGE", "TIME"}
SESSION_ONLY = {"CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER", "STATE_OF_CHARGE"}


def has_required(kind: str, value: dict[str, Any]) -> None:
    missing = REQUIRED[kind] - {name for name, item in value.items() if item is not None}
    assert not missing, (kind, missing, value.get("id") or value.get("uid"))


def check_location(location: dict[str, Any]) -> None:
    has_required("Location", location)
    assert location["evses"], location["id"]
    for evse in location["evses"]:
        has_required("EVSE", evse)
        assert evse["connectors"], evse["uid"]  # 61: never an empty list
        for connector in evse["connectors"]:
            has_required("Connector", connector)
            assert "status" not in connector  # 61: status is the EVSE's


def check_lengths(document: Any) -> None:
    for path, value in strings(document):
        name = path.rsplit(".", 1)[-1].split("[")[0]
        if name in MAX_LENGTH:
            assert len(value) <= MAX_LENGTH[name], (path, value)


async def a_finished_session(cpo: Cpo, core: Core, emsp: FakeEmsp) -> dict[str, Any]:
    await register(cpo, emsp)
    await site(core)
    await core.run(ten_minutes())
    await eventually(lambda: len(sent_cdrs(emsp)) == 1)
    return dict(sent_cdrs(emsp)[0].body)


async def test_27_52_61_62_what_we_list_has_the_required_fields_and_fits_their_lengths(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    cdr = await a_finished_session(cpo, core, emsp)
    locations = await listed(emsp, cpo, "locations")
    assert locations
    for location in locations:
        check_location(location)
        coordinates = location["coordinates"]
        assert re.fullmatch(r"-?[0-9]{1,2}\.[0-9]{5,7}", coordinates["latitude"])
        assert re.fullmatch(r"-?[0-9]{1,3}\.[0-9]{5,7}", coordinates["longitude"])
        assert re.fullmatch(r"[A-Z]{3}", location["country"])
        assert zoneinfo.ZoneInfo(location["time_zone"])  # an IANA name, or this raises
    (session,) = await listed(emsp, cpo, "sessions")
    has_required("Session", session)
    has_required("CdrToken", session["cdr_token"])
    (listed_cdr,) = await listed(emsp, cpo, "cdrs")
    for document in (cdr, listed_cdr):
        has_required("CDR", document)
        has_required("CdrToken", document["cdr_token"])
        has_required("CdrLocation", document["cdr_location"])
        assert document["charging_periods"]
    tariffs = await listed(emsp, cpo, "tariffs")
    for tariff in tariffs:
        has_required("Tariff", tariff)
    for whole in (locations, session, cdr, tariffs):
        check_lengths(whole)
    pushed = [r.body for r in emsp.received if r.method == "PUT" and "/locations/" in r.path]
    for location in pushed:
        check_location(location)
        check_lengths(location)


async def test_56_a_connector_tariff_change_dates_connector_evse_and_location(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    await site(core)
    await core.tariffs.UpsertTariff(tariff_request("T2"))
    before = (await emsp.call_cpo("GET", f"{cpo.url('locations')}/LOC1")).json()["data"]
    changed = await core.locations.UpsertConnector(loc.UpsertConnectorRequest(
        idempotency_key="plug-t2", location_id="LOC1", evse_uid="EVSE1",
        connector=location_request(tariff_ids=("T2",)).location.evses[0].connectors[0]))
    stamp = changed.last_updated.ToDatetime().strftime("%Y-%m-%dT%H:%M:%SZ")
    after = (await emsp.call_cpo("GET", f"{cpo.url('locations')}/LOC1")).json()["data"]
    connector = after["evses"][0]["connectors"][0]
    assert connector["tariff_ids"] == ["T2"]
    assert connector["last_updated"] == stamp >= before["evses"][0]["connectors"][0][
        "last_updated"]
    assert after["evses"][0]["last_updated"] >= stamp and after["last_updated"] >= stamp
    since = await listed(emsp, cpo, "locations", date_from=stamp)
    assert [item["id"] for item in since] == ["LOC1"]


async def test_59_a_retired_evse_is_sent_as_removed_and_nothing_is_deleted(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.locations.UpsertEvse(loc.UpsertEvseRequest(
        idempotency_key="evse2", location_id="LOC1", evse=loc.Evse(
            uid="EVSE2", evse_id="NL*CPA*E2",
            connectors=location_request().location.evses[0].connectors)))
    await core.locations.RemoveEvse(loc.RemoveEvseRequest(
        idempotency_key="rm-evse2", location_id="LOC1", evse_uid="EVSE2"))

    def removed() -> bool:
        held = emsp.objects.get("locations/NL/CPA/LOC1", {})
        return any(e["uid"] == "EVSE2" and e["status"] == "REMOVED"
                   for e in held.get("evses", []))
    await eventually(removed)
    assert not [r for r in emsp.received if r.method == "DELETE" and "/locations" in r.path]


async def test_63_a_private_location_is_neither_listed_nor_pushed(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await core.tariffs.UpsertTariff(tariff_request())
    await core.locations.UpsertLocation(location_request("HIDDEN", publish=False))
    await core.locations.UpsertLocation(location_request("SHOWN"))
    await eventually(lambda: "locations/NL/CPA/SHOWN" in emsp.objects)
    assert [item["id"] for item in await listed(emsp, cpo, "locations")] == ["SHOWN"]
    assert (await emsp.call_cpo("GET", f"{cpo.url('locations')}/HIDDEN")).status_code == 404
    assert not [r for r in emsp.received if "HIDDEN" in r.path]


async def test_67_a_started_session_is_put_with_what_the_emsp_needs(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await eventually(lambda: "sessions/NL/CPA/TX1" in emsp.objects)
    put = next(r for r in emsp.received if r.method == "PUT" and "/sessions/" in r.path)
    body = put.body
    assert body["status"] in ("PENDING", "ACTIVE")
    assert (body["cdr_token"]["country_code"], body["cdr_token"]["party_id"]) == ("DE", "EMP")
    assert (body["location_id"], body["evse_uid"], body["connector_id"]) == (
        "LOC1", "EVSE1", "1")
    for name in ("kwh", "auth_method", "currency", "last_updated"):
        assert body.get(name) is not None, name
    assert put.path == f"/ocpi/2.2.1/sessions/NL/CPA/{body['id']}"


async def test_71_a_completed_session_stays_completed(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await a_finished_session(cpo, core, emsp)
    await eventually(lambda: emsp.objects["sessions/NL/CPA/TX1"]["status"] == "COMPLETED")
    late = T0 + timedelta(minutes=12)
    # What the core reports after the end is refused, so it cannot reopen the session.
    for call in (core.transactions.ReportMeterValues(pb.ReportMeterValuesRequest(events=[
                     meter_event("TX1", "TX1:late", meter_value(late, 11700))])),
                 core.transactions.UpdateTransaction(update(
                     "TX1", "TX1:late-state", late,
                     charging_state=pb.CHARGING_STATE_CHARGING))):
        with pytest.raises(grpc.aio.AioRpcError) as refused:
            await call
        assert refused.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    (session,) = await listed(emsp, cpo, "sessions")
    assert session["status"] == "COMPLETED" and session["end_date_time"]
    sent = [r.body for r in emsp.received if "/sessions/" in r.path and r.body]
    completed = [i for i, body in enumerate(sent) if body.get("status") == "COMPLETED"]
    assert completed
    assert all(body.get("status") in (None, "COMPLETED") for body in sent[completed[0]:])


async def test_75_87_dimensions_are_cdr_dimension_types_and_soc_is_a_percentage(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    cdr = await a_finished_session(cpo, core, emsp)
    (session,) = await listed(emsp, cpo, "sessions")
    for period in session["charging_periods"]:
        for dimension in period["dimensions"]:
            assert dimension["type"] in SESSION_DIMENSIONS
            if dimension["type"] == "STATE_OF_CHARGE":
                assert 0 <= dimension["volume"] <= 100
    types = {d["type"] for p in cdr["charging_periods"] for d in p["dimensions"]}
    assert types and not types & SESSION_ONLY


async def test_80_82_90_one_cdr_per_session_with_totals_and_its_tariffs(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    cdr = await a_finished_session(cpo, core, emsp)
    assert len(sent_cdrs(emsp)) == 1
    assert cdr["total_parking_time"] <= cdr["total_time"]
    referenced = {p["tariff_id"] for p in cdr["charging_periods"] if p.get("tariff_id")}
    assert referenced <= {t["id"] for t in cdr["tariffs"]}


async def test_85_86_the_cdr_keeps_the_place_and_authorization_of_the_start(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.locations.UpsertEvse(loc.UpsertEvseRequest(
        idempotency_key="evse2", location_id="LOC1", evse=loc.Evse(
            uid="EVSE2", evse_id="NL*CPA*E2",
            connectors=location_request().location.evses[0].connectors)))
    await core.transactions.StartTransaction(start(token=token(
        authorized_by_sidecar=True, authorization_reference="AUTH-7")))
    moved = location_request()
    moved.location.address = "Neude 11"
    moved.idempotency_key = "moved"
    await core.locations.UpsertLocation(moved)
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=5)))
    await eventually(lambda: sent_cdrs(emsp))
    (session,) = await listed(emsp, cpo, "sessions")
    cdr = sent_cdrs(emsp)[0].body
    place = cdr["cdr_location"]
    assert (place["id"], place["evse_uid"], place["connector_id"]) == ("LOC1", "EVSE1", "1")
    assert "EVSE2" not in str(place)
    assert place["address"] == "Oudegracht 1"
    assert cdr["auth_method"] == session["auth_method"] == "AUTH_REQUEST"
    assert cdr["authorization_reference"] == session["authorization_reference"] == "AUTH-7"


async def test_89_cdrs_are_filtered_on_the_window_from_inclusive_to_exclusive(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    cdr = await a_finished_session(cpo, core, emsp)
    stamp = cdr["last_updated"]
    after = (datetime.fromisoformat(stamp.replace("Z", "+00:00")) + timedelta(seconds=1)
             ).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [c["id"] for c in await listed(emsp, cpo, "cdrs", date_from=stamp)] == ["TX1"]
    assert await listed(emsp, cpo, "cdrs", date_to=stamp) == []
    assert [c["id"] for c in await listed(emsp, cpo, "cdrs", date_to=after)] == ["TX1"]
    assert await listed(emsp, cpo, "cdrs", date_from=after) == []


async def test_92_95_98_tariffs_are_whole_and_cover_every_connector(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    evening = tariff_request("T2")
    evening.tariff.elements[0].restrictions.CopyFrom(tar.TariffRestrictions(
        start_time="17:00", end_time="23:00", start_date="2026-01-01",
        end_date="2027-01-01", days_of_week=[tar.DAY_OF_WEEK_MONDAY]))
    await core.tariffs.UpsertTariff(tariff_request())
    await core.tariffs.UpsertTariff(evening)
    await core.locations.UpsertLocation(location_request(tariff_ids=("T1", "T2")))
    tariffs = {t["id"]: t for t in await listed(emsp, cpo, "tariffs")}
    for tariff in tariffs.values():
        assert tariff["elements"]
        for element in tariff["elements"]:
            for component in element["price_components"]:
                has_required("PriceComponent", component)
    restrictions = tariffs["T2"]["elements"][0]["restrictions"]
    assert (restrictions["start_time"], restrictions["end_time"]) == ("17:00", "23:00")
    assert (restrictions["start_date"], restrictions["end_date"]) == (
        "2026-01-01", "2027-01-01")
    for location in await listed(emsp, cpo, "locations"):
        for evse in location["evses"]:
            for connector in evse["connectors"]:
                assert set(connector.get("tariff_ids", [])) <= set(tariffs)


async def test_91_a_tariff_boundary_inside_the_session_starts_a_new_period(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    request = tariff_request()
    components = request.tariff.elements[0].price_components
    # From 12:03 Amsterdam time (11:03 UTC, three minutes into the session) the first
    # element applies; before it, the second.
    evening = tar.TariffElement(price_components=components,
                                restrictions=tar.TariffRestrictions(start_time="12:03",
                                                                    end_time="23:00"))
    del request.tariff.elements[:]
    request.tariff.elements.extend([evening, tar.TariffElement(price_components=components)])
    await core.tariffs.UpsertTariff(request)
    await core.locations.UpsertLocation(location_request())
    await core.run(ten_minutes())
    await eventually(lambda: sent_cdrs(emsp))
    starts = [p["start_date_time"] for p in sent_cdrs(emsp)[0].body["charging_periods"]]
    assert starts[0] == "2026-03-02T11:00:00Z" and "2026-03-02T11:03:00Z" in starts


async def test_81_the_cdr_url_the_emsp_answers_with_is_kept(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    cdr = await a_finished_session(cpo, core, emsp)
    where = f"{emsp.url}/ocpi/2.2.1/cdrs/{cdr['id']}"

    async def kept() -> list[str | None]:
        async with cpo.database.read() as connection:
            return list(await connection.scalars(select(
                tables.push_attempts.c.response_location).where(
                tables.push_attempts.c.module == "cdrs")))
    await eventually(lambda: _contains(kept(), where))
    assert emsp.objects[f"cdrs/{cdr['id']}"] == cdr  # what lives at that URL


async def _contains(locations: Awaitable[list[str | None]], where: str) -> bool:
    return where in await locations
