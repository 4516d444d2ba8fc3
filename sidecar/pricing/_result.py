"""What the engine returns: billed quantities, costs, totals and the charging periods."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_EVEN, ROUND_HALF_UP, Decimal, localcontext
from typing import TypedDict

from sidecar.ocpi.enums import TariffDimensionType
from sidecar.ocpi.sessions import ChargingPeriod
from sidecar.ocpi.tariffs import PriceComponent
from sidecar.ocpi.types import Price, number

ZERO = Decimal(0)


def plain(value: Decimal) -> Decimal:
    """A reported quantity: at most 28 significant digits, no trailing zeros, no exponent."""
    with localcontext(prec=28):
        value = +value
    if value == value.to_integral_value():
        return value.quantize(Decimal(1))
    return value.normalize()


def money(value: Decimal, places: int | None) -> Decimal:
    """A reported cost: rounded half up to `places` decimals (None: to 4, the most an OCPI
    number carries).

    Sums of inexact parts (thirds of an hour) carry noise in the 40th digit; it is cleared
    at 20 decimals first so that it cannot decide a half-way rounding.
    """
    value = value.quantize(Decimal("1e-20"), rounding=ROUND_HALF_EVEN)
    if places is None:
        return number(value)
    return value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)


@dataclass(frozen=True, slots=True)
class CostLine:
    """What one price component billed, before rounding (28 significant digits).

    `quantity` is in the component's unit after step_size: kWh (ENERGY), hours (TIME,
    PARKING_TIME, and reservation TIME) or 1 (FLAT). `incl_vat` equals `excl_vat` when the
    component has no `vat` (the spec: no VAT is applicable).
    """

    dimension: TariffDimensionType
    element_index: int
    component: PriceComponent
    quantity: Decimal
    excl_vat: Decimal
    incl_vat: Decimal
    reservation: bool = False


@dataclass(frozen=True, slots=True)
class DimensionCost:
    """A dimension's billed quantity (unit as in CostLine) and its rounded cost."""

    quantity: Decimal
    cost: Price


class CdrCosts(TypedDict):
    """The cost fields of a CDR, ready to unpack into `CDR(**costs, ...)`."""

    currency: str
    charging_periods: list[ChargingPeriod]
    total_cost: Price
    total_fixed_cost: Price
    total_energy: Decimal
    total_energy_cost: Price
    total_time: Decimal
    total_time_cost: Price
    total_parking_time: Decimal
    total_parking_cost: Price
    total_reservation_cost: Price | None


@dataclass(frozen=True, slots=True)
class PricedSession:
    """The priced session: per-dimension results, totals, lines and charging periods.

    `start_date_time` is the reservation's start when there is one, else the session's.
    `total_time` and `total_parking_time` are hours of the charging session (reservation
    time is `total_reservation_time`). `total_cost` is the sum of the rounded dimension
    costs, then bounded by the tariff's min_price/max_price (excl. and incl. VAT apart).
    """

    tariff_id: str
    currency: str
    start_date_time: datetime
    end_date_time: datetime
    energy: DimensionCost
    flat: DimensionCost
    time: DimensionCost
    parking_time: DimensionCost
    reservation_flat: DimensionCost
    reservation_time: DimensionCost
    total_cost: Price
    total_energy: Decimal
    total_time: Decimal
    total_parking_time: Decimal
    total_reservation_time: Decimal
    charging_periods: tuple[ChargingPeriod, ...]
    lines: tuple[CostLine, ...]
    has_reservation: bool
    min_price_applied: bool
    max_price_applied: bool

    @property
    def total_fixed_cost(self) -> Price:
        """FLAT of the charging session (the CDR excludes reservation fixed costs here)."""
        return self.flat.cost

    @property
    def total_energy_cost(self) -> Price:
        return self.energy.cost

    @property
    def total_time_cost(self) -> Price:
        return self.time.cost

    @property
    def total_parking_cost(self) -> Price:
        return self.parking_time.cost

    @property
    def total_reservation_cost(self) -> Price | None:
        """Reservation FLAT plus reservation TIME; None when there was no reservation."""
        if not self.has_reservation:
            return None
        return add(self.reservation_flat.cost, self.reservation_time.cost)

    def cdr_costs(self) -> CdrCosts:
        """The CDR fields this result fills."""
        return CdrCosts(
            currency=self.currency,
            charging_periods=list(self.charging_periods),
            total_cost=self.total_cost,
            total_fixed_cost=self.total_fixed_cost,
            total_energy=self.total_energy,
            total_energy_cost=self.total_energy_cost,
            total_time=self.total_time,
            total_time_cost=self.total_time_cost,
            total_parking_time=self.total_parking_time,
            total_parking_cost=self.total_parking_cost,
            total_reservation_cost=self.total_reservation_cost,
        )


def add(*prices: Price) -> Price:
    """Sum of prices; incl_vat is unknown (None) as soon as one part's is."""
    excl = sum((p.excl_vat for p in prices), ZERO)
    parts = [p.incl_vat for p in prices]
    incl = None if any(v is None for v in parts) else sum((v for v in parts if v is not None), ZERO)
    return Price(excl_vat=excl, incl_vat=incl)
