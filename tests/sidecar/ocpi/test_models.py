"""Each OCPI model rejects a bad value with InvalidField naming its JSON path."""

from __future__ import annotations

import copy
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec
import pytest

from sidecar.errors import InvalidField
from sidecar.ocpi import (
    cdrs,
    charging_profiles,
    codec,
    commands,
    locations,
    sessions,
    tariffs,
    tokens,
)
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.charging_profiles import (
    ActiveChargingProfile,
    ActiveChargingProfileResult,
    ChargingProfile,
    ChargingProfileResponse,
    ChargingProfileResult,
    ClearProfileResult,
    SetChargingProfile,
)
from sidecar.ocpi.commands import (
    COMMAND_TYPES,
    CancelReservation,
    CommandResponse,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from sidecar.ocpi.enums import CommandType
from sidecar.ocpi.locations import EVSE, Connector, EnergyMix, Hours, Location
from sidecar.ocpi.sessions import ChargingPreferences, Session
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.tokens import AuthorizationInfo, LocationReferences, Token
from sidecar.ocpi.types import Struct

EXAMPLES = Path(__file__).parent / "examples"
DELETE = object()
_STEP = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def _example(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_bytes(), parse_float=Decimal)


def _changed(document: Any, path: str, value: Any) -> Any:
    """A deep copy of `document` with the value at `path` (`a.b[0].c`) replaced or deleted."""
    result = copy.deepcopy(document)
    steps: list[str | int] = [key if key else int(index) for key, index in _STEP.findall(path)]
    parent = result
    for step in steps[:-1]:
        parent = parent[step]
    if value is DELETE:
        del parent[steps[-1]]
    else:
        parent[steps[-1]] = value
    return result


TOKEN = _example("token_example_2_full_rfid.json")
LOCATION = _example("location_example.json")
SESSION = _example("session_example_2_short_finished.json")
CDR_DOC = _example("cdr_example.json")
TARIFF = _example("tariff_4_complex.json")
CHARGING_PROFILE = {
    "start_date_time": "2024-01-01T12:00:00Z",
    "duration": 3600,
    "charging_rate_unit": "A",
    "min_charging_rate": 6.0,
    "charging_profile_period": [
        {"start_period": 0, "limit": 16},
        {"start_period": 1800, "limit": 8.1},
    ],
}
RESPONSE_URL = "https://emsp.example.com/ocpi/2.2.1/commands/START_SESSION/42"

# A valid document of every model that has no official example.
VALID: dict[Any, Any] = {
    StartSession: {
        "response_url": RESPONSE_URL,
        "token": TOKEN,
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
        "authorization_reference": "REF-1",
    },
    StopSession: {"response_url": RESPONSE_URL, "session_id": "101"},
    ReserveNow: {
        "response_url": RESPONSE_URL,
        "token": TOKEN,
        "expiry_date": "2024-01-01T13:00:00Z",
        "reservation_id": "R1",
        "location_id": "LOC1",
        "evse_uid": "3256",
    },
    CancelReservation: {"response_url": RESPONSE_URL, "reservation_id": "R1"},
    UnlockConnector: {
        "response_url": RESPONSE_URL,
        "location_id": "LOC1",
        "evse_uid": "3256",
        "connector_id": "1",
    },
    CommandResponse: {
        "result": "ACCEPTED",
        "timeout": 30,
        "message": [{"language": "en", "text": "Forwarded"}],
    },
    CommandResult: {"result": "EVSE_OCCUPIED", "message": [{"language": "en", "text": "Busy"}]},
    SetChargingProfile: {"charging_profile": CHARGING_PROFILE, "response_url": RESPONSE_URL},
    ChargingProfile: CHARGING_PROFILE,
    ActiveChargingProfile: {
        "start_date_time": "2024-01-01T12:00:00Z",
        "charging_profile": CHARGING_PROFILE,
    },
    ActiveChargingProfileResult: {
        "result": "ACCEPTED",
        "profile": {
            "start_date_time": "2024-01-01T12:00:00Z",
            "charging_profile": CHARGING_PROFILE,
        },
    },
    ChargingProfileResponse: {"result": "TOO_OFTEN", "timeout": 10},
    ChargingProfileResult: {"result": "REJECTED"},
    ClearProfileResult: {"result": "UNKNOWN"},
    ChargingPreferences: {
        "profile_type": "GREEN",
        "departure_time": "2024-01-01T18:00:00Z",
        "energy_need": 32.5,
        "discharge_allowed": False,
    },
    AuthorizationInfo: {
        "allowed": "ALLOWED",
        "token": TOKEN,
        "location": {"location_id": "LOC1", "evse_uids": ["3256", "3257"]},
        "authorization_reference": "REF-1",
        "info": {"language": "en", "text": "Enjoy"},
    },
    LocationReferences: {"location_id": "LOC1", "evse_uids": ["3256"]},
}

ENUM = "Invalid enum value"
REGEX = "matching regex"
REQUIRED = "required"
CONNECTOR = LOCATION["evses"][0]["connectors"][0]
HOURS_OPEN = {"weekday": 1, "period_begin": "07:00", "period_end": "18:00"}
IMAGE = {"url": "https://cpo.example.com/i.png", "category": "CHARGER", "type": "png"}
SIGNED_VALUE = {"nature": "Start", "plain_data": "p", "signed_data": "s"}
PERIOD_1 = "charging_profile.charging_profile_period[1]"

# model -> (valid document, [(path to change, new value or DELETE, reason part, path named)])
# The path named defaults to the path changed; "body" is the object itself (codec convention).
BAD_VALUES: dict[Any, tuple[Any, list[tuple[Any, ...]]]] = {
    Location: (LOCATION, [
        ("evses[0].connectors[0].standard", "TYPE_2", ENUM),
        ("time_zone", DELETE, REQUIRED),
        ("evses[1].connectors[0].max_voltage", DELETE, REQUIRED),
        ("evses[0].connectors[0].max_voltage", 220.5, "Expected `int"),
        ("id", "L" * 37, "length <= 36"),
        ("party_id", "BÉC", REGEX),
        ("country_code", "BEL", "length <= 2"),
        ("address", "a" * 256, "length <= 255"),
        ("state", "s" * 46, "length <= 45"),
        ("coordinates.latitude", "51.04", REGEX),
        ("coordinates.longitude", "3,729944", REGEX),
        ("evses[0].connectors", [], "length >= 1"),
        ("evses[1].physical_reference", 2, "Expected `str"),
        ("evses[1].floor_level", "-2nd!", "length <= 4"),
        ("evses[0].status", "OFFLINE", ENUM),
        ("evses[0].capabilities[0]", "reservable", ENUM),
        ("last_updated", "yesterday", "Invalid RFC3339"),
        ("publish", "yes", "Expected `bool"),
        ("opening_times", {"twentyfourseven": False}, "at least one"),
        ("opening_times", {"twentyfourseven": False, "regular_hours": [
            {**HOURS_OPEN, "period_begin": "7:00"}]}, REGEX,
            "opening_times.regular_hours[0].period_begin"),
        ("opening_times", {"twentyfourseven": False, "regular_hours": [
            {**HOURS_OPEN, "weekday": 8}]}, "<= 7", "opening_times.regular_hours[0].weekday"),
        ("opening_times", {"twentyfourseven": False, "regular_hours": [
            {**HOURS_OPEN, "period_end": "06:59"}]}, "period_end must be later",
            "opening_times.regular_hours[0]"),
        ("publish_allowed_to", [{"uid": "0102"}], "type is required when uid is set",
            "publish_allowed_to[0]"),
        ("publish_allowed_to", [{"visual_number": "1-2"}], "issuer is required",
            "publish_allowed_to[0]"),
        ("publish_allowed_to", [{"type": "RFID"}], "one of uid, visual_number or group_id",
            "publish_allowed_to[0]"),
        ("energy_mix", {"is_green_energy": True, "energy_sources": [
            {"source": "BIOMASS", "percentage": 10}]}, ENUM, "energy_mix.energy_sources[0].source"),
        ("energy_mix", {"is_green_energy": True, "energy_sources": [
            {"source": "SOLAR", "percentage": 101}]}, "between 0 and 100",
            "energy_mix.energy_sources[0]"),
        ("operator", {"name": "n" * 101}, "length <= 100", "operator.name"),
        ("images", [{**IMAGE, "width": 100000}], "<= 99999", "images[0].width"),
    ]),
    EVSE: (LOCATION["evses"][0], [
        ("connectors[1].tariff_ids[0]", "t" * 37, "length <= 36"),
        ("evse_id", "E" * 49, "length <= 48"),
        ("status_schedule", [{"period_begin": "2024-01-01T00:00:00Z"}], REQUIRED,
            "status_schedule[0].status"),
    ]),
    Connector: (CONNECTOR, [
        ("power_type", "AC", ENUM),
        ("last_updated", DELETE, REQUIRED),
    ]),
    Session: (SESSION, [
        ("kwh", "lots", "Invalid decimal"),
        ("cdr_token.type", "NFC", ENUM),
        ("cdr_token.party_id", DELETE, REQUIRED),
        ("charging_periods[0].dimensions", [], "length >= 1"),
        ("charging_periods[2].dimensions[0].type", "IDLE", ENUM),
        ("status", "RESERVED", ENUM),
        ("currency", DELETE, REQUIRED),
        ("currency", "EURO", "length <= 3"),
        ("total_cost.excl_vat", DELETE, REQUIRED),
    ]),
    CDR: (CDR_DOC, [
        ("cdr_location.address", "a" * 46, "length <= 45"),
        ("cdr_location.state", "s" * 21, "length <= 20"),
        ("cdr_location.connector_format", "PLUG", ENUM),
        ("charging_periods", [], "length >= 1"),
        ("total_cost", DELETE, REQUIRED),
        ("tariffs[0].elements[0].price_components[0].step_size", 1.5, "Expected `int"),
        ("signed_data", {"encoding_method": "OCMF", "signed_values": []}, "length >= 1",
            "signed_data.signed_values"),
        ("signed_data", {"encoding_method": "OCMF", "signed_values": [
            {**SIGNED_VALUE, "plain_data": "p" * 5001}]}, "length <= 5000",
            "signed_data.signed_values[0].plain_data"),
        ("signed_data", {"encoding_method": "OCMF", "signed_values": [
            {**SIGNED_VALUE, "nature": "N" * 33}]}, "length <= 32",
            "signed_data.signed_values[0].nature"),
        ("id", "C" * 40, "length <= 39"),
    ]),
    Tariff: (TARIFF, [
        ("elements", [], "length >= 1"),
        ("elements[0].price_components", [], "length >= 1"),
        ("elements[4].restrictions.start_time", "24:00", REGEX),
        ("elements[4].restrictions.day_of_week[0]", "monday", ENUM),
        ("elements[4].restrictions.reservation", "RESERVATION", "only price FLAT and TIME",
            "elements[4]"),
        ("elements[1].restrictions.max_current", "high", "Invalid decimal"),
        ("elements[1].restrictions.start_date", "2015-13-01", REGEX),
        ("elements[1].restrictions.max_duration", 1800.5, "Expected `int"),
        ("elements[0].price_components[0].type", "KWH", ENUM),
        ("type", "CHEAP", ENUM),
        ("tariff_alt_text", [{"language": "eng", "text": "x"}], "length <= 2",
            "tariff_alt_text[0].language"),
        ("last_updated", DELETE, REQUIRED),
    ]),
    Token: (TOKEN, [
        ("whitelist", DELETE, REQUIRED),
        ("whitelist", "SOMETIMES", ENUM),
        ("uid", "u" * 37, "length <= 36"),
        ("language", "ita", "length <= 2"),
        ("default_profile_type", "ECO", ENUM),
        ("energy_contract.supplier_name", DELETE, REQUIRED),
        ("valid", None, "got `null`"),
    ]),
    AuthorizationInfo: (VALID[AuthorizationInfo], [
        ("allowed", "YES", ENUM),
        ("token.type", "NFC", ENUM),
        ("location.evse_uids[1]", "e" * 37, "length <= 36"),
    ]),
    LocationReferences: (VALID[LocationReferences], [("location_id", DELETE, REQUIRED)]),
    StartSession: (VALID[StartSession], [
        ("evse_uid", DELETE, "evse_uid is required when connector_id is set", "body"),
        ("response_url", "https://" + "x" * 250, "length <= 255"),
        ("token.issuer", DELETE, REQUIRED),
    ]),
    StopSession: (VALID[StopSession], [("session_id", DELETE, REQUIRED)]),
    ReserveNow: (VALID[ReserveNow], [("expiry_date", "tomorrow", "Invalid RFC3339")]),
    CancelReservation: (VALID[CancelReservation], [("reservation_id", "r" * 37, "length <= 36")]),
    UnlockConnector: (VALID[UnlockConnector], [("connector_id", DELETE, REQUIRED)]),
    CommandResponse: (VALID[CommandResponse], [
        ("timeout", "30", "Expected `int"),
        ("result", "OK", ENUM),
    ]),
    CommandResult: (VALID[CommandResult], [("message[0].text", DELETE, REQUIRED)]),
    SetChargingProfile: (VALID[SetChargingProfile], [
        (f"{PERIOD_1}.limit", 8.15, "at most one digit fraction", PERIOD_1),
        ("charging_profile.charging_rate_unit", "kW", ENUM),
        (f"{PERIOD_1}.start_period", DELETE, REQUIRED),
    ]),
    ChargingProfile: (VALID[ChargingProfile], [
        ("min_charging_rate", 6.05, "min_charging_rate accepts at most one digit", "body"),
    ]),
    ActiveChargingProfile: (VALID[ActiveChargingProfile], [("start_date_time", DELETE, REQUIRED)]),
    ActiveChargingProfileResult: (VALID[ActiveChargingProfileResult], [
        ("profile", DELETE, "profile is required when result is ACCEPTED", "body"),
    ]),
    ChargingProfileResponse: (VALID[ChargingProfileResponse], [("result", "MAYBE", ENUM)]),
    ChargingProfileResult: (VALID[ChargingProfileResult], [("result", "UNKNOWN_SESSION", ENUM)]),
    ClearProfileResult: (VALID[ClearProfileResult], [("result", DELETE, REQUIRED)]),
    ChargingPreferences: (VALID[ChargingPreferences], [
        ("profile_type", "ECO", ENUM),
        ("energy_need", [32], "Expected `decimal"),
    ]),
}  # fmt: skip

# (model, valid document, path to change, new value or DELETE, reason part, path named)
BAD = [
    (type_, document, case[0], case[1], case[2], case[3] if len(case) > 3 else case[0])
    for type_, (document, cases) in BAD_VALUES.items()
    for case in cases
]


@pytest.mark.parametrize(
    ("type_", "document"), list(VALID.items()), ids=lambda v: getattr(v, "__name__", "")
)
def test_valid_document_round_trips(type_: Any, document: Any) -> None:
    value = codec.decode(codec.encode(document), type_)
    assert isinstance(value, type_)
    assert codec.decode(codec.encode(value), type_) == value
    assert json.loads(codec.encode(value), parse_float=Decimal) == json.loads(
        codec.encode(document), parse_float=Decimal
    )


@pytest.mark.parametrize(
    ("type_", "document", "path", "value", "reason", "expected_path"),
    BAD,
    ids=[f"{case[0].__name__}:{case[2]}" for case in BAD],
)
def test_bad_value_is_rejected_naming_its_path(
    type_: Any, document: Any, path: str, value: Any, reason: str, expected_path: str
) -> None:
    codec.decode(codec.encode(document), type_)  # the unchanged document is valid
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(_changed(document, path, value)), type_)
    assert caught.value.path == expected_path
    assert reason in caught.value.reason


def test_every_model_has_a_rejection_case() -> None:
    covered = {case[0] for case in BAD} | {Hours, EnergyMix}
    models = {
        value
        for module in (locations, sessions, cdrs, tariffs, tokens, commands, charging_profiles)
        for value in vars(module).values()
        if isinstance(value, type)
        and issubclass(value, Struct)
        and value.__module__ == module.__name__
    }
    nested = {  # checked through the object that embeds them
        "GeoLocation", "AdditionalGeoLocation", "RegularHours", "ExceptionalPeriod",
        "EnergySource", "EnvironmentalImpact", "StatusSchedule", "PublishTokenType",
        "CdrToken", "ChargingPeriod", "CdrDimension", "CdrLocation", "SignedData",
        "SignedValue", "PriceComponent", "TariffRestrictions", "TariffElement",
        "EnergyContract", "ChargingProfilePeriod",
    }  # fmt: skip
    assert {model.__name__ for model in models - covered} == nested


def test_location_address_and_state_take_the_erratum_lengths() -> None:
    document = _changed(_changed(LOCATION, "address", "a" * 255), "state", "s" * 45)
    location = codec.decode(codec.encode(document), Location)
    assert (len(location.address), len(location.state or "")) == (255, 45)


def test_credit_cdr_may_have_a_39_character_id_and_needs_a_reference() -> None:
    credit = _changed(_changed(CDR_DOC, "id", "C" * 39), "credit", True)
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(credit), CDR)
    assert "credit_reference_id is required" in caught.value.reason
    cdr = codec.decode(codec.encode(_changed(credit, "credit_reference_id", "12345")), CDR)
    assert (cdr.id, cdr.credit, cdr.credit_reference_id) == ("C" * 39, True, "12345")


