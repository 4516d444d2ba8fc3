"""decode_patch validates partial objects field by field; apply_patch merges them."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sidecar.errors import InvalidField, MalformedJson
from sidecar.ocpi import codec
from sidecar.ocpi.enums import Status, WhitelistType
from sidecar.ocpi.locations import EVSE, Connector, Location
from sidecar.ocpi.patch import apply_patch, decode_patch, partial_type
from sidecar.ocpi.sessions import ChargingPeriod, Session
from sidecar.ocpi.tokens import Token

EXAMPLES = Path(__file__).parent / "examples"
STAMP = '"last_updated": "2024-05-01T10:00:00Z"'


def _load(name: str, type_: Any) -> Any:
    return codec.decode((EXAMPLES / name).read_bytes(), type_)


def _body(fields: str) -> str:
    return f"{{{fields}, {STAMP}}}" if fields else f"{{{STAMP}}}"


def _rejected(data: str, type_: Any, **options: Any) -> InvalidField:
    with pytest.raises(InvalidField) as caught:
        decode_patch(data, type_, **options)
    return caught.value


def test_patch_without_last_updated_is_rejected_naming_it() -> None:
    error = _rejected('{"status": "CHARGING"}', EVSE)
    assert (error.path, error.reason) == ("last_updated", "required")


def test_patch_with_only_last_updated_is_valid() -> None:
    assert decode_patch(_body(""), Token) == {"last_updated": datetime(2024, 5, 1, 10, tzinfo=UTC)}


def test_patch_returns_only_the_fields_present_as_typed_values() -> None:
    patch = decode_patch(_body('"status": "CHARGING"'), EVSE)
    assert patch == {
        "status": Status.CHARGING,
        "last_updated": datetime(2024, 5, 1, 10, tzinfo=UTC),
    }
    assert patch["status"] is Status.CHARGING


@pytest.mark.parametrize(
    ("type_", "fields", "path", "reason"),
    [
        (EVSE, '"status": "FREE"', "status", "Invalid enum value"),
        (EVSE, '"connectors": []', "connectors", "length >= 1"),
        (EVSE, '"connectors": [{"id": "1"}]', "connectors[0].standard", "required"),
        (EVSE, '"physical_reference": 3', "physical_reference", "Expected `str"),
        (Connector, '"tariff_ids": ["t", 15]', "tariff_ids[1]", "Expected `str"),
        (Location, '"coordinates": {"latitude": "51.0", "longitude": "3.72994"}',
            "coordinates.latitude", "matching regex"),
        (Location, '"name": "' + "n" * 256 + '"', "name", "length <= 255"),
        (Location, '"publish": null', "publish", "got `null`"),
        (Session, '"charging_periods": [{"start_date_time": "2024-05-01T09:00:00Z", '
            '"dimensions": [{"type": "KWH", "volume": 1}]}]',
            "charging_periods[0].dimensions[0].type", "Invalid enum value"),
        (Session, '"kwh": "many"', "kwh", "Invalid decimal"),
        (Token, '"whitelist": "SOMETIMES"', "whitelist", "Invalid enum value"),
        (Token, '"valid": "false"', "valid", "Expected `bool"),
    ],
)  # fmt: skip
def test_patch_field_is_validated_against_its_annotation(
    type_: Any, fields: str, path: str, reason: str
) -> None:
    error = _rejected(_body(fields), type_)
    assert error.path == path
    assert reason in error.reason


def test_patch_last_updated_must_be_a_datetime() -> None:
    error = _rejected('{"valid": false, "last_updated": "today"}', Token)
    assert error.path == "last_updated"
    assert "RFC3339" in error.reason


def test_patch_body_must_be_an_object() -> None:
    error = _rejected("[]", Token)
    assert "Expected `object`" in error.reason


def test_unknown_field_is_ignored_by_default() -> None:
    patch = decode_patch(_body('"floor": -1, "status": "REMOVED"'), EVSE)
    assert set(patch) == {"status", "last_updated"}


def test_unknown_field_is_rejected_naming_it_when_forbidden() -> None:
    error = _rejected(_body('"floor": -1'), EVSE, forbid_unknown=True)
    assert (error.path, error.reason) == ("floor", "unknown field")


def test_null_sets_an_optional_field_to_not_set() -> None:
    evse = _load("location_example.json", Location).evses[0]
    assert evse.physical_reference == "1"
    patched = apply_patch(evse, decode_patch(_body('"physical_reference": null'), EVSE))
    assert patched.physical_reference is None
    assert "physical_reference" not in json.loads(codec.encode(patched))


def test_partial_type_is_cached_and_keeps_the_constraints() -> None:
    assert partial_type(Token) is partial_type(Token)
    assert partial_type(Token) is not partial_type(Token, True)
    error = _rejected(_body('"uid": "' + "u" * 37 + '"'), Token)
    assert (error.path, "length <= 36" in error.reason) == ("uid", True)


def test_apply_patch_replaces_only_the_patched_fields() -> None:
    token = _load("token_put_example.json", Token)
    patched = apply_patch(token, decode_patch(_body('"whitelist": "NEVER"'), Token))
    assert patched.whitelist is WhitelistType.NEVER
    assert patched.last_updated == datetime(2024, 5, 1, 10, tzinfo=UTC)
    changed = {"whitelist": "NEVER", "last_updated": "2024-05-01T10:00:00Z"}
    assert codec.to_builtins(patched) == {**codec.to_builtins(token), **changed}
    assert token.whitelist is WhitelistType.ALWAYS  # the original is untouched


def test_apply_patch_replaces_nested_objects_as_a_whole() -> None:
    location = _load("location_example.json", Location)
    body = _body('"coordinates": {"latitude": "51.0476", "longitude": "3.72994"}')
    body = body.replace('"51.0476"', '"51.04760"')
    patched = apply_patch(location, decode_patch(body, Location))
    assert (patched.coordinates.latitude, patched.coordinates.longitude) == ("51.04760", "3.72994")
    assert patched.evses == location.evses


PERIOD = (
    '{"start_date_time": "2024-05-01T09:00:00Z", "dimensions": [{"type": "ENERGY", "volume": 1.5}]}'
)


def test_session_patch_appends_charging_periods() -> None:
    session = _load("session_example_2_short_finished.json", Session)
    patched = apply_patch(session, decode_patch(_body(f'"charging_periods": [{PERIOD}]'), Session))
    assert patched.charging_periods is not None and session.charging_periods is not None
    assert len(patched.charging_periods) == len(session.charging_periods) + 1
    assert patched.charging_periods[-1].dimensions[0].volume == Decimal("1.5")


def test_session_patch_appends_to_a_session_without_periods() -> None:
    session = _load("session_example_1_simple_start.json", Session)
    assert session.charging_periods is None
    patched = apply_patch(session, decode_patch(_body(f'"charging_periods": [{PERIOD}]'), Session))
    assert patched.charging_periods is not None
    assert [type(period) for period in patched.charging_periods] == [ChargingPeriod]


@pytest.mark.parametrize("periods", ["[]", "null"])
def test_session_patch_with_empty_or_null_periods_changes_nothing(periods: str) -> None:
    session = _load("session_example_2_short_finished.json", Session)
    patch = decode_patch(_body(f'"charging_periods": {periods}'), Session)
    assert apply_patch(session, patch).charging_periods == session.charging_periods


def test_session_patch_replaces_periods_when_append_is_switched_off() -> None:
    session = _load("session_example_2_short_finished.json", Session)
    patch = decode_patch(_body(f'"charging_periods": [{PERIOD}]'), Session)
    patched = apply_patch(session, patch, append=())
    assert patched.charging_periods is not None
    assert len(patched.charging_periods) == 1


def test_other_lists_are_replaced_not_appended() -> None:
    connector = _load("location_example.json", Location).evses[0].connectors[0]
    assert connector.tariff_ids == ["11"]
    patched = apply_patch(connector, decode_patch(_body('"tariff_ids": ["15"]'), Connector))
    assert patched.tariff_ids == ["15"]


@pytest.mark.parametrize(
    ("type_", "name", "fields", "field"),
    [
        (Token, "token_put_example.json", '"uid": "999"', "uid"),
        (Token, "token_put_example.json", '"country_code": "DE"', "country_code"),
        (Location, "location_example.json", '"id": "LOC2"', "id"),
        (Session, "session_example_1_simple_start.json", '"party_id": "XYZ"', "party_id"),
    ],
)
def test_patch_cannot_change_an_identifier(type_: Any, name: str, fields: str, field: str) -> None:
    with pytest.raises(InvalidField) as caught:
        apply_patch(_load(name, type_), decode_patch(_body(fields), type_))
    assert caught.value.path == field
    assert "cannot be changed" in caught.value.reason


def test_patch_may_repeat_an_identifier_in_other_case() -> None:
    token = _load("token_put_example.json", Token)
    patched = apply_patch(token, decode_patch(_body('"country_code": "nl", "valid": false'), Token))
    assert (patched.country_code, patched.valid) == ("nl", False)


def test_apply_patch_rejects_a_field_the_object_does_not_have() -> None:
    token = _load("token_put_example.json", Token)
    with pytest.raises(InvalidField) as caught:
        apply_patch(token, {"floor": "-1"})
    assert (caught.value.path, caught.value.reason) == ("floor", "unknown field")


def test_apply_patch_checks_the_cross_field_rules_of_the_result() -> None:
    location = _load("location_example_uc4_limited_visibility.json", Location)
    with pytest.raises(InvalidField) as caught:
        apply_patch(location, decode_patch(_body('"publish": true'), Location))
    assert caught.value.path == "body"
    assert "publish_allowed_to may only be used when publish is false" in caught.value.reason


def test_malformed_patch_body_is_reported_as_malformed_json() -> None:
    error = _rejected('{"valid": false,', Token)
    assert isinstance(error, MalformedJson)
    assert error.path == "body"
