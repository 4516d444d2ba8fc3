"""The pricing engine: step_size, VAT, per-dimension totals, min/max price, the result."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, timedelta, tzinfo
from decimal import ROUND_CEILING, Context, Decimal, localcontext

from sidecar.ocpi.enums import TariffDimensionType as Dimension
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import Price, number
from sidecar.pricing._inputs import (
    MeteredInterval,
    PricingError,
    Reservation,
    check_inputs,
    zone_of,
)
from sidecar.pricing._periods import charging_periods
from sidecar.pricing._restrictions import (
    Active,
    Assessed,
    assess,
    reservation_elements,
    session_elements,
)
from sidecar.pricing._result import (
    ZERO,
    CostLine,
    DimensionCost,
    PricedSession,
    add,
    money,
    plain,
)
from sidecar.pricing._timeline import SECONDS_PER_HOUR, Boundaries, cut

# Enough digits that splitting intervals and summing never disturb a quantity at 1e-12.
WORKING = Context(prec=40)
# Splitting leaves noise far below this; it must not push a ceiling up by a whole step.
NOISE = Decimal("1e-12")
WH_PER_KWH = Decimal(1000)
TIME_DIMENSIONS = frozenset({Dimension.TIME, Dimension.PARKING_TIME})


@dataclass(slots=True)
class _Segment:
    """A billed slice of one dimension; quantity in kWh (ENERGY) or seconds (time)."""

    dimension: Dimension
    active: Active
    quantity: Decimal


def _segments(assessed: Sequence[Assessed]) -> tuple[list[_Segment], Active | None]:
    segments: list[_Segment] = []
    flat: Active | None = None
    for item in assessed:
        if item.energy is not None and item.piece.energy:
            segments.append(_Segment(Dimension.ENERGY, item.energy, item.piece.energy))
        if item.time is not None:
            segments.append(_Segment(item.time_dimension, item.time, item.piece.seconds))
        if flat is None:
            flat = item.flat
    return segments, flat


def _round_up(segments: list[_Segment], family: frozenset[Dimension], per_unit: Decimal) -> None:
    """Apply step_size once: to the session total of the dimension billed last in `family`.

    The step_size is that of the last billed component; the rounded-up extra is billed at
    that component's price (mod_cdrs "step_size", mod_tariffs tariff_14 examples).
    """
    last = next((s for s in reversed(segments) if s.dimension in family), None)
    if last is None or last.active.component.step_size <= 0:
        return
    step = Decimal(last.active.component.step_size)
    total = sum((s.quantity for s in segments if s.dimension == last.dimension), ZERO)
    steps = (total.quantize(NOISE) * per_unit / step).to_integral_value(rounding=ROUND_CEILING)
    last.quantity += steps * step / per_unit - total


def _line(dimension: Dimension, found: Active, native: Decimal, reservation: bool) -> CostLine:
    """A component's cost; `native` is kWh, seconds or 1. One division per figure, so a
    cost that is a terminating decimal (1/3 h at 0.15 = 0.05) comes out exact."""
    component = found.component
    per = SECONDS_PER_HOUR if dimension in TIME_DIMENSIONS else Decimal(1)
    excl = component.price * native / per
    incl = excl
    if component.vat is not None:
        incl = component.price * (100 + component.vat) * native / (per * 100)
    quantity = plain(native / per)
    return CostLine(
        dimension, found.element_index, component, quantity, plain(excl), plain(incl), reservation
    )


def _bill(assessed: Sequence[Assessed], *, reservation: bool) -> list[CostLine]:
    """Cost lines of one timeline: FLAT once, then each (dimension, element) in order of use."""
    segments, flat = _segments(assessed)
    _round_up(segments, frozenset({Dimension.ENERGY}), WH_PER_KWH)
    _round_up(segments, TIME_DIMENSIONS, Decimal(1))
    lines = [] if flat is None else [_line(Dimension.FLAT, flat, Decimal(1), reservation)]
    grouped: dict[tuple[Dimension, int], tuple[Active, Decimal]] = {}
    for segment in segments:
        key = (segment.dimension, segment.active.element_index)
        _, before = grouped.get(key, (segment.active, ZERO))
        grouped[key] = (segment.active, before + segment.quantity)
    for (dimension, _), (found, quantity) in grouped.items():
        lines.append(_line(dimension, found, quantity, reservation))
    return lines


def _dimension(
    lines: Sequence[CostLine], dimension: Dimension, reservation: bool, places: int | None
) -> DimensionCost:
    chosen = [x for x in lines if x.dimension == dimension and x.reservation == reservation]
    return DimensionCost(
        quantity=plain(sum((x.quantity for x in chosen), ZERO)),
        cost=Price(
            excl_vat=money(sum((x.excl_vat for x in chosen), ZERO), places),
            incl_vat=money(sum((x.incl_vat for x in chosen), ZERO), places),
        ),
    )


def _bounded(total: Price, tariff: Tariff) -> tuple[Price, bool, bool]:
    """min_price and max_price bound the total, excl. and incl. VAT each on its own."""
    excl, incl = total.excl_vat, total.incl_vat
    raised = lowered = False
    low, high = tariff.min_price, tariff.max_price
    if low is not None:
        if excl < low.excl_vat:
            excl, raised = low.excl_vat, True
        if low.incl_vat is not None and incl is not None and incl < low.incl_vat:
            incl, raised = low.incl_vat, True
    if high is not None:
        if excl > high.excl_vat:
            excl, lowered = high.excl_vat, True
        if high.incl_vat is not None and incl is not None and incl > high.incl_vat:
            incl, lowered = high.incl_vat, True
    return Price(excl_vat=excl, incl_vat=incl), raised, lowered


def _required(reservation: Reservation | None) -> Reservation:
    if reservation is None:
        raise PricingError("nothing to price")
    return reservation


def _hours(delta: timedelta) -> Decimal:
    return plain(Decimal(delta // timedelta(microseconds=1)) / (SECONDS_PER_HOUR * 1_000_000))


def price_session(
    tariff: Tariff,
    time_zone: str | tzinfo,
    intervals: Sequence[MeteredInterval],
    *,
    reservation: Reservation | None = None,
    cost_places: int | None = 4,
) -> PricedSession:
    """Price a charging session (and/or its reservation) with an OCPI 2.2.1 tariff.

    `time_zone` is the location's (IANA name or tzinfo); restrictions on time of day, date
    and weekday are read in it. `intervals` follow each other without gaps; empty only for
    an expired reservation. Costs are rounded half up to `cost_places` decimals, once per
    reported figure (None: not rounded). Raises PricingError for input it cannot price.
    A running session can be priced too: step_size then applies as if it ended now.
    """
    check_inputs(intervals, reservation)
    if cost_places is not None and cost_places < 0:
        raise PricingError("cost_places must be zero or more")
    zone = zone_of(time_zone)
    with localcontext(WORKING):
        return _price(tariff, zone, intervals, reservation, cost_places)


def _timelines(
    tariff: Tariff,
    zone: tzinfo,
    intervals: Sequence[MeteredInterval],
    reservation: Reservation | None,
) -> tuple[list[Assessed], list[Assessed]]:
    bounds = Boundaries.of(tariff.elements)
    booked: list[Assessed] = []
    if reservation is not None:
        span = MeteredInterval(reservation.start, reservation.end, ZERO)
        candidates = reservation_elements(tariff.elements, reservation.expired)
        booked = assess(cut([span], reservation.start, zone, bounds), candidates)
    session: list[Assessed] = []
    if intervals:
        slices = cut(intervals, intervals[0].start, zone, bounds)
        session = assess(slices, session_elements(tariff.elements))
    return booked, session


def _price(
    tariff: Tariff,
    zone: tzinfo,
    intervals: Sequence[MeteredInterval],
    reservation: Reservation | None,
    places: int | None,
) -> PricedSession:
    booked, session = _timelines(tariff, zone, intervals, reservation)
    lines = _bill(booked, reservation=True) + _bill(session, reservation=False)
    energy = _dimension(lines, Dimension.ENERGY, False, places)
    flat = _dimension(lines, Dimension.FLAT, False, places)
    time = _dimension(lines, Dimension.TIME, False, places)
    parking = _dimension(lines, Dimension.PARKING_TIME, False, places)
    booking_flat = _dimension(lines, Dimension.FLAT, True, places)
    booking_time = _dimension(lines, Dimension.TIME, True, places)
    subtotal = add(energy.cost, flat.cost, time.cost, parking.cost)
    subtotal = add(subtotal, booking_flat.cost, booking_time.cost)
    # A reservation that never became a charging session is not bounded by min/max_price.
    total, raised, lowered = _bounded(subtotal, tariff) if intervals else (subtotal, False, False)
    periods = charging_periods(booked, tariff.id, reservation=True)
    periods += charging_periods(session, tariff.id, reservation=False)
    start = (reservation.start if reservation is not None else intervals[0].start).astimezone(UTC)
    end = (intervals[-1].end if intervals else _required(reservation).end).astimezone(UTC)
    parked = sum((i.end - i.start for i in intervals if not i.charging), timedelta())
    return PricedSession(
        tariff_id=tariff.id,
        currency=tariff.currency,
        start_date_time=start,
        end_date_time=end,
        energy=energy,
        flat=flat,
        time=time,
        parking_time=parking,
        reservation_flat=booking_flat,
        reservation_time=booking_time,
        total_cost=total,
        total_energy=number(sum((i.energy_kwh for i in intervals), ZERO)),
        total_time=number(_hours(intervals[-1].end - intervals[0].start)) if intervals
        else ZERO,
        total_parking_time=number(_hours(parked)),
        total_reservation_time=(
            number(_hours(reservation.end - reservation.start)) if reservation is not None
            else ZERO
        ),
        charging_periods=tuple(periods),
        lines=tuple(lines),
        has_reservation=reservation is not None,
        min_price_applied=raised,
        max_price_applied=lowered,
    )
