"""Tariffs module objects (mod_tariffs.asciidoc)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from sidecar.ocpi.enums import (
    DayOfWeek,
    ReservationRestrictionType,
    TariffDimensionType,
    TariffType,
)
from sidecar.ocpi.locations import EnergyMix
from sidecar.ocpi.types import (
    URL,
    CiString2,
    CiString3,
    CiString36,
    DateTime,
    DisplayText,
    HourMinute,
    LocalDate,
    Price,
    String3,
    Struct,
)

# A reservation element may only price these dimensions (TIME = duration of the reservation).
RESERVATION_DIMENSIONS = frozenset({TariffDimensionType.FLAT, TariffDimensionType.TIME})


class PriceComponent(Struct, frozen=True, kw_only=True):
    """Price per unit of one dimension, excl. VAT; `vat` absent means no VAT (not 0 %)."""

    type: TariffDimensionType
    price: Decimal
    vat: Decimal | None = None
    step_size: int


class TariffRestrictions(Struct, frozen=True, kw_only=True):
    """When an element applies; all set restrictions must match. Times are local to the site."""

    start_time: HourMinute | None = None
    end_time: HourMinute | None = None
    start_date: LocalDate | None = None
    end_date: LocalDate | None = None
    min_kwh: Decimal | None = None
    max_kwh: Decimal | None = None
    min_current: Decimal | None = None
    max_current: Decimal | None = None
    min_power: Decimal | None = None
    max_power: Decimal | None = None
    min_duration: int | None = None
    max_duration: int | None = None
    day_of_week: list[DayOfWeek] | None = None
    reservation: ReservationRestrictionType | None = None


class TariffElement(Struct, frozen=True, kw_only=True):
    """Price components that apply together under the same restrictions."""

    price_components: Annotated[list[PriceComponent], msgspec.Meta(min_length=1)]
    restrictions: TariffRestrictions | None = None

    def __post_init__(self) -> None:
        if self.restrictions is None or self.restrictions.reservation is None:
            return
        for component in self.price_components:
            if component.type not in RESERVATION_DIMENSIONS:
                raise ValueError(
                    f"a reservation element may only price FLAT and TIME, not {component.type}"
                )


class Tariff(Struct, frozen=True, kw_only=True):
    """A tariff; elements are evaluated in order, the first match per dimension applies."""

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    currency: String3
    type: TariffType | None = None
    tariff_alt_text: list[DisplayText] | None = None
    tariff_alt_url: URL | None = None
    min_price: Price | None = None
    max_price: Price | None = None
    elements: Annotated[list[TariffElement], msgspec.Meta(min_length=1)]
    start_date_time: DateTime | None = None
    end_date_time: DateTime | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime
