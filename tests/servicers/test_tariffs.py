"""TariffService through a real gRPC server on loopback, over SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import grpc
import pytest
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import locations_pb2
from ocpi_sidecar.v1 import tariffs_pb2 as pb
from sqlalchemy import func, select

from sidecar.ocpi.enums import (
    DayOfWeek,
    ReservationRestrictionType,
    TariffDimensionType,
    TariffType,
)
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.partners import REGISTERED, insert_partner
from sidecar.store.tariffs import get_tariff
from tests.fixtures.grpc import Wakeups


def new_key() -> str:
    """A fresh idempotency key: each request of these tests is a new event."""
    return uuid.uuid4().hex


pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cpo_parties")]


def ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def component(type: int = pb.TARIFF_DIMENSION_TYPE_ENERGY, price: str = "0.25",
              **fields: Any) -> pb.PriceComponent:
    return pb.PriceComponent(type=type, price=price, **{"step_size": 1, **fields})


def tariff(id: str = "T1", *elements: pb.TariffElement, party: tuple[str, str] = ("NL", "CPA"),
           **fields: Any) -> pb.Tariff:
    values: dict[str, Any] = {
        "id": id, "party": common.PartyRef(country_code=party[0], party_id=party[1]),
        "currency": "EUR",
        "elements": elements or [pb.TariffElement(price_components=[component()])],
    }
    return pb.Tariff(**{**values, **fields})


def upsert(value: pb.Tariff, key: str | None = None) -> pb.UpsertTariffRequest:
    return pb.UpsertTariffRequest(idempotency_key=new_key() if key is None else key, tariff=value)


async def stored(database: Database, id: str = "T1", party: tuple[str, str] = ("NL", "CPA")) -> Any:
    async with database.read() as connection:
        return await get_tariff(connection, *party, id)


async def outbox_rows(database: Database) -> list[tuple[Any, ...]]:
    o = tables.outbox
    async with database.read() as connection:
        rows = await connection.execute(
            select(o.c.partner_id, o.c.module, o.c.object_id, o.c.action, o.c.generation)
            .order_by(o.c.id))
        return [tuple(row) for row in rows]


async def outbox_count(database: Database) -> int:
    async with database.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(tables.outbox)) or 0)


async def tariff_rows(database: Database) -> list[tuple[Any, ...]]:
    async with database.read() as connection:
        rows = await connection.execute(select(tables.tariffs).order_by(tables.tariffs.c.pk))
        return [tuple(row) for row in rows]


async def register_partner(database: Database) -> int:
    async with database.write() as connection:
        return await insert_partner(connection, status=REGISTERED,
                                    versions_url="https://emsp.example.com/versions",
                                    endpoints=[], roles=[])


@pytest.fixture
async def partner(database: Database) -> int:
    return await register_partner(database)


def full_tariff() -> pb.Tariff:
    restrictions = pb.TariffRestrictions(
        start_time="13:30", end_time="00:00", start_date="2026-01-01", end_date="2027-01-01",
        min_kwh="0.5", max_kwh="100", min_current="6", max_current="32.5", min_power="1.5",
        max_power="22", min_duration=0, max_duration=7200,
        days_of_week=[pb.DAY_OF_WEEK_MONDAY, pb.DAY_OF_WEEK_SUNDAY])
    reservation = pb.TariffRestrictions(
        reservation=pb.RESERVATION_RESTRICTION_TYPE_RESERVATION_EXPIRES)
    return tariff(
        "T9",
        pb.TariffElement(price_components=[
            component(pb.TARIFF_DIMENSION_TYPE_ENERGY, "0.2500", vat="21.0", step_size=1),
            component(pb.TARIFF_DIMENSION_TYPE_PARKING_TIME, "-3.5", step_size=300),
        ], restrictions=restrictions),
        pb.TariffElement(price_components=[component(pb.TARIFF_DIMENSION_TYPE_FLAT, "2")],
                         restrictions=reservation),
        pb.TariffElement(price_components=[component(pb.TARIFF_DIMENSION_TYPE_TIME, "1.2",
                                                     vat="0")]),
        party=("BE", "CPB"),
        type=pb.TARIFF_TYPE_PROFILE_GREEN,
        tariff_alt_texts=[common.DisplayText(language="en", text="2 euro per session")],
        tariff_alt_url="https://cpo.example.com/tariffs/t9",
        min_price=common.Price(excl_vat="1", incl_vat="1.21"),
        max_price=common.Price(excl_vat="100.000001"),
        start_date_time=ts(datetime(2026, 1, 1, tzinfo=UTC)),
        end_date_time=ts(datetime(2027, 1, 1, tzinfo=UTC)),
        energy_mix=common.EnergyMix(is_green_energy=False, environ_impacts=[
            common.EnvironmentalImpact(
                category=common.ENVIRONMENTAL_IMPACT_CATEGORY_NUCLEAR_WASTE, amount="0.0006")]),
    )


async def test_upsert_tariff_stores_exact_decimals_and_queues_a_put(
    tariff_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    response = await tariff_stub.UpsertTariff(upsert(full_tariff()))

    saved = await stored(database, "T9", ("BE", "CPB"))
    first, reservation, time = saved.elements
    assert [(c.type, c.price, c.vat, c.step_size) for c in first.price_components] == [
        (TariffDimensionType.ENERGY, Decimal("0.2500"), Decimal("21.0"), 1),
        (TariffDimensionType.PARKING_TIME, Decimal("-3.5"), None, 300)]
    limits = first.restrictions
    assert (limits.min_kwh, limits.max_current, limits.max_power) == (
        Decimal("0.5"), Decimal("32.5"), Decimal("22"))
    assert (limits.min_duration, limits.max_duration) == (0, 7200)
    assert limits.day_of_week == [DayOfWeek.MONDAY, DayOfWeek.SUNDAY]
    assert reservation.restrictions.reservation is ReservationRestrictionType.RESERVATION_EXPIRES
    assert time.price_components[0].vat == Decimal("0")
    assert saved.type is TariffType.PROFILE_GREEN
    assert saved.tariff_alt_text[0].text == "2 euro per session"
    assert (saved.min_price.excl_vat, saved.min_price.incl_vat) == (Decimal("1"), Decimal("1.21"))
    assert saved.max_price.excl_vat == Decimal("100.000001")
    assert saved.energy_mix.environ_impact[0].amount == Decimal("0.0006")
    assert saved.start_date_time == datetime(2026, 1, 1, tzinfo=UTC)
    assert response.last_updated.ToDatetime(tzinfo=UTC) == saved.last_updated
    assert await outbox_rows(database) == [(partner, "tariffs", "T9", "PUT", 1)]
    assert wakeups.count == 1


async def test_second_identical_upsert_enqueues_nothing(
    tariff_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    first = await tariff_stub.UpsertTariff(upsert(full_tariff()))
    second = await tariff_stub.UpsertTariff(upsert(full_tariff(), key="again"))

    assert second.last_updated == first.last_updated
    assert await outbox_rows(database) == [(partner, "tariffs", "T9", "PUT", 1)]
    assert wakeups.count == 1


async def test_changed_tariff_is_queued_again(
    tariff_stub: Any, database: Database, partner: int
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    await tariff_stub.UpsertTariff(upsert(tariff("T1", currency="USD")))
    assert (await stored(database)).currency == "USD"
    assert await outbox_rows(database) == [(partner, "tariffs", "T1", "PUT", 2)]


async def test_upsert_without_a_registered_partner_queues_nothing(
    tariff_stub: Any, database: Database
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    assert await stored(database) is not None
    assert await outbox_count(database) == 0


async def test_delete_tariff_removes_it_and_queues_a_delete(
    tariff_stub: Any, database: Database, partner: int, wakeups: Wakeups
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    await tariff_stub.DeleteTariff(pb.DeleteTariffRequest(idempotency_key="d", tariff_id="T1"))

    assert await stored(database) is None
    assert await outbox_rows(database) == [(partner, "tariffs", "T1", "DELETE", 2)]
    assert wakeups.count == 2


async def test_a_tariff_of_a_removed_evse_only_may_be_deleted(
    tariff_stub: Any, location_stub: Any, database: Database
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    connector = locations_pb2.Connector(
        id="1", standard=locations_pb2.CONNECTOR_TYPE_CHADEMO,
        format=locations_pb2.CONNECTOR_FORMAT_CABLE, power_type=locations_pb2.POWER_TYPE_DC,
        max_voltage=400, max_amperage=125, tariff_ids=["T1"])
    await location_stub.UpsertLocation(locations_pb2.UpsertLocationRequest(
        idempotency_key=new_key(), location=locations_pb2.Location(
            id="LOC1", party=common.PartyRef(country_code="NL", party_id="CPA"), publish=True,
            address="a", city="b", country="NLD", time_zone="Europe/Amsterdam",
            coordinates=common.GeoLocation(latitude="52.09074", longitude="5.12142"),
            evses=[locations_pb2.Evse(uid="E1", connectors=[connector])])))

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await tariff_stub.DeleteTariff(pb.DeleteTariffRequest(idempotency_key="d", tariff_id="T1"))
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert (error.value.details() or "").startswith("tariff_id: ")
    assert "'E1'" in (error.value.details() or "")
    assert await stored(database) is not None

    await location_stub.RemoveEvse(locations_pb2.RemoveEvseRequest(
        idempotency_key="r", location_id="LOC1", evse_uid="E1"))
    await tariff_stub.DeleteTariff(pb.DeleteTariffRequest(idempotency_key="d", tariff_id="T1"))
    assert await stored(database) is None


def without(message: Any, *fields: str) -> Any:
    for name in fields:
        message.ClearField(name)
    return message


def with_component(**fields: Any) -> pb.UpsertTariffRequest:
    return upsert(tariff("T2", pb.TariffElement(price_components=[component(**fields)])))


INVALID = grpc.StatusCode.INVALID_ARGUMENT
PRICE = "tariff.elements[0].price_components[0]"

REJECTED: dict[str, tuple[str, Callable[[], Any], grpc.StatusCode, str]] = {
    "37-char id": ("UpsertTariff", lambda: upsert(tariff("T" * 37)), INVALID, "tariff.id: "),
    "missing tariff": ("UpsertTariff", lambda: pb.UpsertTariffRequest(idempotency_key=new_key()),
                       INVALID, "tariff: required"),
    "missing key": ("UpsertTariff", lambda: upsert(tariff("T2"), key=""),
                    INVALID, "idempotency_key: required"),
    "missing currency": ("UpsertTariff", lambda: upsert(without(tariff("T2"), "currency")),
                         INVALID, "tariff.currency: required"),
    "missing elements": ("UpsertTariff", lambda: upsert(without(tariff("T2"), "elements")),
                         INVALID, "tariff.elements: required"),
    "element without components": ("UpsertTariff", lambda: upsert(tariff(
        "T2", pb.TariffElement())), INVALID, "tariff.elements[0].price_components: required"),
    "unspecified dimension": ("UpsertTariff", lambda: with_component(
        type=pb.TARIFF_DIMENSION_TYPE_UNSPECIFIED), INVALID, f"{PRICE}.type: required"),
    "unknown dimension": ("UpsertTariff", lambda: with_component(type=77),
                          INVALID, f"{PRICE}.type: unknown enum value 77"),
    "unspecified day": ("UpsertTariff", lambda: upsert(tariff("T2", pb.TariffElement(
        price_components=[component()], restrictions=pb.TariffRestrictions(
            days_of_week=[pb.DAY_OF_WEEK_UNSPECIFIED])))),
        INVALID, "tariff.elements[0].restrictions.days_of_week[0]: "),
    "missing price": ("UpsertTariff", lambda: with_component(price=""),
                      INVALID, f"{PRICE}.price: required"),
    "exponent price": ("UpsertTariff", lambda: with_component(price="1e3"),
                       INVALID, f"{PRICE}.price: not a decimal"),
    "NaN price": ("UpsertTariff", lambda: with_component(price="NaN"),
                  INVALID, f"{PRICE}.price: not a decimal"),
    "infinite vat": ("UpsertTariff", lambda: with_component(vat="Infinity"),
                     INVALID, f"{PRICE}.vat: not a decimal"),
    "comma price": ("UpsertTariff", lambda: with_component(price="0,25"),
                    INVALID, f"{PRICE}.price: not a decimal"),
    "plus price": ("UpsertTariff", lambda: with_component(price="+1"),
                   INVALID, f"{PRICE}.price: not a decimal"),
    "seven fraction digits": ("UpsertTariff", lambda: with_component(price="0.1234567"),
                              INVALID, f"{PRICE}.price: not a decimal"),
    "zero step size": ("UpsertTariff", lambda: with_component(step_size=0),
                       INVALID, f"{PRICE}.step_size: required"),
    "negative step size": ("UpsertTariff", lambda: with_component(step_size=-5),
                           INVALID, f"{PRICE}.step_size: "),
    "bad min price": ("UpsertTariff", lambda: upsert(tariff(
        "T2", min_price=common.Price(excl_vat="1.0.0"))),
        INVALID, "tariff.min_price.excl_vat: not a decimal"),
    "bad kwh restriction": ("UpsertTariff", lambda: upsert(tariff("T2", pb.TariffElement(
        price_components=[component()], restrictions=pb.TariffRestrictions(min_kwh="five"))))
        , INVALID, "tariff.elements[0].restrictions.min_kwh: not a decimal"),
    "bad start time": ("UpsertTariff", lambda: upsert(tariff("T2", pb.TariffElement(
        price_components=[component()], restrictions=pb.TariffRestrictions(start_time="25:00")))),
        INVALID, "tariff.elements[0].restrictions.start_time: "),
    "reservation prices energy": ("UpsertTariff", lambda: upsert(tariff("T2", pb.TariffElement(
        price_components=[component()], restrictions=pb.TariffRestrictions(
            reservation=pb.RESERVATION_RESTRICTION_TYPE_RESERVATION)))),
        INVALID, "tariff.elements[0]: "),
    "two components of a dimension": ("UpsertTariff", lambda: upsert(tariff("T2", pb.TariffElement(
        price_components=[component(), component(price="0.3")]))),
        INVALID, "tariff.elements[0].price_components[1].type: "),
    "renamed alt text": ("UpsertTariff", lambda: upsert(tariff("T2", tariff_alt_texts=[
        common.DisplayText(language="en")])), INVALID, "tariff.tariff_alt_texts[0].text: required"),
    "party not ours": ("UpsertTariff", lambda: upsert(tariff("T2", party=("DE", "XYZ"))),
                       grpc.StatusCode.FAILED_PRECONDITION, "tariff.party: "),
    "party differs from stored": ("UpsertTariff", lambda: upsert(tariff("T1", party=("BE", "CPB"))),
                                  grpc.StatusCode.FAILED_PRECONDITION, "tariff.party: "),
    "delete unknown": ("DeleteTariff", lambda: pb.DeleteTariffRequest(
        idempotency_key="d", tariff_id="NOPE"), grpc.StatusCode.NOT_FOUND, "tariff_id: "),
    "delete without id": ("DeleteTariff", lambda: pb.DeleteTariffRequest(idempotency_key="d"),
                          INVALID, "tariff_id: required"),
    "delete without key": ("DeleteTariff", lambda: pb.DeleteTariffRequest(tariff_id="T1"),
                           INVALID, "idempotency_key: required"),
}


@pytest.mark.parametrize("case", sorted(REJECTED))
async def test_rejected_request_names_the_field_and_changes_nothing(
    tariff_stub: Any, database: Database, wakeups: Wakeups, case: str
) -> None:
    rpc, build, code, details = REJECTED[case]
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    await register_partner(database)
    before, notified = await tariff_rows(database), wakeups.count

    with pytest.raises(grpc.aio.AioRpcError) as error:
        await getattr(tariff_stub, rpc)(build())

    assert error.value.code() == code, error.value.details()
    assert (error.value.details() or "").startswith(details), error.value.details()
    assert await tariff_rows(database) == before
    assert await outbox_count(database) == 0
    assert wakeups.count == notified


async def test_a_retried_delete_succeeds_and_a_reused_key_is_already_exists(
    tariff_stub: Any, database: Database, partner: int
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1"), key="u1"))
    delete = pb.DeleteTariffRequest(idempotency_key="d1", tariff_id="T1")
    await tariff_stub.DeleteTariff(delete)
    # The core lost our answer and sends the same request again: done already, no error.
    await tariff_stub.DeleteTariff(delete)
    assert await stored(database) is None
    assert await outbox_rows(database) == [(partner, "tariffs", "T1", "DELETE", 2)]
    # The same key for another payload is refused, and changes nothing.
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await tariff_stub.UpsertTariff(upsert(tariff("T2"), key="u1"))
    assert refused.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert refused.value.details().startswith("idempotency_key:")
    assert await stored(database, "T2") is None
    # Another delete of the now unknown tariff, under a new key, is NOT_FOUND.
    with pytest.raises(grpc.aio.AioRpcError) as missing:
        await tariff_stub.DeleteTariff(pb.DeleteTariffRequest(idempotency_key="d2",
                                                              tariff_id="T1"))
    assert missing.value.code() == grpc.StatusCode.NOT_FOUND


async def test_a_tariff_named_in_another_case_is_the_stored_one(
    tariff_stub: Any, database: Database
) -> None:
    await tariff_stub.UpsertTariff(upsert(tariff("T1")))
    await tariff_stub.UpsertTariff(upsert(tariff("t1", currency="USD")))
    saved = await stored(database, "t1")
    assert saved.id == "T1" and saved.currency == "USD"
    assert len(await tariff_rows(database)) == 1
    await tariff_stub.DeleteTariff(pb.DeleteTariffRequest(idempotency_key="d", tariff_id="t1"))
    assert await tariff_rows(database) == []