def test_normal_cdr_id_is_at_most_36_characters() -> None:
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(_changed(CDR_DOC, "id", "C" * 37)), CDR)
    assert "at most 36" in caught.value.reason


@pytest.mark.parametrize(
    "dimension", ["CURRENT", "ENERGY_EXPORT", "ENERGY_IMPORT", "POWER", "STATE_OF_CHARGE"]
)
def test_cdr_rejects_session_only_dimensions(dimension: str) -> None:
    document = _changed(CDR_DOC, "charging_periods[0].dimensions[0].type", dimension)
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(document), CDR)
    assert f"charging_periods[0].dimensions[0].type: {dimension} is for sessions only" in str(
        caught.value
    )
    session = _changed(SESSION, "charging_periods[0].dimensions[0].type", dimension)
    assert codec.decode(codec.encode(session), Session).charging_periods


def test_signed_value_plain_data_takes_5000_characters() -> None:
    signed = {
        "encoding_method": "OCMF",
        "encoding_method_version": 1,
        "signed_values": [{"nature": "Start", "plain_data": "p" * 5000, "signed_data": "s" * 5000}],
    }
    cdr = codec.decode(codec.encode(_changed(CDR_DOC, "signed_data", signed)), CDR)
    assert cdr.signed_data is not None
    assert len(cdr.signed_data.signed_values[0].plain_data) == 5000


