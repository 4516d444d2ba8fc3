"""Locations and Tariffs Sender GETs: pagination, filters, visibility, routing headers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from sqlalchemy import update

from sidecar.domain import locations as domain_locations
from sidecar.ocpi.locations import Location, PublishTokenType
from sidecar.store import tables, tariffs
from sidecar.store.seed import demo_location, demo_tariff
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp

pytestmark = pytest.mark.anyio


async def registered(cpo: Cpo, emsp: FakeEmsp) -> None:
    reply = await emsp.register_with(cpo.versions_url,
                                     (await cpo.admin.post("/credentials-token-a")).json()["token"])
    assert reply.json()["status_code"] == 1000


async def add_locations(cpo: Cpo, count: int, party: tuple[str, str] = ("NL", "CPA")) -> None:
    base = datetime(2026, 3, 1, tzinfo=UTC)
    for number in range(count):
        location = msgspec.structs.replace(demo_location(), country_code=party[0],
                                           party_id=party[1], id=f"LOC{number}")
        async with cpo.database.write() as connection:
            await domain_locations.put_location(connection, location)
            # Spread last_updated so that date filters have something to cut.
            await connection.execute(
                update(tables.locations).where(tables.locations.c.object_id == location.id)
                .values(last_updated=base + timedelta(days=number)))


async def test_pages_follow_link_with_filters(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 5)
    url = f"{cpo.url('locations')}?limit=2&date_from=2026-03-01T00:00:00Z"
    seen = []
    while url:
        reply = await emsp.call_cpo("GET", url)
        assert reply.status_code == 200 and reply.json()["status_code"] == 1000
        assert reply.headers["x-total-count"] == "5" and reply.headers["x-limit"] == "100"
        seen += [item["id"] for item in reply.json()["data"]]
        link = reply.headers.get("link")
        if link:
            assert "date_from=2026-03-01T00%3A00%3A00Z" in link and 'rel="next"' in link
        url = link[1:link.index(">")] if link else ""
    assert seen == ["LOC0", "LOC1", "LOC2", "LOC3", "LOC4"]


async def test_date_window_and_limit_cap(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 5)
    window = await emsp.call_cpo(
        "GET", cpo.url("locations"),
        params={"date_from": "2026-03-02T00:00:00Z", "date_to": "2026-03-04T00:00:00Z"})
    assert [item["id"] for item in window.json()["data"]] == ["LOC1", "LOC2"]
    assert window.headers["x-total-count"] == "2" and "link" not in window.headers
    capped = await emsp.call_cpo("GET", cpo.url("locations"), params={"limit": "5000"})
    assert capped.headers["x-limit"] == "100" and len(capped.json()["data"]) == 5
    bad = await emsp.call_cpo("GET", cpo.url("locations"), params={"date_from": "yesterday"})
    assert bad.json()["status_code"] == 2001 and bad.json()["status_message"].startswith(
        "date_from:")


async def test_one_location_evse_connector_and_unknowns(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 1)
    base = cpo.url("locations")
    location = (await emsp.call_cpo("GET", f"{base}/LOC0")).json()["data"]
    assert location["id"] == "LOC0" and len(location["evses"]) == 2
    evse = (await emsp.call_cpo("GET", f"{base}/LOC0/SDC-LOC1-2")).json()["data"]
    assert evse["uid"] == "SDC-LOC1-2"
    connector = (await emsp.call_cpo("GET", f"{base}/LOC0/SDC-LOC1-2/1")).json()["data"]
    assert connector["standard"] == "IEC_62196_T2"
    for path in ("NOPE", "LOC0/NOPE", "LOC0/SDC-LOC1-2/9"):
        missing = await emsp.call_cpo("GET", f"{base}/{path}")
        assert missing.status_code == 404 and missing.json()["status_code"] == 2003, path


async def test_ids_in_another_case_find_the_stored_objects(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    stored = demo_location()
    evses = [msgspec.structs.replace(e, connectors=[
        msgspec.structs.replace(c, id=f"PLUG{c.id}") for c in e.connectors])
        for e in stored.evses or []]
    async with cpo.database.write() as connection:
        await domain_locations.put_location(connection, msgspec.structs.replace(
            stored, country_code="NL", party_id="CPA", id="LOC0", evses=evses))
    base = cpo.url("locations")
    location = await emsp.call_cpo("GET", f"{base}/loc0")
    assert location.status_code == 200 and location.json()["data"]["id"] == "LOC0"
    evse = await emsp.call_cpo("GET", f"{base}/Loc0/sdc-loc1-2")
    assert evse.status_code == 200 and evse.json()["data"]["uid"] == "SDC-LOC1-2"
    connector = await emsp.call_cpo("GET", f"{base}/loc0/sdc-LOC1-2/plug1")
    assert connector.status_code == 200 and connector.json()["data"]["id"] == "PLUG1"


async def test_unpublished_only_for_allowed_token_owners(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    await registered(cpo, second_emsp)
    hidden: Location = msgspec.structs.replace(
        demo_location(), country_code="NL", party_id="CPA", id="HOME", publish=False,
        publish_allowed_to=[PublishTokenType(uid="DRIVER1", type="RFID")])
    async with cpo.database.write() as connection:
        await domain_locations.put_location(connection, hidden)
        partner_id = (await connection.execute(tables.partners.select())).first().id
        await connection.execute(tables.tokens.insert().values(
            partner_id=partner_id, country_code="DE", party_id="EMP", uid="driver1",
            type="RFID", contract_id="DE-EMP-C1", issuer="Fake", valid=True,
            whitelist="ALLOWED", document=b"{}", last_updated=datetime.now(UTC)))
    owner = await emsp.call_cpo("GET", cpo.url("locations"))
    other = await second_emsp.call_cpo("GET", cpo.url("locations"))
    assert [item["id"] for item in owner.json()["data"]] == ["HOME"]
    assert other.json()["data"] == [] and other.headers["x-total-count"] == "0"
    assert (await second_emsp.call_cpo("GET", f"{cpo.url('locations')}/HOME")).status_code == 404


async def test_routing_headers_pick_our_party_and_are_swapped(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 2)
    await add_locations(cpo, 1, party=("BE", "CPB"))
    headers = {"OCPI-from-country-code": "DE", "OCPI-from-party-id": "EMP",
               "OCPI-to-country-code": "BE", "OCPI-to-party-id": "CPB"}
    reply = await emsp.call_cpo("GET", cpo.url("locations"), headers=headers)
    assert [(i["country_code"], i["id"]) for i in reply.json()["data"]] == [("BE", "LOC0")]
    assert reply.headers["ocpi-from-party-id"] == "CPB"
    assert reply.headers["ocpi-to-party-id"] == "EMP"
    spoofed = await emsp.call_cpo("GET", cpo.url("locations"), headers={
        **headers, "OCPI-from-party-id": "XXX"})
    assert spoofed.json()["status_code"] == 2001
    assert spoofed.json()["status_message"].startswith("OCPI-from-party-id:")
    unknown_to = await emsp.call_cpo("GET", cpo.url("locations"), headers={
        **headers, "OCPI-to-party-id": "ZZZ"})
    assert unknown_to.json()["status_code"] == 2001


async def test_token_a_cannot_read_modules(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    for module in ("locations", "tariffs"):
        assert (await emsp.call_cpo("GET", cpo.url(module), token_a)).status_code == 401


async def test_tariffs_list(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    async with cpo.database.write() as connection:
        for number in range(3):
            await tariffs.upsert_tariff(connection, msgspec.structs.replace(
                demo_tariff(), country_code="NL", party_id="CPA", id=f"T{number}"))
    reply = await emsp.call_cpo("GET", cpo.url("tariffs"), params={"limit": "2"})
    assert [t["id"] for t in reply.json()["data"]] == ["T0", "T1"]
    assert reply.json()["data"][0]["elements"][0]["price_components"][0]["price"] == 0.25
    assert reply.headers["x-total-count"] == "3" and "offset=2" in reply.headers["link"]


@pytest.mark.parametrize(("name", "value"), [
    ("offset", "\u00b2"),  # a superscript two: str.isdigit() says True, int() refuses it
    ("offset", "\u0661"),  # an Arabic-Indic one: int() takes it, OCPI means ASCII
    ("offset", "1" * 20),  # past any SQL integer
    ("offset", "9" * 5000),  # past Python's int() digit limit
    ("limit", "9" * 5000),
    ("limit", "-1"),
])
async def test_bad_paging_numbers_are_2001_naming_the_parameter(
    cpo: Cpo, emsp: FakeEmsp, name: str, value: str
) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 1)
    reply = await emsp.call_cpo("GET", cpo.url("locations"), params={name: value})
    assert reply.status_code == 400, reply.text
    assert reply.json()["status_code"] == 2001
    assert reply.json()["status_message"].startswith(f"{name}:")


async def test_largest_offset_is_an_empty_page(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 1)
    reply = await emsp.call_cpo("GET", cpo.url("locations"),
                                params={"offset": str(2**31 - 1), "limit": str(2**31 - 1)})
    assert reply.status_code == 200 and reply.json()["data"] == []
    too_far = await emsp.call_cpo("GET", cpo.url("locations"), params={"offset": str(2**31)})
    assert too_far.status_code == 400 and too_far.json()["status_code"] == 2001
