"""Proto messages ↔ OCPI objects, walked by descriptor: field names are OCPI's, with few exceptions.

Input: a message becomes OCPI builtins (an unsent field is left out, so the OCPI model reports
it as required), enums go through the tables of `enum_mapping`, decimal strings are checked
and parsed, then `codec.convert` validates the OCPI object. Every error names the field by
its proto path (`location.evses[1].uid`), also those the OCPI model finds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, TypeVar

import msgspec
from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2

from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.types import now
from sidecar.servicers.enum_mapping import TABLES
from sidecar.store.partners import PartnerRole

T = TypeVar("T")
# A field descriptor: protobuf's pure-Python or upb class (typed apart in the stubs).
Field = Any
M = TypeVar("M", bound=Message)

_PKG = "ocpi_sidecar.v1."
_PARTY = _PKG + "PartyRef"
_TIMESTAMP = "google.protobuf.Timestamp"

# Proto fields whose OCPI name differs (proto names repeated fields in the plural).
RENAMES: dict[str, str] = {
    _PKG + "Evse.status_schedules": "status_schedule",
    _PKG + "EnergyMix.environ_impacts": "environ_impact",
    _PKG + "Tariff.tariff_alt_texts": "tariff_alt_text",
    _PKG + "TariffRestrictions.days_of_week": "day_of_week",
}
_PROTO_NAMES = {ocpi: full.rsplit(".", 1)[1] for full, ocpi in RENAMES.items()}

# Proto fields that OCPI has no place for: never published.
PROTO_ONLY = frozenset({
    _PKG + "Evse.ocpp_charge_point_id",
    _PKG + "Evse.ocpp_evse_id",
    _PKG + "Connector.ocpp_connector_id",
})

# Output only: the store stamps them, whatever the input says.
OUTPUT_ONLY = frozenset({
    _PKG + "Location.last_updated",
    _PKG + "Evse.last_updated",
    _PKG + "Connector.last_updated",
    _PKG + "Tariff.last_updated",
})

# Decimal strings (common.proto): money, energy, power, percentages.
DECIMALS = frozenset({
    _PKG + "Price.excl_vat",
    _PKG + "Price.incl_vat",
    _PKG + "EnergySource.percentage",
    _PKG + "EnvironmentalImpact.amount",
    _PKG + "PriceComponent.price",
    _PKG + "PriceComponent.vat",
    *(_PKG + f"TariffRestrictions.{limit}_{unit}"
      for limit in ("min", "max") for unit in ("kwh", "current", "power")),
})
_DECIMAL = re.compile(r"-?[0-9]{1,15}(\.[0-9]{1,6})?")

# Integers with a lower bound the OCPI model does not check ("Required, > 0" in the proto).
MINIMUMS: dict[str, int] = {
    _PKG + "Connector.max_voltage": 1,
    _PKG + "Connector.max_amperage": 1,
    _PKG + "Connector.max_electric_power": 1,
    _PKG + "PriceComponent.step_size": 1,
    _PKG + "TariffRestrictions.min_duration": 0,
    _PKG + "TariffRestrictions.max_duration": 0,
}


def join(path: str, name: str) -> str:
    """`location` + `evses` → `location.evses`."""
    return f"{path}.{name}" if path else name


def require(value: str, path: str) -> str:
    """A required string field; INVALID_ARGUMENT `<path>: required` when empty."""
    if not value:
        raise InvalidField(path, "required")
    return value


def timestamp(value: Timestamp, path: str) -> datetime:
    """A proto Timestamp as an aware UTC datetime; INVALID_ARGUMENT when out of range."""
    try:
        return value.ToDatetime(tzinfo=UTC)
    except (ValueError, OverflowError):
        raise InvalidField(path, "invalid timestamp") from None


def decimal(text: str, path: str) -> Decimal:
    """A decimal string as a Decimal: common.proto's grammar admits finite plain numbers only
    (no exponent, NaN, Infinity, "+", spaces or separators), so no float ever gets in."""
    if not _DECIMAL.fullmatch(text):
        raise InvalidField(path, f"not a decimal string: {text[:40]!r}")
    return Decimal(text)


def _scalar(field: Field, value: Any, path: str) -> Any:
    full = field.full_name
    if field.type == FieldDescriptor.TYPE_ENUM:
        member = TABLES[field.enum_type.full_name].to_ocpi.get(value)
        if member is None:
            unspecified = field.enum_type.values_by_number[0].name
            raise InvalidField(path, f"{unspecified} is not allowed" if value == 0
                               else f"unknown enum value {value}")
        return member.value
    if full in DECIMALS:
        return decimal(value, path)
    if full in MINIMUMS and value < MINIMUMS[full]:
        raise InvalidField(path, f"must be at least {MINIMUMS[full]}")
    return value


def _value(field: Field, value: Any, path: str) -> Any:
    if field.message_type is None:
        return _scalar(field, value, path)
    if field.message_type.full_name == _TIMESTAMP:
        # OCPI DateTime is string(25): whole seconds, as the store stamps them.
        return timestamp(value, path).replace(microsecond=0)
    return to_builtins(value, path)


def _is_sent(message: Message, field: Field, value: Any) -> bool:
    if field.is_repeated:
        return bool(value)
    if field.has_presence:
        return message.HasField(field.name)
    # proto3 cannot tell an unsent scalar from its zero; zero means "not sent", except for
    # plain bools, where false is a real answer (Hours.twentyfourseven, is_green_energy).
    return bool(value) or field.type == FieldDescriptor.TYPE_BOOL


def to_builtins(message: Message, path: str) -> dict[str, Any]:
    """The OCPI JSON object (as builtins) a message stands for; `path` is its proto path."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        full, value = field.full_name, getattr(message, field.name)
        here = join(path, field.name)
        if full in PROTO_ONLY:
            continue
        if full in OUTPUT_ONLY:
            out[field.name] = now()
        elif field.message_type is not None and field.message_type.full_name == _PARTY:
            out.update({name: text for name, text in
                        (("country_code", value.country_code), ("party_id", value.party_id))
                        if text})
        elif _is_sent(message, field, value):
            name = RENAMES.get(full, field.name)
            if field.is_repeated:
                out[name] = [_value(field, item, f"{here}[{i}]") for i, item in enumerate(value)]
            else:
                out[name] = _value(field, value, here)
    return out


