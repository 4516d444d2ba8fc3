"""TransactionService requests checked and read into plain inputs; errors name the proto field.

Meter values become `Reading`s (sidecar/domain/charging.py): the Energy.Active.Import.Register
in Wh (unset measurand included), the Energy.Active.Export.Register, Power.Active.Import in W,
Current.Import in A and SoC in %, after unit and multiplier; values per phase (L1, L2, L3,
or L1-N, L2-N, L3-N) are summed when no total is given. Values measured at the charge
point's grid Inlet and other measurands are stored as received but not used.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2
from ocpi_sidecar.v1 import transactions_pb2 as pb

from sidecar.domain.charging import Reading
from sidecar.domain.sessions import (
    EndInput,
    Event,
    MeterEvent,
    MeterInput,
    StartInput,
    UpdateInput,
)
from sidecar.domain.tokens import TokenInput
from sidecar.errors import InvalidField
from sidecar.ocpi.cdrs import SignedData
from sidecar.servicers import mapping
from sidecar.servicers.enum_mapping import TABLES
from sidecar.store.idempotency import KEY_LENGTH, payload_hash

MAX_EVENTS = 500
# Timestamp's range: 0001-01-01T00:00:00Z to 9999-12-31T23:59:59Z.
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_FIRST, _LAST = -62_135_596_800, 253_402_300_799
_ID_LENGTH = 36

_AUTH = TABLES[pb.AuthMethod.DESCRIPTOR.full_name]
_TOKEN_TYPE = TABLES[common_pb2.TokenType.DESCRIPTOR.full_name]


def _known(enum: Any) -> frozenset[int]:
    return frozenset(value.number for value in enum.DESCRIPTOR.values)


_MEASURANDS = _known(pb.Measurand)
_PHASES = _known(pb.Phase)
_CONTEXTS = _known(pb.ReadingContext)
_LOCATIONS = _known(pb.MeterLocation)
_UNITS = _known(pb.UnitOfMeasure)

# Measurand -> what the builder uses it as.
_USED = {
    pb.MEASURAND_UNSPECIFIED: "energy_wh",
    pb.MEASURAND_ENERGY_ACTIVE_IMPORT_REGISTER: "energy_wh",
    pb.MEASURAND_ENERGY_ACTIVE_EXPORT_REGISTER: "export_wh",
    pb.MEASURAND_POWER_ACTIVE_IMPORT: "power_w",
    pb.MEASURAND_CURRENT_IMPORT: "current_a",
    pb.MEASURAND_SOC: "soc",
}
_ONE, _K = Decimal(1), Decimal(1000)
# Per use, the units it accepts and their factor to Wh, W, A or %.
_FACTORS: dict[str, dict[int, Decimal]] = {
    "energy_wh": {pb.UNIT_OF_MEASURE_UNSPECIFIED: _ONE, pb.UNIT_OF_MEASURE_WH: _ONE,
                  pb.UNIT_OF_MEASURE_KWH: _K},
    "power_w": {pb.UNIT_OF_MEASURE_UNSPECIFIED: _ONE, pb.UNIT_OF_MEASURE_W: _ONE,
                pb.UNIT_OF_MEASURE_KW: _K},
    "current_a": {pb.UNIT_OF_MEASURE_UNSPECIFIED: _ONE, pb.UNIT_OF_MEASURE_A: _ONE},
    "soc": {pb.UNIT_OF_MEASURE_UNSPECIFIED: _ONE, pb.UNIT_OF_MEASURE_PERCENT: _ONE},
}
_FACTORS["export_wh"] = _FACTORS["energy_wh"]
# (measurand, unit) -> what it is used as and the factor to Wh, W, A or %.
_USES = {(measurand, unit): (use, factor) for measurand, use in _USED.items()
         for unit, factor in _FACTORS[use].items()}
_INLET = pb.METER_LOCATION_INLET
_WHOLE = pb.PHASE_UNSPECIFIED
_SUMMED_PHASES = frozenset({pb.PHASE_L1, pb.PHASE_L2, pb.PHASE_L3, pb.PHASE_L1_N,
                            pb.PHASE_L2_N, pb.PHASE_L3_N})
_HUNDRED = Decimal(100)
_ZERO = Decimal(0)
# common.proto's decimal grammar (mapping.decimal), inlined on the hot path.
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")

CHARGING_STATES: dict[int, str] = {
    pb.CHARGING_STATE_CHARGING: "CHARGING",
    pb.CHARGING_STATE_EV_CONNECTED: "EV_CONNECTED",
    pb.CHARGING_STATE_SUSPENDED_EV: "SUSPENDED_EV",
    pb.CHARGING_STATE_SUSPENDED_EVSE: "SUSPENDED_EVSE",
    pb.CHARGING_STATE_IDLE: "IDLE",
}

# StopReason -> the OCPP text (1.6 Reason / 2.0.1 ReasonEnumType), for the CDR remark.
STOP_REASONS = {
    pb.STOP_REASON_DE_AUTHORIZED: "DeAuthorized", pb.STOP_REASON_EMERGENCY_STOP: "EmergencyStop",
    pb.STOP_REASON_ENERGY_LIMIT_REACHED: "EnergyLimitReached",
    pb.STOP_REASON_EV_DISCONNECTED: "EVDisconnected", pb.STOP_REASON_GROUND_FAULT: "GroundFault",
    pb.STOP_REASON_HARD_RESET: "HardReset", pb.STOP_REASON_IMMEDIATE_RESET: "ImmediateReset",
    pb.STOP_REASON_LOCAL: "Local", pb.STOP_REASON_LOCAL_OUT_OF_CREDIT: "LocalOutOfCredit",
    pb.STOP_REASON_MASTER_PASS: "MasterPass", pb.STOP_REASON_OTHER: "Other",
    pb.STOP_REASON_OVERCURRENT_FAULT: "OvercurrentFault", pb.STOP_REASON_POWER_LOSS: "PowerLoss",
    pb.STOP_REASON_POWER_QUALITY: "PowerQuality", pb.STOP_REASON_REBOOT: "Reboot",
    pb.STOP_REASON_REMOTE: "Remote", pb.STOP_REASON_SOC_LIMIT_REACHED: "SOCLimitReached",
    pb.STOP_REASON_SOFT_RESET: "SoftReset", pb.STOP_REASON_STOPPED_BY_EV: "StoppedByEV",
    pb.STOP_REASON_TIME_LIMIT_REACHED: "TimeLimitReached", pb.STOP_REASON_TIMEOUT: "Timeout",
    pb.STOP_REASON_UNLOCK_COMMAND: "UnlockCommand",
}


def ascii_id(value: str, path: str, *, required: bool = True, length: int = _ID_LENGTH) -> str:
    """An identifier: printable ASCII, at most `length` characters."""
    if not value:
        if required:
            raise InvalidField(path, "required")
        return value
    if len(value) > length:
        raise InvalidField(path, f"at most {length} characters")
    if not value.isascii() or not value.isprintable():
        raise InvalidField(path, "printable ASCII only")
    return value


def _event(request: Any, method: str, prefix: str = "") -> Event:
    key = ascii_id(request.idempotency_key, prefix + "idempotency_key", length=KEY_LENGTH)
    transaction_id = ascii_id(request.transaction_id, prefix + "transaction_id")
    digest = payload_hash(method, request.SerializeToString(deterministic=True))
    return Event(key, digest, transaction_id)


def _seconds(value: Timestamp, path: str) -> datetime:
    """A Timestamp in whole seconds (OCPI DateTime); faster than Timestamp.ToDatetime."""
    seconds = value.seconds
    if not _FIRST <= seconds <= _LAST or not 0 <= value.nanos < 1_000_000_000:
        raise InvalidField(path, "invalid timestamp")
    return _EPOCH + timedelta(seconds=seconds)


def _required_time(message: Message, name: str, path: str) -> datetime:
    if not message.HasField(name):
        raise InvalidField(path, "required")
    return _seconds(getattr(message, name), path)


def _optional_decimal(text: str, path: str) -> Decimal | None:
    return mapping.decimal(text, path) if text else None


def _bad_sampled(sampled: pb.SampledValue, here: str) -> InvalidField:
    """The error of a sampled value that failed the quick checks."""
    if not sampled.value:
        return InvalidField(f"{here}.value", "required")
    if not _DECIMAL.fullmatch(sampled.value):
        return InvalidField(f"{here}.value", f"not a decimal string: {sampled.value[:40]!r}")
    for name, known in (("measurand", _MEASURANDS), ("phase", _PHASES),
                        ("context", _CONTEXTS), ("location", _LOCATIONS), ("unit", _UNITS)):
        value = getattr(sampled, name)
        if value not in known:
            return InvalidField(f"{here}.{name}", f"unknown enum value {value}")
    return InvalidField(f"{here}.multiplier", "must be between -9 and 9")


def reading(meter_value: pb.MeterValue, path: str) -> Reading:
    """One MeterValue as the builder uses it (the hot path: fields are read once each)."""
    if not meter_value.HasField("timestamp"):
        raise InvalidField(f"{path}.timestamp", "required")
    at = _seconds(meter_value.timestamp, f"{path}.timestamp")
    sampled_values = meter_value.sampled_values
    if not sampled_values:
        raise InvalidField(f"{path}.sampled_values", "required")
    whole: dict[str, Decimal] = {}
    phased: dict[str, Decimal] = {}
    match, uses = _DECIMAL.fullmatch, _USES
    for j, sampled in enumerate(sampled_values):
        text, measurand, phase = sampled.value, sampled.measurand, sampled.phase
        unit, location, multiplier = sampled.unit, sampled.location, sampled.multiplier
        if not (text and match(text) and measurand in _MEASURANDS and phase in _PHASES
                and sampled.context in _CONTEXTS and location in _LOCATIONS and unit in _UNITS
                and -9 <= multiplier <= 9):
            raise _bad_sampled(sampled, f"{path}.sampled_values[{j}]")
        found = uses.get((measurand, unit))
        if found is None or location == _INLET:
            continue  # stored as received, not used
        use, factor = found
        value = Decimal(text)
        if multiplier:
            value = value.scaleb(multiplier)
        if factor is not _ONE:
            value *= factor
        if use == "soc" and not 0 <= value <= _HUNDRED:
            raise InvalidField(f"{path}.sampled_values[{j}].value",
                               "state of charge must be between 0 and 100")
        if phase == _WHOLE:
            whole[use] = value
        elif phase in _SUMMED_PHASES:
            phased[use] = phased.get(use, _ZERO) + value
    if phased:
        phased.update(whole)
        return Reading(at, **phased)
    return Reading(at, **whole)


def meter_input(values: Any, path: str) -> MeterInput:
    return MeterInput([(reading(value, f"{path}[{i}]"), value.SerializeToString())
                       for i, value in enumerate(values)])


def _charging_state(value: int, path: str) -> str | None:
    if value == pb.CHARGING_STATE_UNSPECIFIED:
        return None
    state = CHARGING_STATES.get(value)
    if state is None:
        raise InvalidField(path, f"unknown enum value {value}")
    return state


def _token(request: Any, path: str = "token") -> TokenInput | None:
    if not request.HasField("token"):
        return None
    token = request.token
    type_ = _TOKEN_TYPE.to_ocpi.get(token.type)
    uid = ascii_id(token.uid, f"{path}.uid")
    if type_ is None:
        raise InvalidField(f"{path}.type", "TOKEN_TYPE_UNSPECIFIED is not allowed"
                           if token.type == 0 else f"unknown enum value {token.type}")
    party = None
    if token.HasField("party"):
        country_code = ascii_id(token.party.country_code, f"{path}.party.country_code", length=2)
        party_id = ascii_id(token.party.party_id, f"{path}.party.party_id", length=3)
        if len(country_code) != 2 or len(party_id) != 3:
            raise InvalidField(f"{path}.party", "country_code has 2 characters, party_id 3")
        party = (country_code.upper(), party_id.upper())
    return TokenInput(
        uid=uid, type=type_,
        contract_id=ascii_id(token.contract_id, f"{path}.contract_id", required=False) or None,
        party=party, authorized_by_sidecar=token.authorized_by_sidecar,
        authorization_reference=ascii_id(token.authorization_reference,
                                         f"{path}.authorization_reference",
                                         required=False) or None)


def start_input(request: pb.StartTransactionRequest) -> StartInput:
    """A checked StartTransaction."""
    auth_method = None
    if request.auth_method:
        auth_method = _AUTH.to_ocpi.get(request.auth_method)
        if auth_method is None:
            raise InvalidField("auth_method", f"unknown enum value {request.auth_method}")
    currency = request.currency or None
    if currency is not None and not (len(currency) == 3 and currency.isascii()
                                     and currency.isupper()):
        raise InvalidField("currency", "an ISO 4217 code such as EUR")
    if len(request.meter_id) > 255:
        raise InvalidField("meter_id", "at most 255 characters")
    return StartInput(
        event=_event(request, "StartTransaction"),
        location_id=ascii_id(request.location_id, "location_id"),
        evse_uid=ascii_id(request.evse_uid, "evse_uid"),
        connector_id=ascii_id(request.connector_id, "connector_id", required=False) or None,
        started_at=_required_time(request, "started_at", "started_at"),
        token=_token(request), auth_method=auth_method,
        meter_start_wh=_optional_decimal(request.meter_start_wh, "meter_start_wh"),
        meter=meter_input(request.meter_values, "meter_values"),
        charging_state=_charging_state(request.charging_state, "charging_state"),
        reservation_id=request.reservation_id if request.HasField("reservation_id") else None,
        start_command_id=_start_command_id(request),
        tariff_id=ascii_id(request.tariff_id, "tariff_id", required=False) or None,
        currency=currency, meter_id=request.meter_id or None)


def _start_command_id(
        request: pb.StartTransactionRequest | pb.UpdateTransactionRequest) -> str | None:
    """The START_SESSION command the transaction belongs to (None: not given)."""
    return ascii_id(request.start_command_id, "start_command_id", required=False,
                    length=KEY_LENGTH) or None


def update_input(request: pb.UpdateTransactionRequest) -> UpdateInput:
    """A checked UpdateTransaction."""
    return UpdateInput(
        event=_event(request, "UpdateTransaction"),
        at=_required_time(request, "timestamp", "timestamp"), token=_token(request),
        charging_state=_charging_state(request.charging_state, "charging_state"),
        connector_id=ascii_id(request.connector_id, "connector_id", required=False) or None,
        meter=meter_input(request.meter_values, "meter_values"),
        start_command_id=_start_command_id(request),
        reservation_id=request.reservation_id if request.HasField("reservation_id") else None)


def end_input(request: pb.EndTransactionRequest) -> EndInput:
    """A checked EndTransaction."""
    stop_reason = None
    if request.stop_reason:
        stop_reason = STOP_REASONS.get(request.stop_reason)
        if stop_reason is None:
            raise InvalidField("stop_reason", f"unknown enum value {request.stop_reason}")
    signed = None
    if request.HasField("signed_data"):
        signed = mapping.to_model(request.signed_data, SignedData, "signed_data")
    return EndInput(
        event=_event(request, "EndTransaction"),
        ended_at=_required_time(request, "ended_at", "ended_at"),
        meter_stop_wh=_optional_decimal(request.meter_stop_wh, "meter_stop_wh"),
        stop_reason=stop_reason, meter=meter_input(request.meter_values, "meter_values"),
        signed_data=signed, invalid=request.invalid)


def meter_event(event: pb.MeterValuesEvent, path: str) -> MeterEvent:
    """One checked meter-values event; `path` is "" in a stream, "events[i]" in a report."""
    prefix = f"{path}." if path else ""
    if not event.meter_values:
        raise InvalidField(f"{prefix}meter_values", "required")
    return MeterEvent(_event(event, "MeterValues", prefix),
                      meter_input(event.meter_values, f"{prefix}meter_values"), path)
