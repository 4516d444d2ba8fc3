"""LocationService through a real gRPC server on loopback, over SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import locations_pb2 as pb
from ocpi_sidecar.v1 import tariffs_pb2
from sqlalchemy import func, select

from sidecar.ocpi.enums import Capability, ConnectorType, Facility, Status
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.locations import get_location
from sidecar.store.partners import REGISTERED, insert_partner
from tests.fixtures.grpc import Wakeups


def new_key() -> str:
    """A fresh idempotency key: each request of these tests is a new event."""
    return uuid.uuid4().hex


pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cpo_parties")]

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


# --- building requests ---


def connector(id: str = "1", **fields: Any) -> pb.Connector:
    values: dict[str, Any] = {
        "id": id, "standard": pb.CONNECTOR_TYPE_IEC_62196_T2,
        "format": pb.CONNECTOR_FORMAT_SOCKET, "power_type": pb.POWER_TYPE_AC_3_PHASE,
        "max_voltage": 230, "max_amperage": 32,
    }
    return pb.Connector(**{**values, **fields})


def evse(uid: str, *connectors: pb.Connector, **fields: Any) -> pb.Evse:
    return pb.Evse(uid=uid, connectors=connectors or [connector()], **fields)


def location(id: str = "LOC1", *evses: pb.Evse, party: tuple[str, str] = ("NL", "CPA"),
             **fields: Any) -> pb.Location:
    values: dict[str, Any] = {
        "id": id, "party": common.PartyRef(country_code=party[0], party_id=party[1]),
        "publish": True, "address": "Oudegracht 1", "city": "Utrecht", "country": "NLD",
        "coordinates": common.GeoLocation(latitude="52.09074", longitude="5.12142"),
        "time_zone": "Europe/Amsterdam", "evses": evses,
    }
    return pb.Location(**{**values, **fields})


def ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def upsert(loc: pb.Location, key: str | None = None) -> pb.UpsertLocationRequest:
    return pb.UpsertLocationRequest(idempotency_key=new_key() if key is None else key, location=loc)


def evse_status(uid: str = "EVSE1", at: datetime = T0, location_id: str = "LOC1",
                **status: Any) -> pb.SetEvseStatusRequest:
    return pb.SetEvseStatusRequest(idempotency_key=new_key(), location_id=location_id, evse_uid=uid,
                                   timestamp=ts(at), **status)


# --- looking at the store ---


async def stored(database: Database, location_id: str = "LOC1",
                 party: tuple[str, str] = ("NL", "CPA")) -> Any:
    async with database.read() as connection:
        return await get_location(connection, *party, location_id)


async def outbox_rows(database: Database) -> list[tuple[Any, ...]]:
    o = tables.outbox
    async with database.read() as connection:
        rows = await connection.execute(
            select(o.c.partner_id, o.c.module, o.c.object_id, o.c.action, o.c.targets,
                   o.c.generation).order_by(o.c.id))
        return [tuple(row) for row in rows]


async def outbox_count(database: Database) -> int:
    async with database.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(tables.outbox)) or 0)


async def snapshot(database: Database) -> list[list[tuple[Any, ...]]]:
    """Everything a rejected request must leave as it was."""
    found = []
    async with database.read() as connection:
        for table in (tables.locations, tables.tariffs, tables.outbox):
            key = next(iter(table.primary_key.columns))
            rows = await connection.execute(select(table).order_by(key))
            found.append([tuple(row) for row in rows])
    return found


async def register_partner(database: Database) -> int:
    async with database.write() as connection:
        return await insert_partner(connection, status=REGISTERED,
                                    versions_url="https://emsp.example.com/versions",
                                    endpoints=[], roles=[])


@pytest.fixture
async def partner(database: Database) -> int:
    """A registered eMSP, so that every change is queued for it."""
    return await register_partner(database)


async def add_tariff(
    tariff_stub: Any, id: str = "T1", party: tuple[str, str] = ("NL", "CPA")
) -> None:
    element = tariffs_pb2.TariffElement(price_components=[tariffs_pb2.PriceComponent(
        type=tariffs_pb2.TARIFF_DIMENSION_TYPE_ENERGY, price="0.25", step_size=1)])
    await tariff_stub.UpsertTariff(tariffs_pb2.UpsertTariffRequest(
        idempotency_key=f"tariff-{id}", tariff=tariffs_pb2.Tariff(
            id=id, party=common.PartyRef(country_code=party[0], party_id=party[1]),
            currency="EUR", elements=[element])))


# --- happy paths ---


async def test_upsert_location_stores_it_and_queues_a_put_after_commit(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    response = await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))

    saved = await stored(database)
    assert saved is not None
    assert (saved.country_code, saved.party_id, saved.id) == ("NL", "CPA", "LOC1")
    assert saved.address == "Oudegracht 1"
    assert saved.coordinates.latitude == "52.09074"
    assert [(e.uid, e.status) for e in saved.evses] == [("EVSE1", Status.UNKNOWN)]
    assert saved.evses[0].connectors[0].standard is ConnectorType.IEC_62196_T2
    assert response.last_updated.ToDatetime(tzinfo=UTC) == saved.last_updated
    assert await outbox_rows(database) == [(partner, "locations", "LOC1", "PUT", "", 1)]
    assert wakeups.count == 1


async def test_second_identical_upsert_enqueues_nothing(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    request = upsert(location("LOC1", evse("EVSE1"), evse("EVSE2")))
    first = await location_stub.UpsertLocation(request)
    before = await outbox_rows(database)

    second = await location_stub.UpsertLocation(request)
    await location_stub.UpsertEvse(pb.UpsertEvseRequest(
        idempotency_key="k2", location_id="LOC1", evse=evse("EVSE1")))
    await location_stub.UpsertConnector(pb.UpsertConnectorRequest(
        idempotency_key="k3", location_id="LOC1", evse_uid="EVSE1", connector=connector()))

    assert second.last_updated == first.last_updated
    assert await outbox_rows(database) == before == [(partner, "locations", "LOC1", "PUT", "", 1)]
    assert wakeups.count == 1


async def test_upsert_without_a_registered_partner_queues_nothing(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    assert await stored(database) is not None
    assert await outbox_count(database) == 0


async def test_a_change_after_a_registered_partner_appears_is_queued(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    partner = await register_partner(database)
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), name="Station")))
    assert await outbox_rows(database) == [(partner, "locations", "LOC1", "PUT", "", 1)]


async def test_upsert_location_leaves_unlisted_evses_and_keeps_unspecified_status(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), evse("EVSE2"))))
    await location_stub.SetEvseStatus(evse_status("EVSE1", ocpi_status=pb.EVSE_STATUS_AVAILABLE))

    await location_stub.UpsertLocation(
        upsert(location("LOC1", evse("EVSE1", floor_level="-1"), evse("EVSE3"))))

    saved = await stored(database)
    assert [(e.uid, e.status) for e in saved.evses] == [
        ("EVSE1", Status.AVAILABLE), ("EVSE2", Status.UNKNOWN), ("EVSE3", Status.UNKNOWN)]
    assert saved.evses[0].floor_level == "-1"


async def test_upsert_evse_adds_and_replaces_an_evse(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    response = await location_stub.UpsertEvse(pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1",
        evse=evse("EVSE2", connector("1"), connector("2", power_type=pb.POWER_TYPE_DC),
                  status=pb.EVSE_STATUS_PLANNED, capabilities=[pb.CAPABILITY_RESERVABLE])))

    saved = await stored(database)
    added = saved.evses[1]
    assert (added.uid, added.status, added.capabilities) == (
        "EVSE2", Status.PLANNED, [Capability.RESERVABLE])
    assert [c.id for c in added.connectors] == ["1", "2"]
    assert response.last_updated.ToDatetime(tzinfo=UTC) == added.last_updated
    assert await outbox_rows(database) == [(partner, "locations", "LOC1", "PUT", "", 2)]
    assert wakeups.count == 2


async def test_upsert_connector_replaces_it_in_place(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(
        upsert(location("LOC1", evse("EVSE1", connector("1"), connector("2")))))
    response = await location_stub.UpsertConnector(pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1",
        connector=connector("1", max_amperage=16, max_electric_power=11000)))

    connectors = (await stored(database)).evses[0].connectors
    assert [(c.id, c.max_amperage, c.max_electric_power) for c in connectors] == [
        ("1", 16, 11000), ("2", 32, None)]
    assert response.last_updated.ToDatetime(tzinfo=UTC) == connectors[0].last_updated


async def test_connector_may_list_tariffs_of_the_locations_party(
    location_stub: Any, tariff_stub: Any, database: Database
) -> None:
    await add_tariff(tariff_stub, "T1")
    await location_stub.UpsertLocation(
        upsert(location("LOC1", evse("EVSE1", connector("1", tariff_ids=["T1"])))))
    assert (await stored(database)).evses[0].connectors[0].tariff_ids == ["T1"]


async def test_remove_evse_keeps_it_as_removed_once(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), evse("EVSE2"))))
    request = pb.RemoveEvseRequest(idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1")
    first = await location_stub.RemoveEvse(request)
    rows = await outbox_rows(database)
    again = await location_stub.RemoveEvse(request)

    saved = await stored(database)
    assert {e.uid: e.status for e in saved.evses} == {
        "EVSE1": Status.REMOVED, "EVSE2": Status.UNKNOWN}
    assert again.last_updated == first.last_updated
    assert await outbox_rows(database) == rows == [(partner, "locations", "LOC1", "PUT", "", 2)]
    assert wakeups.count == 2


OCPP16 = {  # docs/contract.md, "Status mapping"
    "AVAILABLE": "AVAILABLE", "PREPARING": "CHARGING", "CHARGING": "CHARGING",
    "SUSPENDED_EV": "CHARGING", "SUSPENDED_EVSE": "CHARGING", "FINISHING": "CHARGING",
    "RESERVED": "RESERVED", "UNAVAILABLE": "INOPERATIVE", "FAULTED": "OUTOFORDER",
}
OCPP201 = {
    "AVAILABLE": "AVAILABLE", "OCCUPIED": "CHARGING", "RESERVED": "RESERVED",
    "UNAVAILABLE": "INOPERATIVE", "FAULTED": "OUTOFORDER",
}
OCPI = {name: name for name in Status.__members__ if name != "REMOVED"}


@pytest.mark.parametrize(
    ("field", "enum", "prefix", "expected"),
    [("ocpp16_status", pb.Ocpp16ChargePointStatus, "OCPP16_CHARGE_POINT_STATUS_", OCPP16),
     ("ocpp201_status", pb.Ocpp201ConnectorStatus, "OCPP201_CONNECTOR_STATUS_", OCPP201),
     ("ocpi_status", pb.EvseStatus, "EVSE_STATUS_", OCPI)],
)
@pytest.mark.parametrize("level", ["evse", "connector"])
async def test_every_status_value_maps_as_the_contract_says(
    location_stub: Any, database: Database, field: str, enum: Any, prefix: str,
    expected: dict[str, str], level: str,
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    values = {v.name.removeprefix(prefix) for v in enum.DESCRIPTOR.values if v.number}
    assert values - {"REMOVED"} == set(expected)  # REMOVED: only RemoveEvse sets it
    got: dict[str, tuple[str, str]] = {}
    for i, name in enumerate(expected):
        status = {field: enum.Value(prefix + name)}
        at = T0 + timedelta(minutes=i)
        if level == "evse":
            response = await location_stub.SetEvseStatus(evse_status(at=at, **status))
        else:
            response = await location_stub.SetConnectorStatus(pb.SetConnectorStatusRequest(
                idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1", connector_id="1",
                timestamp=ts(at), **status))
        saved = (await stored(database)).evses[0].status
        got[name] = (pb.EvseStatus.Name(response.evse_status).removeprefix("EVSE_STATUS_"),
                     saved.value)
    assert got == {name: (ocpi, ocpi) for name, ocpi in expected.items()}


async def test_status_change_queues_a_patch_of_the_evse(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    rows_before = await outbox_rows(database)
    async with database.write() as connection:  # as if the push worker had delivered the PUT
        await connection.execute(tables.outbox.delete())

    response = await location_stub.SetEvseStatus(
        evse_status(ocpp16_status=pb.OCPP16_CHARGE_POINT_STATUS_CHARGING))

    assert rows_before == [(partner, "locations", "LOC1", "PUT", "", 1)]
    assert response.evse_status == pb.EVSE_STATUS_CHARGING
    assert await outbox_rows(database) == [(partner, "locations", "LOC1", "PATCH", "EVSE1", 1)]
    assert wakeups.count == 2


async def test_older_status_is_acknowledged_and_ignored(
    location_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    await location_stub.SetEvseStatus(
        evse_status(at=T0, ocpp201_status=pb.OCPP201_CONNECTOR_STATUS_FAULTED))
    rows = await outbox_rows(database)

    response = await location_stub.SetEvseStatus(
        evse_status(at=T0 - timedelta(seconds=1),
                    ocpp201_status=pb.OCPP201_CONNECTOR_STATUS_AVAILABLE))

    assert response.evse_status == pb.EVSE_STATUS_OUTOFORDER
    assert (await stored(database)).evses[0].status == Status.OUTOFORDER
    assert await outbox_rows(database) == rows
    assert wakeups.count == 2


async def test_connector_statuses_make_the_evse_status(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(
        upsert(location("LOC1", evse("EVSE1", connector("1"), connector("2")))))

    def request(connector_id: str, status: int, at: datetime) -> pb.SetConnectorStatusRequest:
        return pb.SetConnectorStatusRequest(
            idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1",
            connector_id=connector_id, timestamp=ts(at), ocpp201_status=status)

    first = await location_stub.SetConnectorStatus(
        request("1", pb.OCPP201_CONNECTOR_STATUS_AVAILABLE, T0))
    second = await location_stub.SetConnectorStatus(
        request("2", pb.OCPP201_CONNECTOR_STATUS_OCCUPIED, T0 + timedelta(seconds=1)))

    assert (first.evse_status, second.evse_status) == (
        pb.EVSE_STATUS_AVAILABLE, pb.EVSE_STATUS_CHARGING)
    assert (await stored(database)).evses[0].status == Status.CHARGING


def rich_location() -> pb.Location:
    """A location with every field the contract stores set."""
    image = common.Image(url="https://cpo.example.com/p.png", thumbnail="https://cpo.example.com/t.png",
                         category=common.IMAGE_CATEGORY_CHARGER, type="png", width=640, height=480)
    text = common.DisplayText(language="nl", text="Achter de kerk")
    period = pb.ExceptionalPeriod(period_begin=ts(T0), period_end=ts(T0 + timedelta(days=1)))
    return location(
        "LOC9",
        evse("EVSE9", connector("1", max_electric_power=22000, tariff_ids=["T1"],
                                terms_and_conditions="https://cpo.example.com/terms",
                                standard=pb.CONNECTOR_TYPE_IEC_60309_2_SINGLE_16),
             evse_id="NL*CPA*E9", status=pb.EVSE_STATUS_AVAILABLE,
             status_schedules=[pb.StatusSchedule(period_begin=ts(T0),
                                                 period_end=ts(T0 + timedelta(hours=1)),
                                                 status=pb.EVSE_STATUS_INOPERATIVE)],
             capabilities=[pb.CAPABILITY_RFID_READER, pb.CAPABILITY_UNLOCK_CAPABLE],
             floor_level="-1",
             coordinates=common.GeoLocation(latitude="52.09075", longitude="5.12143"),
             physical_reference="9", directions=[text],
             parking_restrictions=[pb.PARKING_RESTRICTION_EV_ONLY], images=[image]),
        party=("BE", "CPB"),
        publish=False,
        publish_allowed_to=[pb.PublishToken(uid="TOKEN1", type=common.TOKEN_TYPE_RFID),
                            pb.PublishToken(visual_number="NL-123", issuer="Issuer")],
        name="Kerkplein", postal_code="3511", state="Utrecht",
        related_locations=[pb.AdditionalGeoLocation(latitude="52.09080", longitude="5.12150",
                                                    name=text)],
        parking_type=pb.PARKING_TYPE_ON_STREET,
        directions=[text],
        operator=common.BusinessDetails(name="Operator", website="https://op.example.com",
                                        logo=image),
        suboperator=common.BusinessDetails(name="Sub"),
        owner=common.BusinessDetails(name="Owner"),
        facilities=[pb.FACILITY_CAFE, pb.FACILITY_WIFI],
        opening_times=pb.Hours(
            twentyfourseven=False,
            regular_hours=[pb.RegularHours(weekday=1, period_begin="08:00", period_end="18:30")],
            exceptional_openings=[period], exceptional_closings=[period]),
        charging_when_closed=False,
        images=[image],
        energy_mix=common.EnergyMix(
            is_green_energy=True,
            energy_sources=[common.EnergySource(source=common.ENERGY_SOURCE_CATEGORY_SOLAR,
                                                percentage="60.5"),
                            common.EnergySource(source=common.ENERGY_SOURCE_CATEGORY_WIND,
                                                percentage="39.5")],
            environ_impacts=[common.EnvironmentalImpact(
                category=common.ENVIRONMENTAL_IMPACT_CATEGORY_CARBON_DIOXIDE, amount="0")],
            supplier_name="Green Power", energy_product_name="Green 100"),
    )


async def test_get_location_returns_what_was_stored(
    location_stub: Any, tariff_stub: Any, database: Database
) -> None:
    await add_tariff(tariff_stub, "T1", ("BE", "CPB"))
    given = rich_location()
    await location_stub.UpsertLocation(upsert(given))

    got = (await location_stub.GetLocation(pb.GetLocationRequest(location_id="LOC9"))).location

    saved = await stored(database, "LOC9", ("BE", "CPB"))
    assert got.last_updated.ToDatetime(tzinfo=UTC) == saved.last_updated
    assert got.evses[0].last_updated.ToDatetime(tzinfo=UTC) == saved.evses[0].last_updated
    assert got.evses[0].connectors[0].HasField("last_updated")
    assert saved.facilities == [Facility.CAFE, Facility.WIFI]
    for message in (got, got.evses[0], got.evses[0].connectors[0]):
        message.ClearField("last_updated")
    assert got == given


async def test_list_locations_pages_in_creation_order_and_filters_by_party(
    location_stub: Any,
) -> None:
    for id, party in (("C", ("NL", "CPA")), ("A", ("NL", "CPA")), ("B", ("BE", "CPB")),
                      ("D", ("NL", "CPA"))):
        await location_stub.UpsertLocation(upsert(location(id, evse(f"E{id}"), party=party)))

    first = await location_stub.ListLocations(pb.ListLocationsRequest(page_size=3))
    second = await location_stub.ListLocations(
        pb.ListLocationsRequest(page_size=3, page_token=first.next_page_token))
    mine = await location_stub.ListLocations(
        pb.ListLocationsRequest(party=common.PartyRef(country_code="nl", party_id="cpa")))

    assert [loc.id for loc in first.locations] == ["C", "A", "B"]
    assert first.next_page_token
    assert [loc.id for loc in second.locations] == ["D"]
    assert second.next_page_token == ""
    assert [loc.id for loc in mine.locations] == ["C", "A", "D"]
    assert [e.uid for e in first.locations[2].evses] == ["EB"]
    assert first.locations[2].party == common.PartyRef(country_code="BE", party_id="CPB")


async def test_list_locations_pages_see_each_location_once_while_they_change(
    location_stub: Any,
) -> None:
    ids = [f"LOC{n:02d}" for n in range(12)]
    for id in ids:
        await location_stub.UpsertLocation(upsert(location(id, evse("EVSE1"))))
    seen: list[str] = []
    made: list[str] = []
    token = ""
    while True:
        page = await location_stub.ListLocations(
            pb.ListLocationsRequest(page_size=5, page_token=token))
        seen += [loc.id for loc in page.locations]
        token = page.next_page_token
        if not token:
            break
        # Between two pages: one listed location changes, and a new one appears whose id
        # sorts before everything listed so far.
        await location_stub.SetEvseStatus(evse_status(
            location_id=page.locations[0].id, at=datetime.now(UTC),
            ocpi_status=pb.EVSE_STATUS_CHARGING))
        made.append(f"AAA{len(made)}")
        await location_stub.UpsertLocation(upsert(location(made[-1], evse("EVSE1"))))
    assert sorted(seen) == sorted([*ids, *made])


# --- rejected requests: the code, the field named, nothing stored, nothing queued ---

Call = Callable[[Any], Awaitable[Any]]

INVALID = grpc.StatusCode.INVALID_ARGUMENT


def without(message: Any, *fields: str) -> Any:
    for name in fields:
        message.ClearField(name)
    return message


def too_long_id() -> pb.UpsertLocationRequest:
    return upsert(location("L" * 37, evse("EVSE9")))


REJECTED: dict[str, tuple[str, Callable[[], Any], grpc.StatusCode, str]] = {
    "37-char location id": ("UpsertLocation", too_long_id, INVALID, "location.id: "),
    "37-char evse uid": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse=evse("E" * 37)), INVALID, "evse.uid: "),
    "missing address": ("UpsertLocation", lambda: upsert(without(location("LOC2"), "address")),
                        INVALID, "location.address: required"),
    "missing publish": ("UpsertLocation", lambda: upsert(without(location("LOC2"), "publish")),
                        INVALID, "location.publish: required"),
    "missing party": ("UpsertLocation", lambda: upsert(without(location("LOC2"), "party")),
                      INVALID, "location.party.country_code: required"),
    "missing location": ("UpsertLocation",
                         lambda: pb.UpsertLocationRequest(idempotency_key=new_key()),
                         INVALID, "location: required"),
    "missing idempotency key": ("UpsertLocation", lambda: upsert(location("LOC2"), key=""),
                                INVALID, "idempotency_key: required"),
    "missing evse uid": ("UpsertLocation", lambda: upsert(location("LOC2", evse("E1"), evse(""))),
                         INVALID, "location.evses[1].uid: required"),
    "evse without connectors": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse=pb.Evse(uid="E3")),
        INVALID, "evse.connectors: "),
    "unspecified connector standard": ("UpsertLocation", lambda: upsert(location(
        "LOC2", evse("E1", connector("1", standard=pb.CONNECTOR_TYPE_UNSPECIFIED)))),
        INVALID, "location.evses[0].connectors[0].standard: required"),
    "unknown connector format": ("UpsertConnector", lambda: pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1",
        connector=connector("3", format=99)), INVALID, "connector.format: unknown enum value 99"),
    "unspecified capability": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse=evse("E3", capabilities=[
            pb.CAPABILITY_RESERVABLE, pb.CAPABILITY_UNSPECIFIED])),
        INVALID, "evse.capabilities[1]: CAPABILITY_UNSPECIFIED is not allowed"),
    "zero voltage": ("UpsertConnector", lambda: pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1",
        connector=connector("3", max_voltage=0)), INVALID, "connector.max_voltage: required"),
    "negative amperage": ("UpsertConnector", lambda: pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1",
        connector=connector("3", max_amperage=-1)), INVALID, "connector.max_amperage: "),
    "bad latitude": ("UpsertLocation", lambda: upsert(location(
        "LOC2", coordinates=common.GeoLocation(latitude="52.1", longitude="5.12142"))),
        INVALID, "location.coordinates.latitude: "),
    "bad decimal percentage": ("UpsertLocation", lambda: upsert(location(
        "LOC2", energy_mix=common.EnergyMix(is_green_energy=True, energy_sources=[
            common.EnergySource(source=common.ENERGY_SOURCE_CATEGORY_SOLAR, percentage="1e2")]))),
        INVALID, "location.energy_mix.energy_sources[0].percentage: not a decimal"),
    "removed status in upsert": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1",
        evse=evse("EVSE1", status=pb.EVSE_STATUS_REMOVED)),
        INVALID, "evse.status: "),
    "duplicate evse uid": ("UpsertLocation", lambda: upsert(location(
        "LOC2", evse("E1"), evse("e1"))), INVALID, "location.evses[1].uid: duplicate"),
    "schedule renamed field": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse=evse("E3", status_schedules=[
            pb.StatusSchedule(status=pb.EVSE_STATUS_PLANNED)])),
        INVALID, "evse.status_schedules[0].period_begin: required"),
    "closed without hours": ("UpsertLocation", lambda: upsert(location(
        "LOC2", opening_times=pb.Hours(twentyfourseven=False))),
        INVALID, "location.opening_times: "),
    "status without timestamp": ("SetEvseStatus", lambda: without(evse_status(
        ocpp16_status=pb.OCPP16_CHARGE_POINT_STATUS_AVAILABLE), "timestamp"),
        INVALID, "timestamp: required"),
    "status not sent": ("SetEvseStatus", lambda: evse_status(), INVALID, "status: required"),
    "unspecified ocpp16 status": ("SetEvseStatus", lambda: evse_status(
        ocpp16_status=pb.OCPP16_CHARGE_POINT_STATUS_UNSPECIFIED), INVALID, "ocpp16_status: "),
    "unknown ocpp201 status": ("SetConnectorStatus", lambda: pb.SetConnectorStatusRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1", connector_id="1",
        timestamp=ts(T0), ocpp201_status=42), INVALID, "ocpp201_status: unknown enum value 42"),
    "removed ocpi status": ("SetEvseStatus", lambda: evse_status(
        ocpi_status=pb.EVSE_STATUS_REMOVED), INVALID, "ocpi_status: "),
    "missing connector id": ("SetConnectorStatus", lambda: pb.SetConnectorStatusRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1", timestamp=ts(T0),
        ocpi_status=pb.EVSE_STATUS_BLOCKED), INVALID, "connector_id: required"),
    "party not ours": ("UpsertLocation", lambda: upsert(location("LOC2", party=("DE", "XYZ"))),
                       grpc.StatusCode.FAILED_PRECONDITION, "location.party: "),
    "party differs from stored": ("UpsertLocation", lambda: upsert(location(
        "LOC1", party=("BE", "CPB"))), grpc.StatusCode.FAILED_PRECONDITION, "location.party: "),
    "upsert of removed evse": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse=evse("GONE")),
        grpc.StatusCode.FAILED_PRECONDITION, "evse.uid: "),
    "removed evse listed": ("UpsertLocation", lambda: upsert(location(
        "LOC1", evse("EVSE1"), evse("GONE"))),
        grpc.StatusCode.FAILED_PRECONDITION, "location.evses[1].uid: "),
    "connector of removed evse": ("UpsertConnector", lambda: pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="GONE", connector=connector()),
        grpc.StatusCode.FAILED_PRECONDITION, "evse_uid: "),
    "status of removed evse": ("SetEvseStatus", lambda: evse_status(
        "GONE", ocpi_status=pb.EVSE_STATUS_AVAILABLE),
        grpc.StatusCode.FAILED_PRECONDITION, "evse_uid: "),
    "unknown location": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="NOPE", evse=evse("E3")),
        grpc.StatusCode.NOT_FOUND, "location_id: "),
    "unknown evse status": ("SetEvseStatus", lambda: evse_status(
        "NOPE", ocpi_status=pb.EVSE_STATUS_AVAILABLE), grpc.StatusCode.NOT_FOUND, "evse_uid: "),
    "unknown evse connector": ("UpsertConnector", lambda: pb.UpsertConnectorRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="NOPE", connector=connector()),
        grpc.StatusCode.NOT_FOUND, "evse_uid: "),
    "unknown connector status": ("SetConnectorStatus", lambda: pb.SetConnectorStatusRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="EVSE1", connector_id="9",
        timestamp=ts(T0), ocpi_status=pb.EVSE_STATUS_BLOCKED),
        grpc.StatusCode.NOT_FOUND, "connector_id: "),
    "remove unknown evse": ("RemoveEvse", lambda: pb.RemoveEvseRequest(
        idempotency_key=new_key(), location_id="LOC1", evse_uid="NOPE"),
        grpc.StatusCode.NOT_FOUND, "evse_uid: "),
    "unknown tariff": ("UpsertEvse", lambda: pb.UpsertEvseRequest(
        idempotency_key=new_key(), location_id="LOC1",
        evse=evse("E3", connector("1"), connector("2", tariff_ids=["T1", "NOPE"]))),
        grpc.StatusCode.NOT_FOUND, "evse.connectors[1].tariff_ids[1]: "),
    "get unknown location": ("GetLocation", lambda: pb.GetLocationRequest(location_id="NOPE"),
                             grpc.StatusCode.NOT_FOUND, "location_id: "),
    "negative page size": ("ListLocations", lambda: pb.ListLocationsRequest(page_size=-1),
                           INVALID, "page_size: "),
    "bad page token": ("ListLocations", lambda: pb.ListLocationsRequest(page_token="x"),
                       INVALID, "page_token: "),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_rejected_request_names_the_field_and_changes_nothing(
    location_stub: Any, tariff_stub: Any, database: Database, wakeups: Wakeups, case: str
) -> None:
    rpc, build, code, details = REJECTED[case]
    await add_tariff(tariff_stub, "T1")
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), evse("GONE"))))
    await location_stub.RemoveEvse(
        pb.RemoveEvseRequest(idempotency_key=new_key(), location_id="LOC1", evse_uid="GONE"))
    await register_partner(database)
    before, notified = await snapshot(database), wakeups.count
    assert await outbox_count(database) == 0

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(location_stub, rpc)(build())

    assert error.value.code() == code, error.value.details()
    assert (error.value.details() or "").startswith(details)
    assert await snapshot(database) == before
    assert await outbox_count(database) == 0
    assert wakeups.count == notified


async def test_a_status_key_reused_for_another_event_is_refused_and_changes_nothing(
    location_stub: Any, database: Database, partner: int
) -> None:
    await location_stub.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    first = evse_status("EVSE1", at=T0, ocpp16_status=pb.OCPP16_CHARGE_POINT_STATUS_CHARGING)
    first.idempotency_key = "s1"
    await location_stub.SetEvseStatus(first)
    # A replay answers again and changes nothing.
    again = await location_stub.SetEvseStatus(first)
    assert again.evse_status == pb.EVSE_STATUS_CHARGING
    other = evse_status("EVSE1", at=T0 + timedelta(seconds=1),
                        ocpp16_status=pb.OCPP16_CHARGE_POINT_STATUS_AVAILABLE)
    other.idempotency_key = "s1"
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await location_stub.SetEvseStatus(other)
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert refused.value.details().startswith("idempotency_key:")
    current = await stored(database)
    assert _status_of(current, "EVSE1") == Status.CHARGING


def _status_of(location: Any, uid: str) -> Status:
    return next(e.status for e in location.evses if e.uid == uid)


async def test_ids_in_another_case_name_the_stored_objects(
    location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(upsert(location(
        "LOC1", evse("EVSE1", connector("C1"), connector("C2")))))

    got = await location_stub.GetLocation(pb.GetLocationRequest(location_id="loc1"))
    assert got.location.id == "LOC1"
    await location_stub.SetEvseStatus(evse_status(
        "evse1", location_id="loc1", ocpi_status=pb.EVSE_STATUS_BLOCKED))
    assert (await stored(database)).evses[0].status == Status.BLOCKED
    charging = await location_stub.SetConnectorStatus(pb.SetConnectorStatusRequest(
        idempotency_key=new_key(), location_id="Loc1", evse_uid="Evse1", connector_id="c2",
        timestamp=ts(T0 + timedelta(seconds=1)), ocpi_status=pb.EVSE_STATUS_CHARGING))
    assert charging.evse_status == pb.EVSE_STATUS_CHARGING
    saved = await stored(database)
    assert (saved.id, saved.evses[0].uid, [c.id for c in saved.evses[0].connectors]) == (
        "LOC1", "EVSE1", ["C1", "C2"])
    assert saved.evses[0].status == Status.CHARGING
    # An upsert naming the location in another case changes the stored one, as stored.
    await location_stub.UpsertLocation(upsert(location(
        "loc1", evse("evse1", connector("c1"), connector("C2")), name="Renamed")))
    again = await stored(database)
    assert again.name == "Renamed" and again.id == "LOC1"
    assert [e.uid for e in again.evses] == ["EVSE1"]
    assert [c.id for c in again.evses[0].connectors] == ["C1", "C2"]
    async with database.read() as connection:
        assert await connection.scalar(select(func.count()).select_from(tables.locations)) == 1