@pytest.mark.parametrize("limit", ["8.1", "8.10", "16", "0.0"])
def test_charging_profile_limit_accepts_one_digit_fraction_exactly(limit: str) -> None:
    body = f'{{"start_period": 0, "limit": {limit}}}'
    period = codec.decode(body, charging_profiles.ChargingProfilePeriod)
    assert period.limit == Decimal(limit)
    assert codec.encode(period) == f'{{"start_period":0,"limit":{limit}}}'.encode()


def test_amounts_are_decimals_and_keep_their_digits() -> None:
    session = codec.decode(
        (EXAMPLES / "session_example_2_short_finished.json").read_bytes(), Session
    )
    assert session.total_cost is not None
    assert session.total_cost.excl_vat == Decimal("8.50")
    assert isinstance(session.kwh, Decimal)
    assert b'"excl_vat":8.50' in codec.encode(session)


def test_hours_24_7_with_regular_hours_is_rejected() -> None:
    regular = [{"weekday": 1, "period_begin": "07:00", "period_end": "18:00"}]
    hours = {"twentyfourseven": True, "regular_hours": regular}
    with pytest.raises(InvalidField) as caught:
        codec.convert(hours, Hours)
    assert "regular_hours may only be used" in caught.value.reason


def test_publish_allowed_to_needs_publish_false() -> None:
    document = _changed(LOCATION, "publish_allowed_to", [{"visual_number": "1", "issuer": "X"}])
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(document), Location)
    assert "publish_allowed_to may only be used when publish is false" in caught.value.reason
    location = codec.decode(codec.encode(_changed(document, "publish", False)), Location)
    assert location.publish_allowed_to is not None


