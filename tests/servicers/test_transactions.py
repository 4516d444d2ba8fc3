"""TransactionService through a real gRPC server on loopback, over SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from decimal import Decimal
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import locations_pb2 as loc
from ocpi_sidecar.v1 import transactions_pb2 as pb
from ocpi_sidecar.v1 import transactions_pb2_grpc
from sqlalchemy import func, select

from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.enums import AuthMethod, SessionStatus
from sidecar.ocpi.sessions import Session
from sidecar.servicers.server import create_server, registrations
from sidecar.servicers.transactions import TransactionServicer
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.partners import REGISTERED, hold_parties, insert_partner
from tests.fixtures.grpc import Wakeups
from tests.fixtures.waiting import eventually
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

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cpo_parties")]

D = Decimal


@asynccontextmanager
async def serving(database: Database, wakeups: Wakeups, **options: Any) -> AsyncIterator[int]:
    """Our server with the TransactionServicer built with `options`; yields its port."""
    services = [
        (add, TransactionServicer(database, wakeups.wakeup, **options), name)
        if name.endswith("TransactionService") else (add, servicer, name)
        for add, servicer, name in registrations(database, wakeups.wakeup)]
    server, port = await create_server("127.0.0.1:0", database, wakeups.wakeup,
                                       services=services)
    await server.start()
    try:
        yield port
    finally:
        await server.stop(grace=None)


@pytest.fixture
async def grpc_port(database: Database, wakeups: Wakeups) -> AsyncIterator[int]:
    """Our server, with sessions brought up to their meter values in the same commit
    (session_refresh=0) so that each answer can be checked against the store at once."""
    async with serving(database, wakeups, session_refresh=0) as port:
        yield port


@pytest.fixture
def stub(grpc_channel: grpc.aio.Channel) -> transactions_pb2_grpc.TransactionServiceStub:
    return transactions_pb2_grpc.TransactionServiceStub(grpc_channel)


@pytest.fixture
async def site(location_stub: Any, tariff_stub: Any, cpo_parties: Any) -> None:
    """LOC1 with EVSE1 (one connector) priced by T1."""
    await tariff_stub.UpsertTariff(tariff_request())
    await location_stub.UpsertLocation(location_request())


async def register(database: Database, party: tuple[str, str] = ("DE", "EMP")) -> int:
    roles = [{"role": "EMSP", "country_code": party[0], "party_id": party[1],
              "business_details": {"name": "x"}}]
    async with database.write() as connection:
        # As a registration stores it: the roles and their claim, in one transaction.
        partner_id = await insert_partner(
            connection, status=REGISTERED, versions_url=f"https://{party[1]}.example.com/v",
            endpoints=[], roles=roles)
        await hold_parties(connection, partner_id, roles)
        return partner_id


@pytest.fixture
async def emsp_partner(database: Database) -> int:
    return await register(database)


async def session(database: Database, transaction_id: str = "TX1") -> Session:
    async with database.read() as connection:
        document = await connection.scalar(select(tables.sessions.c.document).where(
            tables.sessions.c.transaction_id == transaction_id))
    assert document is not None
    return codec.decode(document, Session)


async def cdr_documents(database: Database) -> list[CDR]:
    async with database.read() as connection:
        rows = await connection.scalars(select(tables.cdrs.c.document))
        return [codec.decode(bytes(d), CDR) for d in rows]


async def outbox_rows(database: Database) -> list[tuple[Any, ...]]:
    o = tables.outbox
    async with database.read() as connection:
        rows = await connection.execute(
            select(o.c.partner_id, o.c.module, o.c.object_id, o.c.action, o.c.targets)
            .order_by(o.c.id))
        return [tuple(row) for row in rows]


async def snapshot(database: Database) -> list[list[tuple[Any, ...]]]:
    """Everything a rejected request must leave as it was."""
    found = []
    async with database.read() as connection:
        for table in (tables.sessions, tables.meter_values, tables.cdrs,
                      tables.idempotency_keys, tables.outbox):
            key = next(iter(table.primary_key.columns))
            rows = await connection.execute(select(table).order_by(key))
            found.append([tuple(row) for row in rows])
    return found


async def call(stub: Any, method: str, request: Any) -> Any:
    return await getattr(stub, method)(request)


async def run(stub: Any, events: list[tuple[str, Any]]) -> list[Any]:
    return [await call(stub, method, request) for method, request in events]


def dims(period: Any) -> dict[str, Decimal]:
    return {d.type.value: d.volume for d in period.dimensions}


async def expect(code: grpc.StatusCode, details: str, coroutine: Any) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await coroutine
    assert caught.value.code() == code, caught.value.details()
    assert caught.value.details().startswith(details), caught.value.details()


# --- starting ---


@pytest.mark.usefixtures("site")
async def test_start_creates_an_active_session_and_queues_a_put(
    stub: Any, database: Database, emsp_partner: int, wakeups: Wakeups
) -> None:
    woken = wakeups.count
    response = await stub.StartTransaction(start(token=token(
        authorized_by_sidecar=True, authorization_reference="AUTH-1")))

    saved = await session(database)
    assert response.session_id == "TX1"
    assert (saved.country_code, saved.party_id, saved.id) == ("NL", "CPA", "TX1")
    assert saved.status is SessionStatus.ACTIVE and saved.start_date_time == T0
    assert (saved.cdr_token.country_code, saved.cdr_token.party_id, saved.cdr_token.uid,
            saved.cdr_token.contract_id) == ("DE", "EMP", "04A1B2C3", "DE-EMP-C00001")
    assert saved.auth_method is AuthMethod.AUTH_REQUEST
    assert saved.authorization_reference == "AUTH-1"
    assert (saved.location_id, saved.evse_uid, saved.connector_id) == ("LOC1", "EVSE1", "1")
    assert saved.kwh == 0 and saved.currency == "EUR" and saved.charging_periods is None
    assert await outbox_rows(database) == [(emsp_partner, "sessions", "TX1", "PUT", "")]
    assert wakeups.count == woken + 1


@pytest.mark.usefixtures("site")
async def test_a_token_of_no_partner_is_stored_but_queued_for_nobody(
    stub: Any, database: Database, emsp_partner: int, wakeups: Wakeups
) -> None:
    async with database.write() as connection:
        await connection.execute(tables.outbox.delete())
    woken = wakeups.count
    await stub.StartTransaction(start(token=token(party=("FR", "XXX"))))
    await stub.StartTransaction(start("TX2", token=token(uid="OWN1", party=None)))
    assert (await session(database, "TX2")).cdr_token.party_id == "CPA"
    await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[
        meter_event("TX1", "mv1", meter_value(T0 + timedelta(minutes=6), 10500))]))
    ended = await stub.EndTransaction(end(at=T0 + timedelta(minutes=7)))

    assert ended.cdr_id == "" and await cdr_documents(database) == []
    assert (await session(database)).status is SessionStatus.COMPLETED
    assert await outbox_rows(database) == [] and wakeups.count == woken


@pytest.mark.usefixtures("site")
async def test_owner_found_in_the_token_cache(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    async with database.write() as connection:
        await connection.execute(tables.tokens.insert().values(
            partner_id=emsp_partner, country_code="DE", party_id="EMP", uid="cafe01",
            type="RFID", contract_id="DE-EMP-C9", issuer="EMP", valid=True,
            whitelist="ALLOWED", document=b"{}", last_updated=T0))
    await stub.StartTransaction(start(token=pb.TransactionToken(
        uid="CAFE01", type=common.TOKEN_TYPE_RFID)))
    saved = await session(database)
    assert (saved.cdr_token.party_id, saved.cdr_token.contract_id) == ("EMP", "DE-EMP-C9")
    assert saved.auth_method is AuthMethod.WHITELIST
    assert await outbox_rows(database) == [(emsp_partner, "sessions", "TX1", "PUT", "")]


@pytest.mark.usefixtures("site")
async def test_pending_until_an_update_brings_the_token(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    await stub.StartTransaction(start(token=None, meter_start=None, meter_values=[
        meter_value(T0, 5000)]))
    pending = await session(database)
    assert pending.status is SessionStatus.PENDING and await outbox_rows(database) == []

    authorised = T0 + timedelta(seconds=40)
    await stub.UpdateTransaction(update("TX1", "auth", authorised, token=token(),
                                        meter_values=[meter_value(authorised, 5100)]))
    await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[
        meter_event("TX1", "mv", meter_value(authorised + timedelta(minutes=5), 6100))]))

    active = await session(database)
    assert active.status is SessionStatus.ACTIVE and active.start_date_time == authorised
    # Energy before the driver was known is not the driver's.
    assert active.kwh == D("1") and active.charging_periods is not None
    assert dims(active.charging_periods[0])["ENERGY"] == D("1")
    assert await outbox_rows(database) == [(emsp_partner, "sessions", "TX1", "PUT", "")]


# --- meter values, periods, costs ---


@pytest.mark.usefixtures("site")
async def test_meter_values_make_periods_and_patches(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    await stub.StartTransaction(start())
    async with database.write() as connection:
        await connection.execute(tables.outbox.delete())
    for n in range(1, 7):  # 11:01 … 11:06, 1 kWh per minute at 60 kW
        at = T0 + timedelta(minutes=n)
        await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[meter_event(
            "TX1", f"mv{n}", meter_value(at, 10000 + 1000 * n, watts=60000 + 1000 * n,
                                         amps=90, soc=50 + n))]))
        if n == 1:
            first = await outbox_rows(database)

    saved = await session(database)
    assert saved.kwh == D("6")
    assert first == [(emsp_partner, "sessions", "TX1", "PATCH",
                      "kwh;total_cost;last_updated")]
    assert saved.charging_periods is not None and len(saved.charging_periods) == 1
    period = saved.charging_periods[0]
    assert period.start_date_time == T0 and period.tariff_id == "T1"
    assert dims(period) == {
        "ENERGY": D("5"), "TIME": D("0.0833"), "POWER": D("63"), "MIN_POWER": D("61"),
        "MAX_POWER": D("65"), "CURRENT": D("90"), "MIN_CURRENT": D("90"),
        "MAX_CURRENT": D("90"), "STATE_OF_CHARGE": D("55")}
    # Priced when the period closed: 0.50 + 5 kWh × 0.25 + 5 min × 1.20/h = 1.85.
    assert saved.total_cost is not None and saved.total_cost.excl_vat == D("1.85")
    (row,) = await outbox_rows(database)
    assert row[3] == "PATCH" and set(row[4].split(";")) == {
        "kwh", "total_cost", "charging_periods", "last_updated"}


@pytest.mark.usefixtures("site")
async def test_a_late_value_in_a_period_the_partner_may_hold_makes_a_put(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    await stub.StartTransaction(start())
    for n in (2, 6):
        await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[meter_event(
            "TX1", f"mv{n}", meter_value(T0 + timedelta(minutes=n), 10000 + 500 * n))]))
    async with database.write() as connection:
        await connection.execute(tables.outbox.delete())
    before = (await session(database)).charging_periods
    await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[meter_event(
        "TX1", "late", meter_value(T0 + timedelta(minutes=5), 12000))]))

    after = await session(database)
    assert before is not None and after.charging_periods is not None
    assert [p.start_date_time for p in after.charging_periods] == [T0]
    assert dims(after.charging_periods[0])["ENERGY"] == D("2")  # 10 000 → 12 000 at 11:05
    assert await outbox_rows(database) == [(emsp_partner, "sessions", "TX1", "PUT", "")]


@pytest.mark.usefixtures("site")
async def test_the_whole_transaction_ends_in_one_cdr_with_hand_calculated_totals(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    responses = await run(stub, ten_minutes())

    assert responses[-1].cdr_id == "TX1"
    final = await session(database)
    assert final.status is SessionStatus.COMPLETED
    assert final.end_date_time == T0 + timedelta(minutes=10) and final.kwh == D("1.6")
    assert [(p.start_date_time - T0, dims(p).get("ENERGY"), dims(p).get("TIME"),
             dims(p).get("PARKING_TIME")) for p in final.charging_periods or []] == [
        (timedelta(0), D("1"), D("0.0833"), None),  # 5 minutes, to 4 decimals
        (timedelta(minutes=5), D("0.6"), D("0.05"), None),
        (timedelta(minutes=8), D("0"), None, D("0.0333"))]
    (cdr,) = await cdr_documents(database)
    # 0.50 flat + 1.6 kWh × 0.25 + 8 min × 1.20/h + 2 min × 6.00/h; VAT 10 % on each.
    assert (cdr.total_cost.excl_vat, cdr.total_cost.incl_vat) == (D("1.26"), D("1.386"))
    assert (cdr.total_fixed_cost.excl_vat, cdr.total_energy_cost.excl_vat,
            cdr.total_time_cost.excl_vat, cdr.total_parking_cost.excl_vat) == (
        D("0.5"), D("0.4"), D("0.16"), D("0.2"))
    assert cdr.total_energy == D("1.6") and cdr.total_time == D("0.1667")
    assert cdr.total_parking_time == D("0.0333")
    assert [(p.start_date_time - T0, dims(p)) for p in cdr.charging_periods] == [
        (timedelta(0), {"ENERGY": D("1.6"), "TIME": D("0.1333"), "MIN_POWER": D(12),
                        "MAX_POWER": D(12), "MIN_CURRENT": D(18), "MAX_CURRENT": D(18)}),
        (timedelta(minutes=8), {"PARKING_TIME": D("0.0333"), "MIN_POWER": D(0),
                                "MAX_POWER": D(0), "MIN_CURRENT": D(0), "MAX_CURRENT": D(0)})]
    assert cdr.session_id == "TX1" and cdr.id == "TX1" and cdr.tariffs[0].id == "T1"
    assert (cdr.cdr_location.id, cdr.cdr_location.evse_uid, cdr.cdr_location.evse_id,
            cdr.cdr_location.connector_id) == ("LOC1", "EVSE1", "NL*CPA*E1", "1")
    assert cdr.remark == "Stop reason: EVDisconnected"
    assert final.total_cost == cdr.total_cost
    rows = await outbox_rows(database)
    assert (emsp_partner, "cdrs", "TX1", "POST", "") in rows


@pytest.mark.usefixtures("site")
async def test_every_event_twice_in_shuffled_order_gives_the_same_session_and_one_cdr(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    await run(stub, ten_minutes("TXA"))
    events = ten_minutes("TXB")
    middle = events[1:-1] * 2
    random.Random(4).shuffle(middle)
    await run(stub, [events[0], events[0], *middle, events[-1], events[-1]])

    def comparable(value: Any) -> Any:
        data = codec.to_builtins(value)
        for name in ("id", "session_id", "last_updated"):
            data.pop(name, None)
        return data

    assert comparable(await session(database, "TXA")) == comparable(
        await session(database, "TXB"))
    first, second = await cdr_documents(database)
    assert comparable(first) == comparable(second)
    async with database.read() as connection:
        values = await connection.scalar(select(func.count()).select_from(tables.meter_values))
    assert values == 40


@pytest.mark.usefixtures("site")
async def test_replays_answer_again_and_a_reused_key_is_already_exists(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    first = await stub.StartTransaction(start())
    assert await stub.StartTransaction(start()) == first
    await expect(grpc.StatusCode.ALREADY_EXISTS, "idempotency_key: used before",
                 stub.StartTransaction(start(meter_start="1")))
    await expect(grpc.StatusCode.ALREADY_EXISTS, "transaction_id: started before",
                 stub.StartTransaction(start(key="other")))
    report = pb.ReportMeterValuesRequest(events=[meter_event(
        "TX1", "mv", meter_value(T0 + timedelta(minutes=1), 10100))])
    await stub.ReportMeterValues(report)
    state = await snapshot(database)
    assert (await stub.ReportMeterValues(report)).stored_event_count == 1
    assert await snapshot(database) == state
    await expect(grpc.StatusCode.ALREADY_EXISTS, "events[0].idempotency_key: used before",
                 stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[meter_event(
                     "TX1", "mv", meter_value(T0 + timedelta(minutes=1), 10200))])))
    ended = await stub.EndTransaction(end(at=T0 + timedelta(minutes=2)))
    state = await snapshot(database)
    assert await stub.EndTransaction(end(at=T0 + timedelta(minutes=2))) == ended
    assert (await stub.ReportMeterValues(report)).stored_event_count == 1
    assert await snapshot(database) == state and len(await cdr_documents(database)) == 1
    await expect(grpc.StatusCode.FAILED_PRECONDITION, "transaction_id: transaction ended",
                 stub.EndTransaction(end(key="again", at=T0 + timedelta(minutes=3))))
    await expect(grpc.StatusCode.FAILED_PRECONDITION,
                 "events[0].transaction_id: transaction ended",
                 stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[meter_event(
                     "TX1", "mv-late", meter_value(T0 + timedelta(minutes=1), 10200))])))


@pytest.mark.usefixtures("site")
async def test_an_invalid_session_gets_no_cdr(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    await stub.StartTransaction(start())
    ended = await stub.EndTransaction(end(at=T0 + timedelta(minutes=1), invalid=True))
    assert ended.cdr_id == "" and await cdr_documents(database) == []
    assert (await session(database)).status is SessionStatus.INVALID


async def test_a_cdr_for_an_unpublished_location_without_tariff(
    stub: Any, location_stub: Any, database: Database, emsp_partner: int
) -> None:
    await location_stub.UpsertLocation(location_request(tariff_ids=(), publish=False))
    await stub.StartTransaction(start())
    await stub.EndTransaction(end(at=T0 + timedelta(minutes=30), meter_stop="13000"))
    (cdr,) = await cdr_documents(database)
    assert cdr.total_cost.excl_vat == 0 and cdr.tariffs is None and cdr.total_energy == 3
    assert cdr.remark == "Stop reason: EVDisconnected; No tariff applied"
    assert [dims(p) for p in cdr.charging_periods] == [{"ENERGY": D(3), "TIME": D("0.5")}]


# --- streaming ---


async def requests(*messages: pb.StreamMeterValuesRequest
                   ) -> AsyncIterator[pb.StreamMeterValuesRequest]:
    for message in messages:
        yield message


@pytest.mark.usefixtures("site")
async def test_stream_counts_stored_events_and_lists_rejected_ones(
    stub: Any, database: Database
) -> None:
    await stub.StartTransaction(start())
    good = meter_event("TX1", "a", meter_value(T0 + timedelta(seconds=30), 10100))
    await stub.ReportMeterValues(pb.ReportMeterValuesRequest(events=[good]))
    bad_decimal = meter_event("TX1", "b", meter_value(T0 + timedelta(minutes=1), "1e3"))
    unknown = meter_event("NOPE", "c", meter_value(T0 + timedelta(minutes=1), 10200))
    reused = meter_event("TX1", "a", meter_value(T0 + timedelta(minutes=1), 10200))
    fresh = [meter_event("TX1", f"d{n}", meter_value(T0 + timedelta(minutes=n), 10000 + 90 * n))
             for n in range(2, 6)]
    response = await stub.StreamMeterValues(requests(
        pb.StreamMeterValuesRequest(events=[good, bad_decimal]),
        pb.StreamMeterValuesRequest(events=[unknown, *fresh[:2]]),
        pb.StreamMeterValuesRequest(events=[reused, *fresh[2:], fresh[0]])))

    assert response.stored_event_count == 6  # good (replay), 4 fresh, fresh[0] again
    assert [(r.event_index, r.idempotency_key, r.code) for r in response.rejected_events] == [
        (1, "b", pb.REJECTION_CODE_INVALID_ARGUMENT), (2, "c", pb.REJECTION_CODE_NOT_FOUND),
        (5, "a", pb.REJECTION_CODE_ALREADY_EXISTS)]
    assert response.rejected_events[0].error == (
        "meter_values[0].sampled_values[0].value: not a decimal string: '1e3'")
    assert (await session(database)).kwh == D("0.45")


# --- bad input ---


@pytest.mark.usefixtures("site")
async def test_bad_input_names_the_field_and_stores_nothing(
    stub: Any, location_stub: Any, database: Database, emsp_partner: int
) -> None:
    before = await snapshot(database)
    cases: list[tuple[str, Any, grpc.StatusCode, str]] = [
        ("StartTransaction", start(location_id="NOPE"), grpc.StatusCode.NOT_FOUND,
         "location_id: no location 'NOPE'"),
        ("StartTransaction", start(evse_uid="NOPE"), grpc.StatusCode.NOT_FOUND,
         "evse_uid: no EVSE 'NOPE'"),
        ("StartTransaction", start(connector_id="9"), grpc.StatusCode.NOT_FOUND,
         "connector_id: no connector '9'"),
        ("StartTransaction", start(tariff_id="NOPE"), grpc.StatusCode.NOT_FOUND,
         "tariff_id: no tariff 'NOPE'"),
        ("StartTransaction", start(token=pb.TransactionToken(type=common.TOKEN_TYPE_RFID)),
         grpc.StatusCode.INVALID_ARGUMENT, "token.uid: required"),
        ("StartTransaction", start(token=token(type=common.TOKEN_TYPE_UNSPECIFIED)),
         grpc.StatusCode.INVALID_ARGUMENT, "token.type: TOKEN_TYPE_UNSPECIFIED"),
        ("StartTransaction", start(meter_start="12,5"), grpc.StatusCode.INVALID_ARGUMENT,
         "meter_start_wh: not a decimal string"),
        ("StartTransaction", start("T" * 37), grpc.StatusCode.INVALID_ARGUMENT,
         "transaction_id: at most 36 characters"),
        ("StartTransaction", start(key="k" * 256), grpc.StatusCode.INVALID_ARGUMENT,
         "idempotency_key: at most 255 characters"),
        ("StartTransaction", start(token=token(uid="U" * 37)), grpc.StatusCode.INVALID_ARGUMENT,
         "token.uid: at most 36 characters"),
        ("StartTransaction", start(started_at=None), grpc.StatusCode.INVALID_ARGUMENT,
         "started_at: required"),
        ("StartTransaction", start(meter_values=[pb.MeterValue(timestamp=start().started_at)]),
         grpc.StatusCode.INVALID_ARGUMENT, "meter_values[0].sampled_values: required"),
        ("StartTransaction", start(currency="USD"), grpc.StatusCode.INVALID_ARGUMENT,
         "currency: tariff 'T1' is in EUR"),
        ("UpdateTransaction", update("NOPE", "u", T0), grpc.StatusCode.NOT_FOUND,
         "transaction_id: no transaction 'NOPE'"),
        ("EndTransaction", end("NOPE", at=T0), grpc.StatusCode.NOT_FOUND,
         "transaction_id: no transaction 'NOPE'"),
        ("ReportMeterValues", pb.ReportMeterValuesRequest(), grpc.StatusCode.INVALID_ARGUMENT,
         "events: required"),
        ("ReportMeterValues", pb.ReportMeterValuesRequest(events=[
            meter_event("NOPE", "x", meter_value(T0, 1))]), grpc.StatusCode.NOT_FOUND,
         "events[0].transaction_id: no transaction 'NOPE'"),
        ("ReportMeterValues", pb.ReportMeterValuesRequest(events=[
            meter_event("NOPE", "x", meter_value(T0, 1, soc=120))]),
         grpc.StatusCode.INVALID_ARGUMENT,
         "events[0].meter_values[0].sampled_values[1].value: state of charge"),
    ]
    for method, request, code, details in cases:
        await expect(code, details, call(stub, method, request))
    assert await snapshot(database) == before

    await location_stub.RemoveEvse(loc.RemoveEvseRequest(
        idempotency_key="rm", location_id="LOC1", evse_uid="EVSE1"))
    before = await snapshot(database)
    await expect(grpc.StatusCode.FAILED_PRECONDITION, "evse_uid: EVSE 'EVSE1' is REMOVED",
                 stub.StartTransaction(start()))
    assert await snapshot(database) == before


@pytest.mark.usefixtures("site")
async def test_a_report_is_all_or_nothing(stub: Any, database: Database) -> None:
    await stub.StartTransaction(start())
    before = await snapshot(database)
    await expect(grpc.StatusCode.NOT_FOUND, "events[1].transaction_id", stub.ReportMeterValues(
        pb.ReportMeterValuesRequest(events=[
            meter_event("TX1", "ok", meter_value(T0 + timedelta(minutes=1), 10100)),
            meter_event("TX9", "no", meter_value(T0 + timedelta(minutes=1), 10100))])))
    assert await snapshot(database) == before


async def test_a_connector_must_be_named_on_an_evse_with_several(
    stub: Any, location_stub: Any, database: Database
) -> None:
    await location_stub.UpsertLocation(location_request(tariff_ids=(), connectors=2))
    await expect(grpc.StatusCode.INVALID_ARGUMENT, "connector_id: required",
                 stub.StartTransaction(start()))
    await stub.StartTransaction(start(connector_id="2"))
    assert (await session(database)).connector_id == "2"
    await expect(grpc.StatusCode.FAILED_PRECONDITION, "connector_id: the transaction runs on",
                 stub.UpdateTransaction(update("TX1", "u", T0, connector_id="1")))


@pytest.mark.usefixtures("site")
async def test_a_session_takes_in_meter_values_at_most_once_per_refresh_interval(
    database: Database, wakeups: Wakeups, emsp_partner: int
) -> None:
    def stream(*minutes: int) -> AsyncIterator[pb.StreamMeterValuesRequest]:
        return requests(*[pb.StreamMeterValuesRequest(events=[meter_event(
            "TX1", f"mv{n}", meter_value(T0 + timedelta(minutes=n), 10000 + 100 * n))])
            for n in minutes])

    async with serving(database, wakeups, session_refresh=1.0) as port:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            lagging = transactions_pb2_grpc.TransactionServiceStub(channel)
            await lagging.StartTransaction(start())
            await lagging.StreamMeterValues(stream(1))
            assert (await session(database)).kwh == D("0.1")  # quiet until now: at once
            await lagging.StreamMeterValues(stream(2, 3, 4, 5, 6, 7))
            assert (await session(database)).kwh == D("0.1")  # stored, taken in later
            await eventually(lambda: session_kwh(database, D("0.7")), within=5)
    saved = await session(database)
    assert saved.charging_periods is not None and len(saved.charging_periods) == 1
    assert ("sessions", "TX1") in {(row[1], row[2]) for row in await outbox_rows(database)}


async def session_kwh(database: Database, expected: Decimal) -> bool:
    return (await session(database)).kwh == expected


@pytest.mark.usefixtures("site")
async def test_concurrent_replays_store_once(
    stub: Any, database: Database, emsp_partner: int
) -> None:
    answers = await asyncio.gather(*(stub.StartTransaction(start()) for _ in range(5)))
    report = pb.ReportMeterValuesRequest(events=[meter_event(
        "TX1", "mv", meter_value(T0 + timedelta(minutes=1), 10100))])
    counts = await asyncio.gather(*(stub.ReportMeterValues(report) for _ in range(5)))
    assert {a.session_id for a in answers} == {"TX1"}
    assert [c.stored_event_count for c in counts] == [1] * 5
    async with database.read() as connection:
        for table, expected in ((tables.sessions, 1), (tables.meter_values, 1)):
            assert await connection.scalar(select(func.count()).select_from(table)) == expected


@pytest.mark.usefixtures("site")
async def test_ids_in_another_case_name_the_stored_place(stub: Any, database: Database) -> None:
    # Location, EVSE and connector ids are CiStrings: compared case-insensitively, and the
    # session carries them as stored.
    await stub.StartTransaction(start(location_id="loc1", evse_uid="evse1", connector_id="1"))
    saved = await session(database)
    assert (saved.location_id, saved.evse_uid, saved.connector_id) == ("LOC1", "EVSE1", "1")
