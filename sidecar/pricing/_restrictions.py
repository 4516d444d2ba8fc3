"""Whether a TariffRestrictions matches a slice (all set fields must match: logical AND)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from sidecar.ocpi.enums import DayOfWeek, ReservationRestrictionType, TariffDimensionType
from sidecar.ocpi.tariffs import PriceComponent, TariffElement, TariffRestrictions
from sidecar.pricing._timeline import Slice

DAY = 24 * 3600
WEEKDAYS = tuple(DayOfWeek)  # MONDAY first, like date.weekday()


def _seconds(hhmm: str) -> int:
    return int(hhmm[:2]) * 3600 + int(hhmm[3:]) * 60


def in_time_window(start: str | None, end: str | None, local: datetime) -> bool:
    """Local time in [start, end); end before start wraps past midnight, end 00:00 = 24:00.

    start equal to end (other than both absent) is read as the whole day.
    """
    if start is None and end is None:
        return True
    now = local.hour * 3600 + local.minute * 60 + local.second
    begin = 0 if start is None else _seconds(start)
    finish = DAY if end is None or _seconds(end) == 0 else _seconds(end)
    if begin < finish:
        return begin <= now < finish
    if begin == finish:
        return True
    return now >= begin or now < finish


def _in_dates(start: str | None, end: str | None, day: date) -> bool:
    if start is not None and day < date.fromisoformat(start):
        return False
    return end is None or day < date.fromisoformat(end)


def _within(value: Decimal | None, low: Decimal | int | None, high: Decimal | int | None) -> bool:
    """low <= value < high, for each bound that is set; an unknown value matches no bound."""
    if low is None and high is None:
        return True
    if value is None:
        return False
    return (low is None or value >= low) and (high is None or value < high)


def matches(restrictions: TariffRestrictions | None, piece: Slice) -> bool:
    """True when every restriction that is set holds for the slice (reservation aside)."""
    r = restrictions
    if r is None:
        return True
    local = piece.local
    return (
        in_time_window(r.start_time, r.end_time, local)
        and _in_dates(r.start_date, r.end_date, local.date())
        and (not r.day_of_week or WEEKDAYS[local.weekday()] in r.day_of_week)
        and _within(piece.kwh, r.min_kwh, r.max_kwh)
        and _within(piece.current, r.min_current, r.max_current)
        and _within(piece.average_power, r.min_power, r.max_power)
        and _within(piece.elapsed, r.min_duration, r.max_duration)
    )


Candidates = Sequence[tuple[int, TariffElement]]


def session_elements(elements: Sequence[TariffElement]) -> Candidates:
    """Elements that price a charging session: those without a reservation restriction."""
    return [
        (index, element)
        for index, element in enumerate(elements)
        if element.restrictions is None or element.restrictions.reservation is None
    ]


def reservation_elements(elements: Sequence[TariffElement], expired: bool) -> Candidates:
    """Elements that price a reservation; for an expired one RESERVATION_EXPIRES comes first."""

    def marked(kind: ReservationRestrictionType) -> list[tuple[int, TariffElement]]:
        return [
            (index, element)
            for index, element in enumerate(elements)
            if element.restrictions is not None and element.restrictions.reservation == kind
        ]

    chosen = marked(ReservationRestrictionType.RESERVATION)
    if expired:
        chosen = marked(ReservationRestrictionType.RESERVATION_EXPIRES) + chosen
    return chosen


@dataclass(frozen=True, slots=True)
class Active:
    """The price component that applies to a dimension, and the index of its element."""

    element_index: int
    component: PriceComponent


@dataclass(frozen=True, slots=True)
class Assessed:
    """A slice with the component active per dimension (None: that dimension is free)."""

    piece: Slice
    energy: Active | None
    time: Active | None
    flat: Active | None

    @property
    def time_dimension(self) -> TariffDimensionType:
        """TIME while charging (or reserved), PARKING_TIME while the vehicle requests none."""
        return TariffDimensionType.TIME if self.piece.charging else TariffDimensionType.PARKING_TIME


def active(candidates: Candidates, dimension: TariffDimensionType, piece: Slice) -> Active | None:
    """The first element, in list order, with a component of `dimension` that matches."""
    for index, element in candidates:
        for component in element.price_components:
            if component.type == dimension:
                if matches(element.restrictions, piece):
                    return Active(index, component)
                break
    return None


def assess(slices: Sequence[Slice], candidates: Candidates) -> list[Assessed]:
    """Each slice with its active ENERGY, TIME or PARKING_TIME, and FLAT components."""
    found = []
    for piece in slices:
        time_dimension = (
            TariffDimensionType.TIME if piece.charging else TariffDimensionType.PARKING_TIME
        )
        found.append(
            Assessed(
                piece,
                active(candidates, TariffDimensionType.ENERGY, piece),
                active(candidates, time_dimension, piece),
                active(candidates, TariffDimensionType.FLAT, piece),
            )
        )
    return found
