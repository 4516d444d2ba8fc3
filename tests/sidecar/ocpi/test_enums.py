"""Every OCPI enum has exactly the spec's values, in the spec's order, each named as its value."""

from __future__ import annotations

from enum import StrEnum

import pytest

from sidecar.ocpi import enums

# Copied from the enum tables of the OCPI 2.2.1 AsciiDoc (release-2.2.1-bugfixes).
SPEC: dict[str, list[str]] = {
    "Role": ["CPO", "EMSP", "HUB", "NAP", "NSP", "OTHER", "SCSP"],
    "InterfaceRole": ["SENDER", "RECEIVER"],
    "ImageCategory": ["CHARGER", "ENTRANCE", "LOCATION", "NETWORK", "OPERATOR", "OTHER", "OWNER"],
    "Status": [
        "AVAILABLE", "BLOCKED", "CHARGING", "INOPERATIVE", "OUTOFORDER", "PLANNED", "REMOVED",
        "RESERVED", "UNKNOWN",
    ],
    "Capability": [
        "CHARGING_PROFILE_CAPABLE", "CHARGING_PREFERENCES_CAPABLE", "CHIP_CARD_SUPPORT",
        "CONTACTLESS_CARD_SUPPORT", "CREDIT_CARD_PAYABLE", "DEBIT_CARD_PAYABLE", "PED_TERMINAL",
        "REMOTE_START_STOP_CAPABLE", "RESERVABLE", "RFID_READER",
        "START_SESSION_CONNECTOR_REQUIRED", "TOKEN_GROUP_CAPABLE", "UNLOCK_CAPABLE",
    ],
    "ConnectorFormat": ["SOCKET", "CABLE"],
    "ConnectorType": [
        "CHADEMO", "CHAOJI", "DOMESTIC_A", "DOMESTIC_B", "DOMESTIC_C", "DOMESTIC_D",
        "DOMESTIC_E", "DOMESTIC_F", "DOMESTIC_G", "DOMESTIC_H", "DOMESTIC_I", "DOMESTIC_J",
        "DOMESTIC_K", "DOMESTIC_L", "DOMESTIC_M", "DOMESTIC_N", "DOMESTIC_O", "GBT_AC", "GBT_DC",
        "IEC_60309_2_single_16", "IEC_60309_2_three_16", "IEC_60309_2_three_32",
        "IEC_60309_2_three_64", "IEC_62196_T1", "IEC_62196_T1_COMBO", "IEC_62196_T2",
        "IEC_62196_T2_COMBO", "IEC_62196_T3A", "IEC_62196_T3C", "NEMA_5_20", "NEMA_6_30",
        "NEMA_6_50", "NEMA_10_30", "NEMA_10_50", "NEMA_14_30", "NEMA_14_50",
        "PANTOGRAPH_BOTTOM_UP", "PANTOGRAPH_TOP_DOWN", "TESLA_R", "TESLA_S",
    ],
    "PowerType": ["AC_1_PHASE", "AC_2_PHASE", "AC_2_PHASE_SPLIT", "AC_3_PHASE", "DC"],
    "ParkingRestriction": ["EV_ONLY", "PLUGGED", "DISABLED", "CUSTOMERS", "MOTORCYCLES"],
    "ParkingType": [
        "ALONG_MOTORWAY", "PARKING_GARAGE", "PARKING_LOT", "ON_DRIVEWAY", "ON_STREET",
        "UNDERGROUND_GARAGE",
    ],
    "Facility": [
        "HOTEL", "RESTAURANT", "CAFE", "MALL", "SUPERMARKET", "SPORT", "RECREATION_AREA",
        "NATURE", "MUSEUM", "BIKE_SHARING", "BUS_STOP", "TAXI_STAND", "TRAM_STOP",
        "METRO_STATION", "TRAIN_STATION", "AIRPORT", "PARKING_LOT", "CARPOOL_PARKING",
        "FUEL_STATION", "WIFI",
    ],
    "EnergySourceCategory": [
        "NUCLEAR", "GENERAL_FOSSIL", "COAL", "GAS", "GENERAL_GREEN", "SOLAR", "WIND", "WATER",
    ],
    "EnvironmentalImpactCategory": ["NUCLEAR_WASTE", "CARBON_DIOXIDE"],
    "SessionStatus": ["ACTIVE", "COMPLETED", "INVALID", "PENDING", "RESERVATION"],
    "ProfileType": ["CHEAP", "FAST", "GREEN", "REGULAR"],
    "ChargingPreferencesResponse": [
        "ACCEPTED", "DEPARTURE_REQUIRED", "ENERGY_NEED_REQUIRED", "NOT_POSSIBLE",
        "PROFILE_TYPE_NOT_SUPPORTED",
    ],
    "AuthMethod": ["AUTH_REQUEST", "COMMAND", "WHITELIST"],
    "CdrDimensionType": [
        "CURRENT", "ENERGY", "ENERGY_EXPORT", "ENERGY_IMPORT", "MAX_CURRENT", "MIN_CURRENT",
        "MAX_POWER", "MIN_POWER", "PARKING_TIME", "POWER", "RESERVATION_TIME",
        "STATE_OF_CHARGE", "TIME",
    ],
    "TariffType": ["AD_HOC_PAYMENT", "PROFILE_CHEAP", "PROFILE_FAST", "PROFILE_GREEN", "REGULAR"],
    "TariffDimensionType": ["ENERGY", "FLAT", "PARKING_TIME", "TIME"],
    "DayOfWeek": [
        "MONDAY", "TUESDAY", "WEDNESDAY", "THURSDAY", "FRIDAY", "SATURDAY", "SUNDAY",
    ],
    "ReservationRestrictionType": ["RESERVATION", "RESERVATION_EXPIRES"],
    "TokenType": ["AD_HOC_USER", "APP_USER", "OTHER", "RFID"],
    "WhitelistType": ["ALWAYS", "ALLOWED", "ALLOWED_OFFLINE", "NEVER"],
    "AllowedType": ["ALLOWED", "BLOCKED", "EXPIRED", "NO_CREDIT", "NOT_ALLOWED"],
    "CommandType": [
        "CANCEL_RESERVATION", "RESERVE_NOW", "START_SESSION", "STOP_SESSION", "UNLOCK_CONNECTOR",
    ],
    "CommandResponseType": ["NOT_SUPPORTED", "REJECTED", "ACCEPTED", "UNKNOWN_SESSION"],
    "CommandResultType": [
        "ACCEPTED", "CANCELED_RESERVATION", "EVSE_OCCUPIED", "EVSE_INOPERATIVE", "FAILED",
        "NOT_SUPPORTED", "REJECTED", "TIMEOUT", "UNKNOWN_RESERVATION",
    ],
    "ChargingRateUnit": ["W", "A"],
    "ChargingProfileResponseType": [
        "ACCEPTED", "NOT_SUPPORTED", "REJECTED", "TOO_OFTEN", "UNKNOWN_SESSION",
    ],
    "ChargingProfileResultType": ["ACCEPTED", "REJECTED", "UNKNOWN"],
    "ConnectionStatus": ["CONNECTED", "OFFLINE", "PLANNED", "SUSPENDED"],
}  # fmt: skip

# ModuleID is an open set on the wire (custom modules), so it is not checked here.
OPEN_SETS = {"ModuleID"}


def _enums() -> dict[str, type[StrEnum]]:
    return {
        name: value
        for name, value in vars(enums).items()
        if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum
    }


def test_every_enum_of_the_module_is_checked() -> None:
    aliases = {"EvseStatus"}
    assert set(_enums()) - OPEN_SETS - aliases == set(SPEC)


@pytest.mark.parametrize("name", sorted(SPEC))
def test_enum_has_exactly_the_spec_values_in_order(name: str) -> None:
    assert [member.value for member in _enums()[name]] == SPEC[name]


@pytest.mark.parametrize("name", sorted(SPEC))
def test_enum_member_names_equal_their_wire_values(name: str) -> None:
    assert [member.name for member in _enums()[name]] == SPEC[name]


def test_evse_status_is_the_spec_status_enum() -> None:
    assert enums.EvseStatus is enums.Status


def test_session_only_dimensions_are_the_five_marked_in_the_spec() -> None:
    assert {str(value) for value in enums.SESSION_ONLY_DIMENSIONS} == {
        "CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER", "STATE_OF_CHARGE",
    }  # fmt: skip
