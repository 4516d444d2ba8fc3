"""ChargingProfiles module objects (mod_charging_profiles.asciidoc)."""

from __future__ import annotations

from decimal import Decimal

from sidecar.ocpi.enums import (
    ChargingProfileResponseType,
    ChargingProfileResultType,
    ChargingRateUnit,
)
from sidecar.ocpi.types import URL, DateTime, Struct


def _check_one_decimal(name: str, value: Decimal | None) -> None:
    # The spec: "Accepts at most one digit fraction (e.g. 8.1)"; 8.10 is still 8.1.
    if value is None:
        return
    if not value.is_finite():
        raise ValueError(f"{name} must be a finite number, got {value}")
    if _fraction_digits(value) > 1:
        raise ValueError(f"{name} accepts at most one digit fraction, got {value}")


def _fraction_digits(value: Decimal) -> int:
    # Exact, without rounding to the decimal context: 8.10 has one, 1E+400 none.
    _, digits, exponent = value.as_tuple()
    if value.is_zero() or not isinstance(exponent, int):
        return 0
    trailing_zeros = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing_zeros))


class ChargingProfilePeriod(Struct, frozen=True, kw_only=True):
    """A limit from `start_period` seconds after the profile start until the next period."""

    start_period: int
    limit: Decimal

    def __post_init__(self) -> None:
        _check_one_decimal("limit", self.limit)


class ChargingProfile(Struct, frozen=True, kw_only=True):
    """Maximum power or current over time; without `start_date_time` relative to charging start."""

    start_date_time: DateTime | None = None
    duration: int | None = None
    charging_rate_unit: ChargingRateUnit
    min_charging_rate: Decimal | None = None
    charging_profile_period: list[ChargingProfilePeriod] | None = None

    def __post_init__(self) -> None:
        _check_one_decimal("min_charging_rate", self.min_charging_rate)


class ActiveChargingProfile(Struct, frozen=True, kw_only=True):
    """The profile the charger computed at `start_date_time`; offsets are relative to it."""

    start_date_time: DateTime
    charging_profile: ChargingProfile


class SetChargingProfile(Struct, frozen=True, kw_only=True):
    """Body of PUT chargingprofiles/{session_id}."""

    charging_profile: ChargingProfile
    response_url: URL


class ChargingProfileResponse(Struct, frozen=True, kw_only=True):
    """The CPO's synchronous answer to GET, PUT or DELETE; `timeout` in seconds."""

    result: ChargingProfileResponseType
    timeout: int


class ActiveChargingProfileResult(Struct, frozen=True, kw_only=True):
    """Result of a GET, POSTed to `response_url`; carries the profile when ACCEPTED."""

    result: ChargingProfileResultType
    profile: ActiveChargingProfile | None = None

    def __post_init__(self) -> None:
        if self.result == ChargingProfileResultType.ACCEPTED and self.profile is None:
            raise ValueError("profile is required when result is ACCEPTED")


class ChargingProfileResult(Struct, frozen=True, kw_only=True):
    """Result of a PUT (set profile), POSTed to `response_url`."""

    result: ChargingProfileResultType


class ClearProfileResult(Struct, frozen=True, kw_only=True):
    """Result of a DELETE (clear profile), POSTed to `response_url`."""

    result: ChargingProfileResultType
