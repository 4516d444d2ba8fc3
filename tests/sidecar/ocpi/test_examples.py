"""Every official OCPI 2.2.1 example: decoded into its model and encoded back without loss.

The examples in ./examples are verbatim copies of the spec's examples/ folder (see SOURCE.md).
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.credentials import Credentials
from sidecar.ocpi.enums import SessionStatus, Status
from sidecar.ocpi.envelope import Response
from sidecar.ocpi.locations import EVSE, Connector, EnergyMix, Hours, Location
from sidecar.ocpi.patch import apply_patch, decode_patch
from sidecar.ocpi.sessions import Session
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.tokens import Token
from sidecar.ocpi.types import DisplayText, Price
from sidecar.ocpi.versions import Version, VersionDetails

EXAMPLES = Path(__file__).parent / "examples"

_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


def _raw(name: str) -> Any:
    return json.loads((EXAMPLES / name).read_bytes(), parse_float=Decimal)


def _load(name: str, type_: Any) -> Any:
    return codec.decode((EXAMPLES / name).read_bytes(), type_)


# Bare objects (or lists of them): the whole file is one value of the type.
OBJECTS: dict[str, Any] = {
    "cdr_example.json": CDR,
    "credentials_example.json": Credentials,
    "credentials_example2.json": Credentials,
    "credentials_example3.json": Credentials,
    "credentials_example4.json": Credentials,
    "location_example.json": Location,
    "location_example_parking_garage_opening_hours.json": Location,
    "location_example_uc2_destination_charger.json": Location,
    "location_example_uc3_destination_charger_not_published.json": Location,
    "location_example_uc4_limited_visibility.json": Location,
    "location_example_uc5_home_charge_point.json": Location,
    "location_hours_247_open_exception_closing.json": Hours,
    "location_hours_opening_hours_with_exceptional_closing.json": Hours,
    "location_hours_opening_hours_with_exceptional_opening.json": Hours,
    "session_example_1_simple_start.json": Session,
    "session_example_2_short_finished.json": Session,
    "tariff_1_simple_2hour.json": Tariff,
    "tariff_2_alt_text.json": Tariff,
    "tariff_3_alt_url.json": Tariff,
    "tariff_4_complex.json": Tariff,
    "tariff_5_free_of_charge.json": Tariff,
    "tariff_6_025kwh_start_max_price.json": Tariff,
    "tariff_8_simple_025kwh.json": Tariff,
    "tariff_9_025kwh_start.json": Tariff,
    "tariff_10_025kwh_parking_start.json": Tariff,
    "tariff_11_not_possible_alt_text.json": Tariff,
    "tariff_12_025kwh_min_price.json": Tariff,
    "tariff_13_simple_3hour_5parking.json": Tariff,
    "tariff_14_step_size.json": Tariff,
    "tariff_15_reservation_5_euro_per_hour.json": Tariff,
    "tariff_16_reservation_2_euro_fee_5_euro_per_hour.json": Tariff,
    "tariff_17_reservation_with_expire_fee.json": Tariff,
    "tariff_18_reservation_with_expire_time.json": Tariff,
    "tariffrestriction_example_max_duration.json": Tariff,
    "tariffrestriction_example_max_power.json": Tariff,
    "token_example_1_app_user.json": Token,
    "token_example_2_full_rfid.json": Token,
    "token_put_example.json": Token,
    "type_displaytext_example.json": DisplayText,
    "version_details_example.json": VersionDetails,
    "version_details_example2.json": VersionDetails,
    "versions_info_example.json": list[Version],
}

# Response envelopes: `data` is decoded into the model.
ENVELOPES: dict[str, Any] = {
    "transport_and_format_get_token_example.json": Response[Token],
    "transport_and_format_get_token_list_example.json": Response[list[Token]],
    "transport_and_format_version_details_example.json": Response[VersionDetails],
    "transport_and_format_version_info_example.json": Response[list[Version]],
}

# Fragments of a Location: one field shown on its own, wrapped in its field name.
FRAGMENTS: dict[str, tuple[str, Any]] = {
    "location_energymix_example_complete.json": ("energy_mix", EnergyMix),
    "location_energymix_example_energy_provider.json": ("energy_mix", EnergyMix),
    "location_energymix_example_simple.json": ("energy_mix", EnergyMix),
    "location_regularhours_example.json": ("opening_times", Hours),
}


def _evse(index: int) -> EVSE:
    evses = _load("location_example.json", Location).evses
    assert evses is not None
    return evses[index]


def _connector(evse: int, index: int) -> Connector:
    return _evse(evse).connectors[index]


# PATCH bodies: (type, the object the spec's URL patches, the fields that must change).
# The spec's URLs name EVSE 3255/3256 and connector 2 of location 1012; the bases are the
# matching objects of location_example.json (location LOC1, EVSE 3256, connector 2).
PATCHES: dict[str, tuple[Any, Any, dict[str, Any]]] = {
    "location_patch_example_location.json": (
        Location,
        lambda: _load("location_example.json", Location),
        {"name": "Interparking Gent Zuid", "last_updated": "2019-06-24T12:39:09Z"},
    ),
    "location_patch_example_status.json": (
        EVSE,
        lambda: _evse(0),
        {"status": "CHARGING", "last_updated": "2019-06-24T12:39:09Z"},
    ),
    "location_patch_example_remove_evse.json": (
        EVSE,
        lambda: _evse(0),
        {"status": "REMOVED", "last_updated": "2019-06-24T12:39:09Z"},
    ),
    "location_patch_example_tariff.json": (
        Connector,
        lambda: _connector(0, 1),
        {"tariff_ids": ["15"], "last_updated": "2019-06-24T12:39:09Z"},
    ),
    "session_patch_example_total_cost.json": (
        Session,
        lambda: _load("session_example_1_simple_start.json", Session),
        {
            "total_cost": {"excl_vat": Decimal("0.60"), "incl_vat": Decimal("0.66")},
            "last_updated": "2019-06-23T08:11:00Z",
        },
    ),
    "session_patch_example_charging_period.json": (
        Session,
        lambda: _load("session_example_2_short_finished.json", Session),
        {
            "kwh": Decimal("15.00"),
            "charging_periods": [
                *_raw("session_example_2_short_finished.json")["charging_periods"],
                {
                    "start_date_time": "2019-06-23T08:16:02Z",
                    "dimensions": [{"type": "ENERGY", "volume": 2200}],
                },
            ],
            "total_cost": {"excl_vat": Decimal("0.80"), "incl_vat": Decimal("0.88")},
            "last_updated": "2019-06-23T08:16:02Z",
        },
    ),
    "token_patch_example.json": (
        Token,
        lambda: _load("token_put_example.json", Token),
        {"valid": False, "last_updated": "2019-06-19T02:11:11Z"},
    ),
}

# Faulty examples (SOURCE.md): (type, path of the first fault, reason).
REJECTED: dict[str, tuple[Any, str, str]] = {
    "tariff_put_example.json": (Tariff, "last_updated", "required"),
    # Document order: the connector (missing power_type) closes before `floor` and
    # `physical_reference`; `floor` itself is an unknown field, ignored like any other.
    "location_put_example_add_evse.json": (EVSE, "connectors[0].power_type", "required"),
}


def _instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def assert_lossless(original: Any, encoded: Any, path: str = "$") -> None:
    """Same JSON up to number spelling and the UTC designator of DateTimes."""
    if isinstance(original, bool) or original is None:
        assert encoded is original, f"{path}: {encoded!r} != {original!r}"
    elif isinstance(original, int | Decimal):
        assert not isinstance(encoded, bool), f"{path}: number became {encoded!r}"
        assert isinstance(encoded, int | Decimal), f"{path}: number became {encoded!r}"
        assert Decimal(encoded) == Decimal(original), f"{path}: {encoded} != {original}"
    elif isinstance(original, str) and _DATETIME.match(original):
        assert isinstance(encoded, str), f"{path}: {encoded!r} is not a DateTime"
        assert _instant(encoded) == _instant(original), f"{path}: {encoded} != {original}"
    elif isinstance(original, dict):
        assert isinstance(encoded, dict), f"{path}: object became {encoded!r}"
        assert encoded.keys() == original.keys(), (
            f"{path}: lost {sorted(original.keys() - encoded.keys())}, "
            f"added {sorted(encoded.keys() - original.keys())}"
        )
        for key, value in original.items():
            assert_lossless(value, encoded[key], f"{path}.{key}")
    elif isinstance(original, list):
        assert isinstance(encoded, list), f"{path}: list became {encoded!r}"
        assert len(encoded) == len(original), f"{path}: {len(encoded)} != {len(original)} items"
        for index, (item, out) in enumerate(zip(original, encoded, strict=True)):
            assert_lossless(item, out, f"{path}[{index}]")
    else:
        assert encoded == original, f"{path}: {encoded!r} != {original!r}"


def _reencoded(value: Any) -> Any:
    return json.loads(codec.encode(value), parse_float=Decimal)


def test_every_example_file_is_covered_exactly_once() -> None:
    tables = [OBJECTS, ENVELOPES, FRAGMENTS, PATCHES, REJECTED]
    covered = [name for table in tables for name in table]
    files = sorted(path.name for path in EXAMPLES.glob("*.json"))
    assert len(files) == 59
    assert sorted(covered) == files


def test_examples_are_the_shared_copies_unchanged() -> None:
    shared = Path("/work/shared/ocpi-2.2.1-examples")
    if not shared.is_dir():
        pytest.skip("the shared example folder is not on this machine")
    for path in EXAMPLES.iterdir():
        assert path.read_bytes() == (shared / path.name).read_bytes(), path.name


@pytest.mark.parametrize("name", sorted(OBJECTS))
def test_object_example_round_trips_without_loss(name: str) -> None:
    value = _load(name, OBJECTS[name])
    assert_lossless(_raw(name), _reencoded(value))


@pytest.mark.parametrize("name", sorted(ENVELOPES))
def test_envelope_example_round_trips_without_loss(name: str) -> None:
    response = _load(name, ENVELOPES[name])
    assert response.status_code == 1000
    assert response.data
    assert_lossless(_raw(name), _reencoded(response))


@pytest.mark.parametrize("name", sorted(FRAGMENTS))
def test_fragment_example_round_trips_without_loss(name: str) -> None:
    field, type_ = FRAGMENTS[name]
    raw = _raw(name)
    assert list(raw) == [field]
    value = codec.convert(json.loads((EXAMPLES / name).read_bytes())[field], type_)
    assert isinstance(value, type_)
    assert_lossless(raw, {field: _reencoded(value)})


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_patch_example_decodes_and_round_trips(name: str) -> None:
    type_, _, expected = PATCHES[name]
    patch = decode_patch((EXAMPLES / name).read_bytes(), type_)
    assert sorted(patch) == sorted(_raw(name))
    assert_lossless(_raw(name), _reencoded(patch))
    assert sorted(expected) == sorted(patch)


@pytest.mark.parametrize("name", sorted(PATCHES))
def test_patch_example_applies_to_its_object(name: str) -> None:
    type_, base_of, expected = PATCHES[name]
    base = base_of()
    patched = apply_patch(base, decode_patch((EXAMPLES / name).read_bytes(), type_))
    assert type(patched) is type_
    before, after = _reencoded(base), _reencoded(patched)
    assert {key: value for key, value in after.items() if key not in expected} == {
        key: value for key, value in before.items() if key not in expected
    }
    assert_lossless(expected, {key: after[key] for key in expected})


def test_patch_example_status_sets_charging() -> None:
    patch = decode_patch((EXAMPLES / "location_patch_example_status.json").read_bytes(), EVSE)
    patched = apply_patch(_evse(0), patch)
    assert patched.status is Status.CHARGING
    assert patched.last_updated == datetime(2019, 6, 24, 12, 39, 9, tzinfo=UTC)
    assert patched.connectors == _evse(0).connectors


def test_patch_example_charging_period_is_appended_not_replacing() -> None:
    base = _load("session_example_2_short_finished.json", Session)
    body = (EXAMPLES / "session_patch_example_charging_period.json").read_bytes()
    patched = apply_patch(base, decode_patch(body, Session))
    assert base.charging_periods is not None and patched.charging_periods is not None
    assert len(base.charging_periods) == 3
    assert patched.charging_periods[:3] == base.charging_periods
    assert patched.charging_periods[3].dimensions[0].volume == Decimal("2200")
    assert patched.kwh == Decimal("15.00")
    assert patched.total_cost == Price(excl_vat=Decimal("0.80"), incl_vat=Decimal("0.88"))
    assert patched.status is SessionStatus.COMPLETED


@pytest.mark.parametrize("name", sorted(REJECTED))
def test_faulty_example_is_rejected_naming_the_first_fault(name: str) -> None:
    type_, path, reason = REJECTED[name]
    with pytest.raises(InvalidField) as caught:
        _load(name, type_)
    assert (caught.value.path, caught.value.reason) == (path, reason)


def test_add_evse_example_names_each_fault_once_the_previous_is_fixed() -> None:
    body = _raw("location_put_example_add_evse.json")
    body["connectors"][0].update(
        power_type="AC_3_PHASE", max_voltage=230, max_amperage=16, last_updated=body["last_updated"]
    )
    with pytest.raises(InvalidField) as caught:
        codec.decode(codec.encode(body), EVSE)
    assert caught.value.path == "physical_reference"
    body["physical_reference"] = "3"
    evse = codec.decode(codec.encode(body), EVSE)
    # `floor` is not an EVSE field (the spec's is `floor_level`): ignored, so it is lost.
    assert evse.floor_level is None
    assert "floor" not in _reencoded(evse)
    with pytest.raises(InvalidField) as caught:
        decode_patch(codec.encode(body), EVSE, forbid_unknown=True)
    assert (caught.value.path, caught.value.reason) == ("floor", "unknown field")


def test_tariff_put_example_is_accepted_once_last_updated_is_added() -> None:
    body = _raw("tariff_put_example.json")
    body["last_updated"] = "2015-06-29T20:39:09Z"
    tariff = codec.decode(codec.encode(body), Tariff)
    assert tariff.elements[0].price_components[0].step_size == 300


def test_data_faults_listed_in_source_are_accepted_as_valid_format() -> None:
    cdr = _load("cdr_example.json", CDR)
    # Latitude and longitude are swapped in the example, but both fit their formats.
    assert (cdr.cdr_location.coordinates.latitude, cdr.cdr_location.coordinates.longitude) == (
        "3.729944",
        "51.047599",
    )
    session = _load("session_example_2_short_finished.json", Session)
    assert session.charging_periods is not None
    assert session.charging_periods[1].dimensions[0].volume == Decimal("41000")
