"""Reservations end to end: the eMSP reserves, the core (real gRPC) reports, the eMSP sees the
RESERVATION session, its continuation or end, and the reservation CDR."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import ev_driver_pb2 as pb
from ocpi_sidecar.v1 import tariffs_pb2 as tar

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import (
    Core,
    bodies,
    command,
    ev_core,
    results,
    watching,
)
from tests.gateway.transaction_e2e import register, sent_cdrs
from tests.servicers.transaction_builders import T0, end, location_request, start, token, ts

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]

EXAMPLES = Path(__file__).parents[1] / "sidecar" / "ocpi" / "examples"
RESERVER = "012345678"  # the uid of the token in the RESERVE_NOW bodies


def official_tariff(name: str, tariff_id: str = "T1") -> tar.UpsertTariffRequest:
    """An official tariff example as the core would upsert it, for our party NL/CPA."""
    data = json.loads((EXAMPLES / name).read_text())
    elements = []
    for element in data["elements"]:
        components = [tar.PriceComponent(
            type=tar.TariffDimensionType.Value(f"TARIFF_DIMENSION_TYPE_{c['type']}"),
            price=str(c["price"]), vat=str(c.get("vat", "")), step_size=c["step_size"])
            for c in element["price_components"]]
        reservation = (element.get("restrictions") or {}).get("reservation")
        restrictions = tar.TariffRestrictions(reservation=tar.ReservationRestrictionType.Value(
            f"RESERVATION_RESTRICTION_TYPE_{reservation}")) if reservation else None
        elements.append(tar.TariffElement(price_components=components,
                                          restrictions=restrictions))
    return tar.UpsertTariffRequest(idempotency_key=f"tariff-{name}", tariff=tar.Tariff(
        id=tariff_id, party=common.PartyRef(country_code="NL", party_id="CPA"),
        currency=data["currency"], elements=elements))


async def reserved(cpo: Cpo, core: Core, emsp: FakeEmsp, tariff: str | None,
                   **body: Any) -> pb.Command:
    """A site priced with `tariff`, and a RESERVE_NOW the core has received."""
    await register(cpo, emsp)
    if tariff is not None:
        await core.tariffs.UpsertTariff(official_tariff(tariff))
        await core.locations.UpsertLocation(location_request())
    else:
        await core.locations.UpsertLocation(location_request(tariff_ids=()))
    watcher = await watching(cpo, core)
    reply = await command(emsp, cpo, "RESERVE_NOW", {**bodies(emsp)["RESERVE_NOW"], **body})
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await core.ev.AcknowledgeCommand(pb.AcknowledgeCommandRequest(
        command_id=watcher.commands[0].command_id, consumer_id="core-1"))
    await watcher.stop()
    return watcher.commands[0]


async def report(core: Core, key: str, number: int, status: int,
                 at: Any) -> pb.ReportReservationStatusResponse:
    return await core.ev.ReportReservationStatus(pb.ReportReservationStatusRequest(
        idempotency_key=key, ocpp_reservation_id=number, status=status, timestamp=ts(at)))


def session_pushes(emsp: FakeEmsp, session_id: str) -> list[Any]:
    return [r for r in emsp.received if r.path.endswith(f"/sessions/NL/CPA/{session_id}")]


def price(value: dict[str, Any]) -> tuple[Decimal, Decimal]:
    return Decimal(str(value["excl_vat"])), Decimal(str(value["incl_vat"]))


async def test_an_accepted_reservation_is_a_session_that_the_transaction_continues(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp,
                          "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json")
    number = sent.reserve_now.ocpp_reservation_id
    accepted = await report(ev_core, "res:accepted", number, pb.RESERVATION_STATUS_ACCEPTED,
                            T0)
    session_id = accepted.session_id
    assert session_id == sent.command_id
    await eventually(lambda: session_pushes(emsp, session_id))
    (put,) = session_pushes(emsp, session_id)
    assert put.method == "PUT" and put.body["status"] == "RESERVATION"
    assert put.body["cdr_token"]["uid"] == RESERVER and put.body["auth_method"] == "COMMAND"
    assert (put.body["location_id"], put.body["evse_uid"], put.body["connector_id"]) == (
        "LOC1", "EVSE1", "1")
    # The eMSP heard ACCEPTED at the RESERVE_NOW's response_url too.
    await eventually(lambda: results(emsp, "RESERVE_NOW"))
    assert results(emsp, "RESERVE_NOW")[0].body["result"] == "ACCEPTED"

    # The reserving token on the reserved EVSE, 30 minutes later, with the number.
    started = await ev_core.transactions.StartTransaction(start(
        "TX9", at=T0 + timedelta(minutes=30), token=token(RESERVER), reservation_id=number))
    assert started.session_id == session_id
    await eventually(lambda: len(session_pushes(emsp, session_id)) >= 2)
    patch = session_pushes(emsp, session_id)[1]
    assert patch.method == "PATCH" and patch.body["status"] == "ACTIVE"
    assert emsp.objects[f"sessions/NL/CPA/{session_id}"]["status"] == "ACTIVE"

    ended = await ev_core.transactions.EndTransaction(end(
        "TX9", at=T0 + timedelta(minutes=60), meter_stop="20000"))
    assert ended.cdr_id == session_id
    await eventually(lambda: sent_cdrs(emsp))
    (cdr,) = [r.body for r in sent_cdrs(emsp)]
    # tariff_16 by hand. Reservation 11:00-11:30 (RESERVATION elements only): FLAT 2.00
    # (+20 % = 2.40) and TIME 30 min = 6 steps of 300 s at 5.00/h = 2.50 (3.00 incl.), so
    # total_reservation_cost 4.50 / 5.40. Charging 11:30-12:00, 10 kWh: FLAT 0.50 (0.60)
    # and ENERGY 10 x 0.25 = 2.50 (+10 % = 2.75); no TIME component outside reservations.
    # total_cost 4.50 + 0.50 + 2.50 = 7.50; incl. 5.40 + 0.60 + 2.75 = 8.75.
    assert cdr["id"] == cdr["session_id"] == session_id
    assert price(cdr["total_reservation_cost"]) == (Decimal("4.50"), Decimal("5.40"))
    assert price(cdr["total_cost"]) == (Decimal("7.50"), Decimal("8.75"))
    assert Decimal(str(cdr["total_energy"])) == 10
    # mod_cdrs: a CDR with a reservation starts when the reservation did.
    assert cdr["start_date_time"].startswith("2026-03-02T11:00:00")
    first = cdr["charging_periods"][0]
    assert [d["type"] for d in first["dimensions"]] == ["RESERVATION_TIME"]
    assert Decimal(str(first["dimensions"][0]["volume"])) == Decimal("0.5")


async def test_a_transaction_with_the_reserving_token_on_the_evse_continues_without_the_number(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    await eventually(lambda: session_pushes(emsp, sent.command_id))
    # Another driver's transaction there is a session of its own.
    other = await ev_core.transactions.StartTransaction(start("TX1", token=token("OTHER1")))
    assert other.session_id == "TX1"
    mine = await ev_core.transactions.StartTransaction(start("TX2", token=token(RESERVER)))
    assert mine.session_id == sent.command_id


async def test_cancel_reservation_from_the_emsp_completes_it_with_a_reservation_cdr(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, "tariff_15_reservation_5_euro_per_hour.json")
    # Accepted ten minutes ago (the cancellation is now): a reserved time to price.
    await report(ev_core, "res:accepted", sent.reserve_now.ocpp_reservation_id,
                 pb.RESERVATION_STATUS_ACCEPTED, datetime.now(UTC) - timedelta(minutes=10))
    await eventually(lambda: session_pushes(emsp, sent.command_id))
    assert emsp.objects[f"sessions/NL/CPA/{sent.command_id}"]["status"] == "RESERVATION"

    watcher = await watching(cpo, ev_core, "core-2")
    reply = await command(emsp, cpo, "CANCEL_RESERVATION", bodies(emsp)["CANCEL_RESERVATION"])
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    cancel = watcher.commands[0]
    assert cancel.cancel_reservation.ocpp_reservation_id == sent.reserve_now.ocpp_reservation_id
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=cancel.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    await watcher.stop()

    await eventually(lambda: sent_cdrs(emsp))
    await eventually(lambda: emsp.objects[f"sessions/NL/CPA/{sent.command_id}"]["status"]
                     == "COMPLETED")
    (cdr,) = [r.body for r in sent_cdrs(emsp)]
    # tariff_15: only TIME at 5.00/h for the reserved minutes (step 60 s), nothing else.
    assert cdr["session_id"] == sent.command_id and Decimal(str(cdr["total_energy"])) == 0
    assert price(cdr["total_reservation_cost"]) == price(cdr["total_cost"])
    assert price(cdr["total_cost"])[0] > 0
    assert [d["type"] for p in cdr["charging_periods"] for d in p["dimensions"]] == [
        "RESERVATION_TIME"]
    assert cdr["cdr_location"]["evse_uid"] == "EVSE1"


async def test_an_expired_reservation_is_priced_with_reservation_expires(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, "tariff_17_reservation_with_expire_fee.json")
    number = sent.reserve_now.ocpp_reservation_id
    await report(ev_core, "res:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    expired = await report(ev_core, "res:expired", number, pb.RESERVATION_STATUS_EXPIRED,
                           T0 + timedelta(minutes=22))
    assert expired.cdr_id == sent.command_id
    await eventually(lambda: sent_cdrs(emsp))
    (cdr,) = [r.body for r in sent_cdrs(emsp)]
    # tariff_17 by hand, reserved 11:00-11:22 and expired: RESERVATION_EXPIRES elements
    # first (FLAT 4.00, +20 % = 4.80), then RESERVATION ones (TIME 2.00/h, step 600 s: 22
    # min -> 30 min = 1.00, 1.20 incl.). total_reservation_cost = total_cost = 5.00 / 6.00;
    # the charging session's FLAT 0.50 and ENERGY do not apply (there is none).
    assert price(cdr["total_cost"]) == (Decimal("5.00"), Decimal("6.00"))
    assert price(cdr["total_reservation_cost"]) == (Decimal("5.00"), Decimal("6.00"))
    assert Decimal(str(cdr["total_energy"])) == 0 and Decimal(str(cdr["total_time"])) == 0
    assert cdr["start_date_time"].startswith("2026-03-02T11:00:00")
    assert cdr["end_date_time"].startswith("2026-03-02T11:22:00")
    (period,) = cdr["charging_periods"]
    (dimension,) = period["dimensions"]
    assert dimension["type"] == "RESERVATION_TIME"
    assert abs(Decimal(str(dimension["volume"])) - Decimal(22) / 60) < Decimal("0.0001")
    await eventually(lambda: emsp.objects[f"sessions/NL/CPA/{sent.command_id}"]["status"]
                     == "COMPLETED")
    # A replay answers the same; the reservation is over for anything new.
    again = await report(ev_core, "res:expired", number, pb.RESERVATION_STATUS_EXPIRED,
                         T0 + timedelta(minutes=22))
    assert again == expired
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await report(ev_core, "res:cancel", number, pb.RESERVATION_STATUS_CANCELLED, T0)
    assert error.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "ocpp_reservation_id" in (error.value.details() or "")


async def test_a_free_reservation_ends_without_a_cdr(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    number = sent.reserve_now.ocpp_reservation_id
    await report(ev_core, "free:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    expired = await report(ev_core, "free:expired", number, pb.RESERVATION_STATUS_EXPIRED,
                           T0 + timedelta(minutes=15))
    assert expired.cdr_id == "" and expired.session_id == sent.command_id
    await eventually(lambda: emsp.objects.get(f"sessions/NL/CPA/{sent.command_id}", {})
                     .get("status") == "COMPLETED")
    assert not sent_cdrs(emsp)


async def test_a_reservation_the_charge_point_cancelled_reaches_the_emsp(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, "tariff_15_reservation_5_euro_per_hour.json")
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    await eventually(lambda: results(emsp, "RESERVE_NOW"))
    # Reported as a later result of the RESERVE_NOW (was ALREADY_EXISTS).
    answer = await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_CANCELED_RESERVATION))
    assert not answer.after_deadline
    await eventually(lambda: [r for r in results(emsp, "RESERVE_NOW")
                              if r.body["result"] == "CANCELED_RESERVATION"])
    await eventually(lambda: emsp.objects[f"sessions/NL/CPA/{sent.command_id}"]["status"]
                     == "COMPLETED")
    # The same report again changes nothing.
    again = await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=sent.command_id, result=pb.COMMAND_RESULT_TYPE_CANCELED_RESERVATION))
    assert not again.after_deadline


async def test_reservation_reports_name_the_bad_field(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    number = sent.reserve_now.ocpp_reservation_id
    cases = [
        (("", number, pb.RESERVATION_STATUS_ACCEPTED), grpc.StatusCode.INVALID_ARGUMENT,
         "idempotency_key"),
        (("k1", 0, pb.RESERVATION_STATUS_ACCEPTED), grpc.StatusCode.INVALID_ARGUMENT,
         "ocpp_reservation_id"),
        (("k1", number, pb.RESERVATION_STATUS_UNSPECIFIED), grpc.StatusCode.INVALID_ARGUMENT,
         "status"),
        (("k1", number + 1000, pb.RESERVATION_STATUS_EXPIRED), grpc.StatusCode.NOT_FOUND,
         "ocpp_reservation_id"),
        (("k1", number, pb.RESERVATION_STATUS_EXPIRED), grpc.StatusCode.FAILED_PRECONDITION,
         "ocpp_reservation_id"),
    ]
    for (key, reported, status), code, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await report(ev_core, key, reported, status, T0)
        assert error.value.code() == code, (key, reported, status)
        assert (error.value.details() or "").startswith(field), error.value.details()
    await report(ev_core, "k1", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await report(ev_core, "k1", number, pb.RESERVATION_STATUS_EXPIRED, T0)
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS


async def test_an_update_keeps_the_number_and_another_location_gets_a_new_one(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    first = await reserved(cpo, ev_core, emsp, None)
    await ev_core.locations.UpsertLocation(location_request("LOC2", tariff_ids=()))
    numbers = [first.reserve_now.ocpp_reservation_id]
    watcher = await watching(cpo, ev_core, "core-3")
    for location_id, expiry in (("LOC1", "2030-01-02T12:00:00Z"),
                                ("LOC2", "2030-01-01T12:00:00Z")):
        body = {**bodies(emsp)["RESERVE_NOW"], "location_id": location_id,
                "expiry_date": expiry}
        await command(emsp, cpo, "RESERVE_NOW", body)
        count = len(numbers)
        await eventually(lambda count=count: len(watcher.commands) == count)
        numbers.append(watcher.commands[-1].reserve_now.ocpp_reservation_id)
    await watcher.stop()
    assert numbers[0] == numbers[1] != numbers[2]


async def test_a_continued_reservation_is_stopped_by_the_core_transaction_id(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    session_id = sent.command_id
    await report(ev_core, "stop:accepted", sent.reserve_now.ocpp_reservation_id,
                 pb.RESERVATION_STATUS_ACCEPTED, T0)
    # The reservation's session is no transaction of the core's.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await ev_core.transactions.EndTransaction(end(session_id, at=T0 + timedelta(hours=1)))
    assert error.value.code() == grpc.StatusCode.NOT_FOUND
    await ev_core.transactions.StartTransaction(start(
        "TX2", at=T0 + timedelta(minutes=5), token=token(RESERVER)))
    await eventually(lambda: emsp.objects.get(f"sessions/NL/CPA/{session_id}", {})
                     .get("status") == "ACTIVE")
    watcher = await watching(cpo, ev_core, "core-4")
    body = {**bodies(emsp)["STOP_SESSION"], "session_id": session_id}
    assert (await command(emsp, cpo, "STOP_SESSION", body))["data"]["result"] == "ACCEPTED"
    await eventually(lambda: [c for c in watcher.commands if c.HasField("stop_session")])
    (stop,) = [c.stop_session for c in watcher.commands if c.HasField("stop_session")]
    await watcher.stop()
    assert (stop.session_id, stop.transaction_id) == (session_id, "TX2")


async def test_an_expired_reservation_takes_the_time_price_of_reservation_expires(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, "tariff_18_reservation_with_expire_time.json")
    number = sent.reserve_now.ocpp_reservation_id
    await report(ev_core, "t18:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    await report(ev_core, "t18:expired", number, pb.RESERVATION_STATUS_EXPIRED,
                 T0 + timedelta(minutes=22))
    await eventually(lambda: sent_cdrs(emsp))
    (cdr,) = [r.body for r in sent_cdrs(emsp)]
    # tariff_18 by hand: both reservation elements price TIME; expired, so the
    # RESERVATION_EXPIRES one (6.00/h, not RESERVATION's 3.00/h; mod_tariffs note), step
    # 600 s: 22 min -> 30 min = 3.00, +20 % = 3.60. No FLAT.
    assert price(cdr["total_cost"]) == (Decimal("3.00"), Decimal("3.60"))
    assert price(cdr["total_reservation_cost"]) == (Decimal("3.00"), Decimal("3.60"))


async def test_an_accepted_update_changes_the_reservation_session(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    first = await reserved(cpo, ev_core, emsp, None)
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=first.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    key = f"sessions/NL/CPA/{first.command_id}"
    await eventually(lambda: emsp.objects.get(key, {}).get("evse_uid") == "EVSE1")
    watcher = await watching(cpo, ev_core, "core-5")
    body = {k: v for k, v in bodies(emsp)["RESERVE_NOW"].items() if k != "evse_uid"}
    await command(emsp, cpo, "RESERVE_NOW", {**body, "authorization_reference": "AUTH-2"})
    await eventually(lambda: watcher.commands)
    update = watcher.commands[-1]
    await watcher.stop()
    assert update.reserve_now.ocpp_reservation_id == first.reserve_now.ocpp_reservation_id
    await ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
        command_id=update.command_id, result=pb.COMMAND_RESULT_TYPE_ACCEPTED))
    # The same Session, now for any EVSE of the location (OCPI "#NA"), with the new reference.
    await eventually(lambda: emsp.objects[key]["evse_uid"] == "#NA")
    patch = session_pushes(emsp, first.command_id)[-1]
    assert patch.method == "PATCH" and patch.body["authorization_reference"] == "AUTH-2"
    assert emsp.objects[key]["status"] == "RESERVATION"
    assert not session_pushes(emsp, update.command_id)


async def test_a_reservation_id_used_again_after_it_ended_is_a_new_session(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    first = await reserved(cpo, ev_core, emsp, None)
    number = first.reserve_now.ocpp_reservation_id
    await report(ev_core, "again:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    await report(ev_core, "again:expired", number, pb.RESERVATION_STATUS_EXPIRED,
                 T0 + timedelta(minutes=15))
    watcher = await watching(cpo, ev_core, "core-6")
    await command(emsp, cpo, "RESERVE_NOW", bodies(emsp)["RESERVE_NOW"])
    await eventually(lambda: watcher.commands)
    second = watcher.commands[-1]
    await watcher.stop()
    assert second.reserve_now.ocpp_reservation_id == number
    accepted = await report(ev_core, "again:accepted-2", number,
                            pb.RESERVATION_STATUS_ACCEPTED, T0 + timedelta(hours=1))
    assert accepted.session_id == second.command_id != first.command_id
    await eventually(lambda: emsp.objects.get(f"sessions/NL/CPA/{second.command_id}", {})
                     .get("status") == "RESERVATION")
    assert emsp.objects[f"sessions/NL/CPA/{first.command_id}"]["status"] == "COMPLETED"
