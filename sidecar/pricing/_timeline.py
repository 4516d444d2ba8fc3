"""Cutting a session into slices on which every tariff restriction is constant."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from decimal import ROUND_HALF_EVEN, Decimal

from sidecar.ocpi.tariffs import TariffElement
from sidecar.pricing._inputs import MeteredInterval

MICRO = timedelta(microseconds=1)
MICROS_PER_SECOND = Decimal(1_000_000)
SECONDS_PER_HOUR = Decimal(3600)


@dataclass(frozen=True, slots=True)
class Slice:
    """Part of an interval with no restriction boundary inside; predicates use its midpoint."""

    start: datetime
    seconds: Decimal
    energy: Decimal
    charging: bool
    power: Decimal | None
    current: Decimal | None
    local: datetime
    elapsed: Decimal
    kwh: Decimal

    @property
    def average_power(self) -> Decimal:
        """kW: the observed power, else the energy of the slice over its duration."""
        if self.power is not None:
            return self.power
        return self.energy * SECONDS_PER_HOUR / self.seconds


@dataclass(frozen=True, slots=True)
class Boundaries:
    """Where restrictions of a tariff can start or stop matching."""

    minutes: frozenset[int]
    durations: frozenset[int]
    kwh: frozenset[Decimal]
    local: bool

    @classmethod
    def of(cls, elements: Iterable[TariffElement]) -> Boundaries:
        minutes: set[int] = {0}
        durations: set[int] = set()
        kwh: set[Decimal] = set()
        local = False
        for element in elements:
            r = element.restrictions
            if r is None:
                continue
            for hhmm in (r.start_time, r.end_time):
                if hhmm is not None:
                    minutes.add(int(hhmm[:2]) * 60 + int(hhmm[3:]))
            durations.update(d for d in (r.min_duration, r.max_duration) if d is not None)
            kwh.update(k for k in (r.min_kwh, r.max_kwh) if k is not None)
            dated = (r.start_time, r.end_time, r.start_date, r.end_date, r.day_of_week)
            local = local or any(value is not None for value in dated)
        return cls(frozenset(minutes), frozenset(durations), frozenset(kwh), local)


def _micros(delta: timedelta) -> int:
    return delta // MICRO


def _offset(instant: datetime, zone: tzinfo) -> timedelta | None:
    return instant.astimezone(zone).utcoffset()


def _offset_change(day: date, zone: tzinfo) -> datetime | None:
    """The instant the UTC offset changes on this local day (DST), if it does."""
    low = datetime.combine(day, time(), zone).astimezone(UTC)
    high = datetime.combine(day + timedelta(days=1), time(), zone).astimezone(UTC)
    after = _offset(high - timedelta(seconds=1), zone)
    if _offset(low, zone) == after:
        return None
    lo, hi = 0, int((high - low).total_seconds())
    while lo < hi:
        middle = (lo + hi) // 2
        if _offset(low + timedelta(seconds=middle), zone) == after:
            hi = middle
        else:
            lo = middle + 1
    return low + timedelta(seconds=lo)


def _local_instants(
    start: datetime, end: datetime, zone: tzinfo, minutes: Iterable[int]
) -> set[datetime]:
    found: set[datetime] = set()
    day = start.astimezone(zone).date() - timedelta(days=1)
    last = end.astimezone(zone).date() + timedelta(days=1)
    while day <= last:
        for minute in minutes:
            for fold in (0, 1):
                wall = datetime.combine(day, time(minute // 60, minute % 60, fold=fold), zone)
                found.add(wall.astimezone(UTC))
        change = _offset_change(day, zone)
        if change is not None:
            found.add(change)
        day += timedelta(days=1)
    return found


def instants(
    start: datetime, end: datetime, origin: datetime, zone: tzinfo, bounds: Boundaries
) -> list[datetime]:
    """Sorted instants strictly inside (start, end) where a restriction may flip."""
    found = {origin + timedelta(seconds=d) for d in bounds.durations}
    if bounds.local:
        found |= _local_instants(start, end, zone, bounds.minutes)
    return sorted(t for t in found if start < t < end)


def _fractions(
    interval: MeteredInterval, cuts: Sequence[datetime], kwh_before: Decimal, bounds: Boundaries
) -> list[Decimal]:
    span = Decimal(_micros(interval.end - interval.start))
    found = {Decimal(0), Decimal(1)}
    found.update(Decimal(_micros(t - interval.start)) / span for t in cuts)
    if interval.energy_kwh:
        for level in bounds.kwh:
            fraction = (level - kwh_before) / interval.energy_kwh
            if 0 < fraction < 1:
                found.add(fraction)
    return sorted(found)


def _at(interval: MeteredInterval, fraction: Decimal) -> datetime:
    """The instant a fraction of the way through the interval, to the nearest microsecond."""
    micros = fraction * _micros(interval.end - interval.start)
    return interval.start + MICRO * int(micros.to_integral_value(rounding=ROUND_HALF_EVEN))


def cut(
    intervals: Sequence[MeteredInterval], origin: datetime, zone: tzinfo, bounds: Boundaries
) -> list[Slice]:
    """The intervals cut at every instant and energy level where a restriction may flip."""
    if not intervals:
        return []
    boundaries = instants(intervals[0].start, intervals[-1].end, origin, zone, bounds)
    slices: list[Slice] = []
    kwh = Decimal(0)
    for interval in intervals:
        inside = boundaries[
            bisect_right(boundaries, interval.start) : bisect_left(boundaries, interval.end)
        ]
        fractions = _fractions(interval, inside, kwh, bounds)
        seconds = Decimal(_micros(interval.end - interval.start)) / MICROS_PER_SECOND
        before = Decimal(_micros(interval.start - origin)) / MICROS_PER_SECOND
        for first, second in zip(fractions, fractions[1:], strict=False):
            middle = (first + second) / 2
            slices.append(
                Slice(
                    start=_at(interval, first),
                    seconds=(second - first) * seconds,
                    energy=(second - first) * interval.energy_kwh,
                    charging=interval.charging,
                    power=interval.power_kw,
                    current=interval.current_a,
                    local=_at(interval, middle).astimezone(zone),
                    elapsed=before + middle * seconds,
                    kwh=kwh + middle * interval.energy_kwh,
                )
            )
        kwh += interval.energy_kwh
    return slices
