"""Conversions both OCPP versions share: times, enum names, meter values, schedules, outcomes.

OCPP names enum values in CamelCase or dotted words ("SuspendedEVSE", "Energy.Active.Import.
Register", "L1-N"); the contract names the same values in UPPER_SNAKE with the enum's prefix
(SUSPENDED_EVSE, MEASURAND_ENERGY_ACTIVE_IMPORT_REGISTER, PHASE_L1_N). `enum_value` is the one
translation, so no table here can drift from the proto.
"""

from __future__ import annotations

import re
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, cast

from google.protobuf.internal.enum_type_wrapper import EnumTypeWrapper
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import ev_driver_pb2, smart_charging_pb2, transactions_pb2

_WORD = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")
ENERGY_REGISTER = "Energy.Active.Import.Register"


def now_iso() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def parse_time(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def stamp(value: str | datetime | None) -> Timestamp:
    """A Timestamp of an OCPP time; the time now when the message carried none."""
    result = Timestamp()
    if value is None:
        result.FromDatetime(datetime.now(UTC))
    else:
        result.FromDatetime(parse_time(value) if isinstance(value, str) else value)
    return result


def iso(value: Timestamp) -> str:
    return value.ToDatetime(tzinfo=UTC).isoformat().replace("+00:00", "Z")


def enum_value(enum: EnumTypeWrapper, prefix: str, ocpp_name: str | None) -> Any:
    """The contract's value for an OCPP enum name, 0 (UNSPECIFIED) when it has none. (Any:
    the value of whichever proto enum `enum` is.)"""
    if not ocpp_name:
        return 0
    words = _WORD.sub("_", str(ocpp_name)).replace(".", "_").replace("-", "_").upper()
    try:
        return enum.Value(f"{prefix}_{words}")
    except ValueError:
        return 0


def decimal(value: Any) -> str:
    """A number as the contract's decimal string: no exponent, at most 6 fraction digits."""
    number = Decimal(str(value)).quantize(Decimal("0.000001")).normalize()
    text = f"{number:f}"
    return "0" if text in ("-0", "") else text


def _sampled_value(raw: dict[str, Any]) -> transactions_pb2.SampledValue:
    unit = raw.get("unit")
    multiplier = 0
    if isinstance(raw.get("unit_of_measure"), dict):  # 2.0.1
        unit = raw["unit_of_measure"].get("unit")
        multiplier = int(raw["unit_of_measure"].get("multiplier", 0))
    tx = transactions_pb2
    return tx.SampledValue(
        value=decimal(raw["value"]),
        measurand=enum_value(tx.Measurand, "MEASURAND", raw.get("measurand")),
        phase=enum_value(tx.Phase, "PHASE", raw.get("phase")),
        context=enum_value(tx.ReadingContext, "READING_CONTEXT", raw.get("context")),
        location=enum_value(tx.MeterLocation, "METER_LOCATION", raw.get("location")),
        unit=enum_value(tx.UnitOfMeasure, "UNIT_OF_MEASURE", unit), multiplier=multiplier)


def meter_values(raw: list[dict[str, Any]] | None) -> list[transactions_pb2.MeterValue]:
    """OCPP meterValue / transactionData entries (1.6 or 2.0.1) as the contract's MeterValue.

    OCPP 1.6 readings in format SignedData carry no number: they are left out here (the
    signed copy belongs in EndTransactionRequest.signed_data)."""
    result = []
    for entry in raw or []:
        values = [_sampled_value(v) for v in entry.get("sampled_value", [])
                  if v.get("format") != "SignedData"]
        if values:
            result.append(transactions_pb2.MeterValue(
                timestamp=stamp(entry["timestamp"]), sampled_values=values))
    return result


def energy_register_wh(raw: list[dict[str, Any]] | None, context: str | None = None) -> str:
    """The last Energy.Active.Import.Register reading in Wh, '' when there is none; only
    readings of that `context` (e.g. "Transaction.Begin") when one is given."""
    found = ""
    for entry in raw or []:
        for value in entry.get("sampled_value", []):
            if value.get("measurand", ENERGY_REGISTER) != ENERGY_REGISTER or value.get("phase"):
                continue
            if context is not None and value.get("context", "Sample.Periodic") != context:
                continue
            unit = value.get("unit") or (value.get("unit_of_measure") or {}).get("unit", "Wh")
            multiplier = (value.get("unit_of_measure") or {}).get("multiplier", 0)
            wh = Decimal(str(value["value"])) * (Decimal(10) ** int(multiplier))
            found = decimal(wh * 1000 if unit == "kWh" else wh)
    return found


def profile_id(transaction_id: str) -> int:
    """The OCPP chargingProfile id of a transaction's TxProfile: one profile per transaction,
    so its id is derived from the transaction id (the number itself when it is one, as OCPP
    1.6 transactionIds are; a stable 31-bit hash of any other id, e.g. a 2.0.1 UUID)."""
    if transaction_id.isdigit() and 0 < int(transaction_id) < 2**31:
        return int(transaction_id)
    return zlib.crc32(transaction_id.encode()) & 0x7FFFFFFF or 1


@dataclass(frozen=True)
class CommandOutcome:
    result: ev_driver_pb2.CommandResultType
    transaction_id: str = ""


@dataclass(frozen=True)
class ProfileOutcome:
    result: smart_charging_pb2.ChargingProfileResultType
    active: smart_charging_pb2.ActiveChargingProfile | None = None


def command_result(ocpp_status: str | None, table: dict[str, str]
                   ) -> ev_driver_pb2.CommandResultType:
    """The CommandResultType for an OCPP answer's status, by the guide's table; REJECTED for
    a status the table does not name."""
    name = table.get(str(ocpp_status), "REJECTED")
    return cast(ev_driver_pb2.CommandResultType,
                ev_driver_pb2.CommandResultType.Value(f"COMMAND_RESULT_TYPE_{name}"))


def profile_result(ocpp_status: str | None) -> smart_charging_pb2.ChargingProfileResultType:
    names = {"Accepted": "ACCEPTED", "Unknown": "UNKNOWN"}
    name = names.get(str(ocpp_status), "REJECTED")
    return cast(smart_charging_pb2.ChargingProfileResultType,
                smart_charging_pb2.ChargingProfileResultType.Value(
                    f"CHARGING_PROFILE_RESULT_TYPE_{name}"))


def ocpp_schedule(profile: smart_charging_pb2.ChargingProfile) -> dict[str, Any]:
    """An OCPI charging profile as an OCPP chargingSchedule (both versions' field names)."""
    schedule: dict[str, Any] = {
        "charging_rate_unit": "W" if profile.charging_rate_unit == 1 else "A",
        "charging_schedule_period": [
            {"start_period": p.start_period, "limit": float(p.limit)} for p in profile.periods],
    }
    if profile.HasField("start_date_time"):
        schedule["start_schedule"] = iso(profile.start_date_time)
    if profile.HasField("duration"):
        schedule["duration"] = profile.duration
    if profile.min_charging_rate:
        schedule["min_charging_rate"] = float(profile.min_charging_rate)
    return schedule


def active_profile(schedule: dict[str, Any], start: str | None
                   ) -> smart_charging_pb2.ActiveChargingProfile:
    """An OCPP composite schedule as the contract's ActiveChargingProfile."""
    profile = smart_charging_pb2.ChargingProfile(
        charging_rate_unit=enum_value(smart_charging_pb2.ChargingRateUnit, "CHARGING_RATE_UNIT",
                                      schedule.get("charging_rate_unit")),
        periods=[smart_charging_pb2.ChargingProfilePeriod(
            start_period=int(p["start_period"]), limit=decimal(round(float(p["limit"]), 1)))
            for p in schedule.get("charging_schedule_period", [])])
    if schedule.get("duration") is not None:
        profile.duration = int(schedule["duration"])
    if schedule.get("min_charging_rate") is not None:
        profile.min_charging_rate = decimal(round(float(schedule["min_charging_rate"]), 1))
    return smart_charging_pb2.ActiveChargingProfile(
        start_date_time=stamp(start or schedule.get("start_schedule")), charging_profile=profile)
