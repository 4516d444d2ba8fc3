"""CDR/Session charging periods: a new period wherever the applicable components change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from decimal import Decimal
from itertools import groupby

from sidecar.ocpi.enums import CdrDimensionType
from sidecar.ocpi.sessions import CdrDimension, ChargingPeriod
from sidecar.ocpi.types import number
from sidecar.pricing._restrictions import Active, Assessed
from sidecar.pricing._result import ZERO
from sidecar.pricing._timeline import SECONDS_PER_HOUR


def _index(found: Active | None) -> int | None:
    return None if found is None else found.element_index


def _key(item: Assessed) -> tuple[bool, int | None, int | None]:
    return item.piece.charging, _index(item.energy), _index(item.time)


def _whole_second(instant: datetime) -> datetime:
    return instant.astimezone(UTC).replace(microsecond=0)


def _range(
    values: list[Decimal], low: CdrDimensionType, high: CdrDimensionType
) -> list[CdrDimension]:
    if not values:
        return []
    return [
        CdrDimension(type=low, volume=number(min(values))),
        CdrDimension(type=high, volume=number(max(values))),
    ]


def _dimensions(group: Sequence[Assessed], reservation: bool) -> list[CdrDimension]:
    hours = sum((item.piece.seconds for item in group), ZERO) / SECONDS_PER_HOUR
    if reservation:
        return [CdrDimension(type=CdrDimensionType.RESERVATION_TIME, volume=number(hours))]
    energy = sum((item.piece.energy for item in group), ZERO)
    charging = group[0].piece.charging
    found = []
    if charging or energy:
        found.append(CdrDimension(type=CdrDimensionType.ENERGY, volume=number(energy)))
    time_type = CdrDimensionType.TIME if charging else CdrDimensionType.PARKING_TIME
    found.append(CdrDimension(type=time_type, volume=number(hours)))
    powers = [item.piece.power for item in group if item.piece.power is not None]
    currents = [item.piece.current for item in group if item.piece.current is not None]
    found += _range(powers, CdrDimensionType.MIN_POWER, CdrDimensionType.MAX_POWER)
    found += _range(currents, CdrDimensionType.MIN_CURRENT, CdrDimensionType.MAX_CURRENT)
    return found


def charging_periods(
    assessed: Sequence[Assessed], tariff_id: str, *, reservation: bool
) -> list[ChargingPeriod]:
    """One period per run of slices with the same state and the same active components."""
    periods = []
    for _, run in groupby(assessed, key=_key):
        group = list(run)
        periods.append(
            ChargingPeriod(
                start_date_time=_whole_second(group[0].piece.start),
                dimensions=_dimensions(group, reservation),
                tariff_id=tariff_id,
            )
        )
    return periods
