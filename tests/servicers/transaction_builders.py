"""Requests of the core for the transaction tests: a location, a tariff, transaction events."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2 as common
from ocpi_sidecar.v1 import locations_pb2 as loc
from ocpi_sidecar.v1 import tariffs_pb2 as tar
from ocpi_sidecar.v1 import transactions_pb2 as pb

# A Monday, 12:00 in Amsterdam is 11:00 UTC in March (CET).
T0 = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
EMSP_PARTY = ("DE", "EMP")


def ts(at: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(at)
    return stamp


def location_request(location_id: str = "LOC1", *, tariff_ids: tuple[str, ...] = ("T1",),
                     publish: bool = True, connectors: int = 1,
                     capabilities: tuple[int, ...] = ()) -> loc.UpsertLocationRequest:
    plugs = [loc.Connector(id=str(n + 1), standard=loc.CONNECTOR_TYPE_IEC_62196_T2,
                           format=loc.CONNECTOR_FORMAT_SOCKET,
                           power_type=loc.POWER_TYPE_AC_3_PHASE, max_voltage=230,
                           max_amperage=32, tariff_ids=list(tariff_ids))
             for n in range(connectors)]
    evse = loc.Evse(uid="EVSE1", evse_id="NL*CPA*E1", connectors=plugs,
                    capabilities=list(capabilities))
    return loc.UpsertLocationRequest(idempotency_key=f"loc-{location_id}", location=loc.Location(
        id=location_id, party=common.PartyRef(country_code="NL", party_id="CPA"),
        publish=publish, name="Oudegracht", address="Oudegracht 1", city="Utrecht",
        postal_code="3511AA", country="NLD",
        coordinates=common.GeoLocation(latitude="52.09074", longitude="5.12142"),
        time_zone="Europe/Amsterdam", evses=[evse]))


def tariff_request(tariff_id: str = "T1") -> tar.UpsertTariffRequest:
    """0.50 start, 0.25/kWh, 1.20/h charging, 6.00/h parking, all + 10 % VAT."""
    def component(kind: int, price: str) -> tar.PriceComponent:
        return tar.PriceComponent(type=kind, price=price, vat="10", step_size=1)

    element = tar.TariffElement(price_components=[
        component(tar.TARIFF_DIMENSION_TYPE_FLAT, "0.50"),
        component(tar.TARIFF_DIMENSION_TYPE_ENERGY, "0.25"),
        component(tar.TARIFF_DIMENSION_TYPE_TIME, "1.20"),
        component(tar.TARIFF_DIMENSION_TYPE_PARKING_TIME, "6.00")])
    return tar.UpsertTariffRequest(idempotency_key=f"tariff-{tariff_id}", tariff=tar.Tariff(
        id=tariff_id, party=common.PartyRef(country_code="NL", party_id="CPA"), currency="EUR",
        elements=[element]))


def token(uid: str = "04A1B2C3", party: tuple[str, str] | None = EMSP_PARTY,
          **fields: Any) -> pb.TransactionToken:
    values: dict[str, Any] = {"uid": uid, "type": common.TOKEN_TYPE_RFID,
                              "contract_id": "DE-EMP-C00001", **fields}
    if party is not None:
        values["party"] = common.PartyRef(country_code=party[0], party_id=party[1])
    return pb.TransactionToken(**values)


def meter_value(at: datetime, wh: int | str | None = None, *, watts: int | None = None,
                amps: int | None = None, soc: int | None = None) -> pb.MeterValue:
    """A reading: register in Wh, power in W, current split over three phases, SoC in %."""
    values = []
    if wh is not None:
        values.append(pb.SampledValue(value=str(wh), unit=pb.UNIT_OF_MEASURE_WH,
                                      measurand=pb.MEASURAND_ENERGY_ACTIVE_IMPORT_REGISTER))
    if watts is not None:
        values.append(pb.SampledValue(value=str(watts / 1000), unit=pb.UNIT_OF_MEASURE_KW,
                                      measurand=pb.MEASURAND_POWER_ACTIVE_IMPORT))
    if amps is not None:
        values += [pb.SampledValue(value=str(amps / 3), measurand=pb.MEASURAND_CURRENT_IMPORT,
                                   phase=phase)
                   for phase in (pb.PHASE_L1, pb.PHASE_L2, pb.PHASE_L3)]
    if soc is not None:
        values.append(pb.SampledValue(value=str(soc), measurand=pb.MEASURAND_SOC,
                                      location=pb.METER_LOCATION_EV,
                                      unit=pb.UNIT_OF_MEASURE_PERCENT))
    return pb.MeterValue(timestamp=ts(at), sampled_values=values)


def start(transaction_id: str = "TX1", key: str | None = None, *, at: datetime = T0,
          meter_start: str = "10000", **fields: Any) -> pb.StartTransactionRequest:
    values: dict[str, Any] = {
        "idempotency_key": key or f"{transaction_id}:start", "transaction_id": transaction_id,
        "location_id": "LOC1", "evse_uid": "EVSE1", "started_at": ts(at),
        "token": token(), "meter_start_wh": meter_start,
        "charging_state": pb.CHARGING_STATE_CHARGING, **fields}
    return pb.StartTransactionRequest(**{k: v for k, v in values.items() if v is not None})


def meter_event(transaction_id: str, key: str, *values: pb.MeterValue) -> pb.MeterValuesEvent:
    return pb.MeterValuesEvent(idempotency_key=key, transaction_id=transaction_id,
                               meter_values=values)


def update(transaction_id: str, key: str, at: datetime, **fields: Any
           ) -> pb.UpdateTransactionRequest:
    return pb.UpdateTransactionRequest(idempotency_key=key, transaction_id=transaction_id,
                                       timestamp=ts(at), **fields)


def end(transaction_id: str = "TX1", key: str | None = None, *, at: datetime,
        meter_stop: str | None = None, **fields: Any) -> pb.EndTransactionRequest:
    values: dict[str, Any] = {"idempotency_key": key or f"{transaction_id}:end",
                              "transaction_id": transaction_id, "ended_at": ts(at),
                              "stop_reason": pb.STOP_REASON_EV_DISCONNECTED, **fields}
    if meter_stop is not None:
        values["meter_stop_wh"] = meter_stop
    return pb.EndTransactionRequest(**values)


def ten_minutes(transaction_id: str = "TX1") -> list[Any]:
    """The session the hand calculations are about, as (method name, request) pairs.

    11:00:00 start at 10 000 Wh, charging; a reading every 30 s adds 100 Wh (12 kW, 17.4 A
    over three phases, SoC from 40 %), 20 readings to 11:10:00; at 11:08:00 the vehicle
    stops taking power (SUSPENDED_EV, so the last 2 minutes are parking, no energy after
    11:08); the transaction ends at 11:10:00 at 11 600 Wh. Periods (5 minutes at most):
    11:00–11:05 charging 1.0 kWh, 11:05–11:08 charging 0.6 kWh, 11:08–11:10 parking 0 kWh.
    """
    events: list[Any] = [("StartTransaction", start(transaction_id))]
    for n in range(1, 21):
        at = T0 + timedelta(seconds=30 * n)
        wh = 10000 + 100 * min(n, 16)
        charging = n <= 16
        value = meter_value(at, wh, watts=12000 if charging else 0, amps=18 if charging else 0,
                            soc=40 + min(n, 16))
        events.append(("ReportMeterValues", pb.ReportMeterValuesRequest(events=[
            meter_event(transaction_id, f"{transaction_id}:mv{n}", value)])))
    events.insert(17, ("UpdateTransaction", update(
        transaction_id, f"{transaction_id}:suspended", T0 + timedelta(minutes=8),
        charging_state=pb.CHARGING_STATE_SUSPENDED_EV)))
    events.append(("EndTransaction", end(transaction_id, at=T0 + timedelta(minutes=10),
                                         meter_stop="11600")))
    return events