def proto_path(prefix: str, ocpi_path: str) -> str:
    """The proto path of a field the OCPI model named (`status_schedule[0]` → `…schedules[0]`)."""
    if ocpi_path == "body":
        return prefix
    parts = []
    for segment in ocpi_path.split("."):
        name, bracket, rest = segment.partition("[")
        if name in ("country_code", "party_id"):
            name = f"party.{name}"
        parts.append(_PROTO_NAMES.get(name, name) + bracket + rest)
    return join(prefix, ".".join(parts))


def convert(data: dict[str, Any], type_: type[T], prefix: str) -> T:
    """Validate builtins into an OCPI object; errors name the proto path under `prefix`."""
    try:
        return codec.convert(data, type_)
    except InvalidField as error:
        raise InvalidField(proto_path(prefix, error.path), error.reason) from None


def to_model(message: Message, type_: type[T], prefix: str) -> T:
    """Validate a proto message as the OCPI object `type_`."""
    return convert(to_builtins(message, prefix), type_, prefix)


def _proto_scalar(field: Field, value: Any) -> Any:
    if field.type == FieldDescriptor.TYPE_ENUM:
        table = TABLES[field.enum_type.full_name]
        return table.to_proto[table.ocpi(value)]
    if isinstance(value, Decimal):
        return format(value, "f")
    return value


def _fill_message(target: Message, value: Any) -> None:
    if isinstance(target, Timestamp):
        target.FromDatetime(value)
    else:
        target.SetInParent()
        fill(target, value)


def fill(message: M, data: Mapping[str, Any]) -> M:
    """Set `message` from OCPI builtins (datetimes and Decimals kept as objects); returns it."""
    for field in message.DESCRIPTOR.fields:
        if field.message_type is not None and field.message_type.full_name == _PARTY:
            party = getattr(message, field.name)
            party.country_code, party.party_id = data["country_code"], data["party_id"]
            continue
        value = data.get(RENAMES.get(field.full_name, field.name))
        if value is None or field.full_name in PROTO_ONLY:
            continue
        if field.is_repeated:
            container = getattr(message, field.name)
            for item in value:
                if field.message_type is not None:
                    _fill_message(container.add(), item)
                else:
                    container.append(_proto_scalar(field, item))
        elif field.message_type is not None:
            _fill_message(getattr(message, field.name), value)
        else:
            setattr(message, field.name, _proto_scalar(field, value))
    return message


def from_model(value: Any, message: M) -> M:
    """Set `message` from an OCPI object; returns it."""
    return fill(message, msgspec.to_builtins(value, builtin_types=(datetime, Decimal)))


def party_ref(role: PartnerRole | None) -> common_pb2.PartyRef:
    """The proto PartyRef of a partner's party (empty when there is none)."""
    if role is None:
        return common_pb2.PartyRef()
    return common_pb2.PartyRef(country_code=role.country_code, party_id=role.party_id)