def test_null_optional_field_means_not_set_and_is_left_out() -> None:
    location = codec.decode(codec.encode(_changed(LOCATION, "name", None)), Location)
    assert location.name is None
    assert "name" not in json.loads(codec.encode(location))


def test_models_are_frozen() -> None:
    token = codec.decode(codec.encode(TOKEN), Token)
    with pytest.raises(AttributeError):
        token.valid = False  # type: ignore[misc]
    assert msgspec.structs.replace(token, valid=False).valid is False


def test_command_types_map_to_their_request_bodies() -> None:
    assert set(COMMAND_TYPES) == set(CommandType)
    for command, type_ in COMMAND_TYPES.items():
        assert type_ in VALID, command
        assert codec.decode(codec.encode(VALID[type_]), type_)


@pytest.mark.parametrize(
    "limit", ['"NaN"', '"Infinity"', "8.15", "1.00000000000000000000000000001"]
)
def test_charging_profile_limit_rejects_non_finite_and_finer_values(limit: str) -> None:
    with pytest.raises(InvalidField) as caught:
        codec.decode(
            f'{{"start_period": 0, "limit": {limit}}}', charging_profiles.ChargingProfilePeriod
        )
    assert caught.value.reason.startswith("limit ")


def test_charging_profile_limit_takes_a_huge_integral_value() -> None:
    period = codec.decode(
        '{"start_period": 0, "limit": 1E+400}', charging_profiles.ChargingProfilePeriod
    )
    assert period.limit == Decimal("1E+400")


def test_energy_source_percentage_rejects_nan() -> None:
    with pytest.raises(InvalidField) as caught:
        codec.decode('{"source": "SOLAR", "percentage": "NaN"}', locations.EnergySource)
    assert "between 0 and 100" in caught.value.reason
