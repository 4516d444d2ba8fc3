"""One table per proto enum that stands for an OCPI enum; tests/test_contract.py proves each total.

A proto value maps to the OCPI member whose wire value, upper-cased, is the value's name without
the enum's prefix (`CONNECTOR_TYPE_IEC_60309_2_SINGLE_16` → `IEC_60309_2_single_16`).
`*_UNSPECIFIED` (0) means "not sent" and has no OCPI value.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Any, Generic, TypeVar

from google.protobuf.descriptor import EnumDescriptor
from ocpi_sidecar.v1 import (
    common_pb2,
    ev_driver_pb2,
    locations_pb2,
    smart_charging_pb2,
    tariffs_pb2,
    transactions_pb2,
)

from sidecar.ocpi import enums

E = TypeVar("E", bound=StrEnum)


def _prefix(descriptor: EnumDescriptor) -> str:
    """`ConnectorType` → `CONNECTOR_TYPE_` (buf's value-prefix rule)."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", descriptor.name).upper() + "_"


class EnumTable(Generic[E]):
    """Proto enum numbers ↔ members of one OCPI StrEnum."""

    def __init__(self, proto_enum: Any, ocpi: type[E]) -> None:
        self.descriptor: EnumDescriptor = proto_enum.DESCRIPTOR
        self.ocpi = ocpi
        prefix = _prefix(self.descriptor)
        by_name = {member.value.upper(): member for member in ocpi}
        self.to_ocpi: dict[int, E] = {}
        for value in self.descriptor.values:
            member = by_name.get(value.name.removeprefix(prefix))
            if value.number != 0 and member is not None:
                self.to_ocpi[value.number] = member
        self.to_proto: dict[E, int] = {member: number for number, member in self.to_ocpi.items()}

    @property
    def name(self) -> str:
        """Full name of the proto enum."""
        return self.descriptor.full_name


# Keyed by the proto enum's full name, as the message walkers meet it in field descriptors.
TABLES: dict[str, EnumTable[Any]] = {
    table.name: table
    for table in (
        EnumTable(common_pb2.ImageCategory, enums.ImageCategory),
        EnumTable(common_pb2.TokenType, enums.TokenType),
        EnumTable(common_pb2.EnergySourceCategory, enums.EnergySourceCategory),
        EnumTable(common_pb2.EnvironmentalImpactCategory, enums.EnvironmentalImpactCategory),
        EnumTable(locations_pb2.ParkingType, enums.ParkingType),
        EnumTable(locations_pb2.Facility, enums.Facility),
        EnumTable(locations_pb2.Capability, enums.Capability),
        EnumTable(locations_pb2.ParkingRestriction, enums.ParkingRestriction),
        EnumTable(locations_pb2.ConnectorType, enums.ConnectorType),
        EnumTable(locations_pb2.ConnectorFormat, enums.ConnectorFormat),
        EnumTable(locations_pb2.PowerType, enums.PowerType),
        EnumTable(locations_pb2.EvseStatus, enums.Status),
        EnumTable(tariffs_pb2.TariffType, enums.TariffType),
        EnumTable(tariffs_pb2.TariffDimensionType, enums.TariffDimensionType),
        EnumTable(tariffs_pb2.DayOfWeek, enums.DayOfWeek),
        EnumTable(tariffs_pb2.ReservationRestrictionType, enums.ReservationRestrictionType),
        EnumTable(transactions_pb2.AuthMethod, enums.AuthMethod),
        EnumTable(ev_driver_pb2.WhitelistType, enums.WhitelistType),
        EnumTable(ev_driver_pb2.ProfileType, enums.ProfileType),
        EnumTable(ev_driver_pb2.CommandType, enums.CommandType),
        EnumTable(ev_driver_pb2.CommandResultType, enums.CommandResultType),
        EnumTable(smart_charging_pb2.ChargingRateUnit, enums.ChargingRateUnit),
        EnumTable(smart_charging_pb2.ChargingProfileResultType, enums.ChargingProfileResultType),
    )
}

EVSE_STATUS: EnumTable[enums.Status] = TABLES[locations_pb2.EvseStatus.DESCRIPTOR.full_name]

_16 = locations_pb2.Ocpp16ChargePointStatus
_201 = locations_pb2.Ocpp201ConnectorStatus
_S = enums.Status

# docs/contract.md "Status mapping": from Preparing to Finishing the connector is taken, so
# OCPI shows it as in use (CHARGING); Unavailable is a withdrawal (INOPERATIVE), Faulted a
# defect (OUTOFORDER).
OCPP16_STATUS: dict[int, enums.Status] = {
    _16.OCPP16_CHARGE_POINT_STATUS_AVAILABLE: _S.AVAILABLE,
    _16.OCPP16_CHARGE_POINT_STATUS_PREPARING: _S.CHARGING,
    _16.OCPP16_CHARGE_POINT_STATUS_CHARGING: _S.CHARGING,
    _16.OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EV: _S.CHARGING,
    _16.OCPP16_CHARGE_POINT_STATUS_SUSPENDED_EVSE: _S.CHARGING,
    _16.OCPP16_CHARGE_POINT_STATUS_FINISHING: _S.CHARGING,
    _16.OCPP16_CHARGE_POINT_STATUS_RESERVED: _S.RESERVED,
    _16.OCPP16_CHARGE_POINT_STATUS_UNAVAILABLE: _S.INOPERATIVE,
    _16.OCPP16_CHARGE_POINT_STATUS_FAULTED: _S.OUTOFORDER,
}

OCPP201_STATUS: dict[int, enums.Status] = {
    _201.OCPP201_CONNECTOR_STATUS_AVAILABLE: _S.AVAILABLE,
    _201.OCPP201_CONNECTOR_STATUS_OCCUPIED: _S.CHARGING,
    _201.OCPP201_CONNECTOR_STATUS_RESERVED: _S.RESERVED,
    _201.OCPP201_CONNECTOR_STATUS_UNAVAILABLE: _S.INOPERATIVE,
    _201.OCPP201_CONNECTOR_STATUS_FAULTED: _S.OUTOFORDER,
}
