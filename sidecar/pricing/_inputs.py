"""What the engine prices: metered intervals of a session and an optional reservation."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


class PricingError(ValueError):
    """The input cannot be priced (naive times, gaps, floats, an unknown time zone...)."""


@dataclass(frozen=True, slots=True)
class MeteredInterval:
    """One stretch [start, end) of a charging session in which the state is constant.

    `energy_kwh` is the energy transferred in the interval; the engine assumes it flowed at a
    constant rate, so a restriction boundary inside the interval splits it proportionally.
    `charging=False` means the vehicle did not request power: OCPI's PARKING_TIME.
    `power_kw` and `current_a` (summed over phases) are the values observed in the interval;
    None when not measured.
    """

    start: datetime
    end: datetime
    energy_kwh: Decimal
    charging: bool = True
    power_kw: Decimal | None = None
    current_a: Decimal | None = None


@dataclass(frozen=True, slots=True)
class Reservation:
    """A reservation [start, end): from when it was made until charging began or it expired.

    `expired=True`: the reservation ran out without a charging session (RESERVATION_EXPIRES).
    """

    start: datetime
    end: datetime
    expired: bool = False


def zone_of(time_zone: str | tzinfo) -> tzinfo:
    """The location's time zone; a string is an IANA name such as "Europe/Amsterdam"."""
    if not isinstance(time_zone, str):
        return time_zone
    try:
        return ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError):
        raise PricingError(f"unknown time zone {time_zone!r}") from None


def _check_span(name: str, start: datetime, end: datetime) -> None:
    if start.tzinfo is None or end.tzinfo is None:
        raise PricingError(f"{name}: start and end must be aware datetimes")
    if end <= start:
        raise PricingError(f"{name}: end {end.isoformat()} is not after start {start.isoformat()}")


def _check_decimal(name: str, value: object, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, Decimal) or not value.is_finite():
        raise PricingError(f"{name} must be a finite Decimal, not {value!r}")


def check_inputs(intervals: Sequence[MeteredInterval], reservation: Reservation | None) -> None:
    """Reject what the engine cannot price; intervals must follow each other without gaps."""
    if not intervals and reservation is None:
        raise PricingError("nothing to price: no intervals and no reservation")
    if reservation is not None:
        _check_span("reservation", reservation.start, reservation.end)
        if reservation.expired and intervals:
            raise PricingError("an expired reservation is not followed by a charging session")
    for index, interval in enumerate(intervals):
        name = f"intervals[{index}]"
        _check_span(name, interval.start, interval.end)
        _check_decimal(f"{name}.energy_kwh", interval.energy_kwh)
        if interval.energy_kwh < 0:
            raise PricingError(f"{name}.energy_kwh: energy fed back to the grid is not priced")
        _check_decimal(f"{name}.power_kw", interval.power_kw, optional=True)
        _check_decimal(f"{name}.current_a", interval.current_a, optional=True)
        if index and interval.start != intervals[index - 1].end:
            kind = "a gap" if interval.start > intervals[index - 1].end else "an overlap"
            raise PricingError(f"{name} does not start where intervals[{index - 1}] ends: {kind}")
