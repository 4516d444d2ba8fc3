"""Targeted pricing rules: step_size, restrictions, element order, bounds, time zones, input.

Each expected cost is worked out by hand in a comment. Prices without `vat` have no VAT
applicable, so incl_vat equals excl_vat there (docs/pricing.md).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR, CdrLocation
from sidecar.ocpi.enums import AuthMethod, CdrDimensionType, TariffDimensionType
from sidecar.ocpi.sessions import CdrToken, ChargingPeriod
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import Price
from sidecar.pricing import (
    MeteredInterval,
    PricedSession,
    PricingError,
    Reservation,
    price_session,
)

AMSTERDAM = "Europe/Amsterdam"
NEW_YORK = "America/New_York"
ENERGY, TIME, PARKING, FLAT = "ENERGY", "TIME", "PARKING_TIME", "FLAT"


def component(kind: str, price: str, step: int = 1, vat: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"type": kind, "price": D(price), "step_size": step}
    if vat is not None:
        body["vat"] = D(vat)
    return body


def element(*components: dict[str, Any], **restrictions: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"price_components": list(components)}
    if restrictions:
        body["restrictions"] = restrictions
    return body


def tariff(*elements: dict[str, Any], **extra: Any) -> Tariff:
    body = {
        "country_code": "NL",
        "party_id": "CPO",
        "id": "T1",
        "currency": "EUR",
        "elements": list(elements),
        "last_updated": "2024-01-01T00:00:00Z",
        **extra,
    }
    return codec.decode(codec.encode(body), Tariff)


def wall(zone: str, year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(zone)).astimezone(UTC)


def ams(day: int, hour: int, minute: int = 0, month: int = 1) -> datetime:
    """Amsterdam wall time in 2024 (January: UTC+1). 2024-01-12 is a Friday."""
    return wall(AMSTERDAM, 2024, month, day, hour, minute)


def stretch(
    start: datetime,
    minutes: int,
    kwh: str = "0",
    *,
    charging: bool = True,
    power: str | None = None,
    current: str | None = None,
) -> MeteredInterval:
    return MeteredInterval(
        start,
        start + timedelta(minutes=minutes),
        D(kwh),
        charging=charging,
        power_kw=None if power is None else D(power),
        current_a=None if current is None else D(current),
    )


def chain(
    start: datetime, *parts: tuple[int, str] | tuple[int, str, bool]
) -> list[MeteredInterval]:
    """Back-to-back intervals from (minutes, kWh[, charging])."""
    intervals = []
    for part in parts:
        minutes, kwh = part[0], part[1]
        charging = part[2] if len(part) == 3 else True
        intervals.append(stretch(start, minutes, kwh, charging=charging))
        start = intervals[-1].end
    return intervals


def price(excl: str, incl: str | None = None) -> Price:
    return Price(excl_vat=D(excl), incl_vat=D(incl if incl is not None else excl))


def lines(result: PricedSession, kind: str) -> list[tuple[int, D, D]]:
    """(element index, quantity, excl_vat) of each cost line of a dimension."""
    dimension = TariffDimensionType(kind)
    return [
        (x.element_index, x.quantity, x.excl_vat) for x in result.lines if x.dimension == dimension
    ]


def starts(result: PricedSession) -> list[datetime]:
    return [p.start_date_time for p in result.charging_periods]


def volumes(period: ChargingPeriod) -> dict[CdrDimensionType, D]:
    return {d.type: d.volume for d in period.dimensions}


# --- step_size ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "wh_billed", "exact"),
    [(1, 116, "0.029"), (25, 125, "0.03125"), (500, 500, "0.125")],
)
def test_step_size_energy_spec_numbers(step: int, wh_billed: int, exact: str) -> None:
    priced = tariff(element(component(ENERGY, "0.25", step)))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (5, "0.1152")))
    # 115.2 Wh rounded up to a multiple of step: 116 / 125 / 500 Wh × 0.25 €/kWh.
    assert result.energy.quantity == D(wh_billed) / 1000
    assert lines(result, ENERGY) == [(0, D(wh_billed) / 1000, D(exact))]


def test_step_size_25_in_cents_of_a_tenth() -> None:
    priced = tariff(element(component(ENERGY, "0.25", 25)))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (5, "0.1152")), cost_places=3)
    # 125 Wh × 0.25 = 0.03125 → 0.031 at 3 decimals (the spec's € 0.031).
    assert str(result.total_cost.excl_vat) == "0.031"


def test_step_size_applies_to_the_energy_total_not_the_last_period() -> None:
    priced = tariff(
        element(component(ENERGY, "0.20", 500), start_time="00:00", end_time="17:00"),
        element(component(ENERGY, "0.27", 500)),
    )
    intervals = chain(ams(15, 16), (60, "4.3"), (30, "1.1"))
    result = price_session(priced, AMSTERDAM, intervals)
    # 4.3 + 1.1 = 5.4 kWh → 5.5 total; after 17:00 1.2 kWh billed (not 1.5).
    # 4.3 × 0.20 = 0.86; 1.2 × 0.27 = 0.324; total 1.184.
    assert lines(result, ENERGY) == [(0, D("4.3"), D("0.86")), (1, D("1.2"), D("0.324"))]
    assert result.total_cost == price("1.184")


def test_step_size_applies_to_the_time_total_with_the_last_components_price() -> None:
    priced = tariff(
        element(component(TIME, "5", 600), start_time="00:00", end_time="17:00"),
        element(component(TIME, "7", 600)),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 16, 54), (28, "3")))
    # 6 min before 17:00, 22 after: 28 → 30 min; 24 min after 17:00 billed.
    # 6/60 × 5 = 0.50; 24/60 × 7 = 2.80; total 3.30.
    assert result.total_cost == price("3.30")
    assert result.time.quantity == D("0.5")


def test_step_size_charging_then_parking_rounds_parking_only() -> None:
    priced = tariff(element(component(TIME, "1.00", 600), component(PARKING, "2.00", 600)))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (21, "4"), (16, "0", False)))
    # Charging 21 min not rounded: 21/60 × 1.00 = 0.35. Parking 16 → 20 min: 20/60 × 2.00 =
    # 0.6666… → 0.6667. Total 0.35 + 0.6667 = 1.0167.
    assert result.time.quantity == D("0.35")
    assert result.parking_time.quantity == D(20) / D(60)
    assert result.total_cost == price("1.0167")


def test_step_size_five_minutes_21_charging_7_parking() -> None:
    priced = tariff(element(component(TIME, "6.00", 300), component(PARKING, "6.00", 300)))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (21, "4"), (7, "0", False)))
    # mod_cdrs: charging stays 21 min (2.10), parking 7 → 10 min (1.00). Total 3.10.
    assert result.time.cost == price("2.10")
    assert result.parking_time.cost == price("1.00")
    assert result.total_cost == price("3.10")


def test_step_size_parking_in_between_rounds_the_time_billed_last() -> None:
    priced = tariff(element(component(TIME, "1.20", 900), component(PARKING, "2.40", 900)))
    intervals = chain(ams(15, 10), (10, "2"), (5, "0", False), (10, "2"))
    result = price_session(priced, AMSTERDAM, intervals)
    # Last time-based component billed is TIME: 20 min charging → 30 min × 1.20/h = 0.60;
    # the 5 min of parking are not rounded: 5/60 × 2.40 = 0.20. Total 0.80.
    assert result.time.cost == price("0.60")
    assert result.parking_time.cost == price("0.20")
    assert result.total_cost == price("0.80")


def test_step_size_of_zero_leaves_quantities_alone() -> None:
    priced = tariff(element(component(ENERGY, "0.30", 0)))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (5, "0.1234")))
    # No stepping: 0.1234 × 0.30 = 0.03702 → 0.0370.
    assert result.energy.quantity == D("0.1234")
    assert result.total_cost == price("0.0370")


# --- time of day, over midnight, end_time 00:00, weekday, dates ----------------------------


def night_tariff() -> Tariff:
    return tariff(
        element(component(ENERGY, "0.10"), start_time="22:00", end_time="06:00"),
        element(component(ENERGY, "0.30")),
    )


def test_over_midnight_window_starts_at_22() -> None:
    result = price_session(night_tariff(), AMSTERDAM, chain(ams(15, 21), (120, "2")))
    # 21–22: 1 kWh × 0.30 = 0.30; 22–23: 1 kWh × 0.10 = 0.10. Total 0.40.
    assert lines(result, ENERGY) == [(1, D("1"), D("0.30")), (0, D("1"), D("0.10"))]
    assert starts(result) == [ams(15, 21), ams(15, 22)]


def test_over_midnight_window_ends_at_06_inside_an_interval() -> None:
    result = price_session(night_tariff(), AMSTERDAM, chain(ams(16, 5, 30), (90, "3")))
    # 2 kWh/h: 05:30–06:00 1 kWh × 0.10 = 0.10; 06:00–07:00 2 kWh × 0.30 = 0.60. Total 0.70.
    assert result.total_cost == price("0.70")
    assert starts(result) == [ams(16, 5, 30), ams(16, 6)]


def test_over_midnight_window_covers_midnight() -> None:
    result = price_session(night_tariff(), AMSTERDAM, chain(ams(15, 23), (120, "4")))
    # 23:00–01:00 all inside 22:00–06:00: 4 × 0.10 = 0.40.
    assert result.total_cost == price("0.40")


def test_end_time_midnight_means_end_of_day() -> None:
    priced = tariff(
        element(component(TIME, "6"), start_time="20:00", end_time="00:00"),
        element(component(TIME, "3")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 23, 30), (60, "5")))
    # 23:30–00:00 × 6/h = 3.00; 00:00–00:30 × 3/h = 1.50. Total 4.50.
    assert result.total_cost == price("4.50")


def test_day_of_week_switches_at_local_midnight() -> None:
    priced = tariff(
        element(component(ENERGY, "0.20"), day_of_week=["SATURDAY", "SUNDAY"]),
        element(component(ENERGY, "0.40")),
    )
    # Friday 12 Jan 23:00 to Saturday 01:00, 4 kWh evenly.
    result = price_session(priced, AMSTERDAM, chain(ams(12, 23), (120, "4")))
    # Friday: 2 × 0.40 = 0.80; Saturday: 2 × 0.20 = 0.40. Total 1.20.
    assert lines(result, ENERGY) == [(1, D("2"), D("0.80")), (0, D("2"), D("0.40"))]
    assert starts(result) == [ams(12, 23), ams(13, 0)]


def test_start_date_inclusive_end_date_exclusive() -> None:
    priced = tariff(
        element(component(ENERGY, "0.10"), start_date="2024-03-01", end_date="2024-03-02"),
        element(component(ENERGY, "0.30")),
    )
    into = price_session(priced, AMSTERDAM, chain(ams(29, 23, 30, month=2), (90, "3")))
    # 29 Feb 23:30–00:00: 1 kWh × 0.30; 1 Mar 00:00–01:00: 2 kWh × 0.10. Total 0.50.
    assert into.total_cost == price("0.50")
    out = price_session(priced, AMSTERDAM, chain(ams(1, 23, month=3), (90, "3")))
    # 1 Mar 23:00–00:00: 2 kWh × 0.10 = 0.20; 2 Mar (excluded) 1 kWh × 0.30. Total 0.50.
    assert lines(out, ENERGY) == [(0, D("2"), D("0.20")), (1, D("1"), D("0.30"))]


def test_same_utc_session_priced_in_two_time_zones() -> None:
    priced = tariff(
        element(component(ENERGY, "0.10"), start_time="00:00", end_time="07:00"),
        element(component(ENERGY, "0.30")),
    )
    utc_start = datetime(2024, 1, 15, 4, tzinfo=UTC)
    intervals = chain(utc_start, (120, "2"))
    in_amsterdam = price_session(priced, AMSTERDAM, intervals)
    in_new_york = price_session(priced, ZoneInfo(NEW_YORK), intervals)
    # Amsterdam (UTC+1): 05:00–07:00 local, all night rate: 2 × 0.10 = 0.20.
    assert in_amsterdam.total_cost == price("0.20")
    # New York (UTC−5): 23:00–01:00 local: 1 × 0.30 + 1 × 0.10 = 0.40.
    assert in_new_york.total_cost == price("0.40")
    assert starts(in_new_york) == [utc_start, utc_start + timedelta(hours=1)]


def test_daylight_saving_gap_switches_at_the_transition() -> None:
    # 31 Mar 2024, Amsterdam: 02:00 CET jumps to 03:00 CEST (01:00 UTC).
    priced = tariff(
        element(component(TIME, "10"), start_time="02:30", end_time="04:00"),
        element(component(TIME, "1")),
    )
    start = datetime(2024, 3, 31, 0, 30, tzinfo=UTC)  # 01:30 CET
    result = price_session(priced, AMSTERDAM, chain(start, (120, "4")))
    # 00:30–01:00 UTC (01:30–02:00 CET): 0.5 h × 1 = 0.50.
    # 01:00–02:00 UTC (03:00–04:00 CEST, past 02:30): 1 h × 10 = 10.00.
    # 02:00–02:30 UTC (04:00–04:30 CEST): 0.5 h × 1 = 0.50. Total 11.00.
    assert result.total_cost == price("11.00")
    assert starts(result)[1] == datetime(2024, 3, 31, 1, tzinfo=UTC)


# --- kWh, duration, power, current ----------------------------------------------------------


def test_min_and_max_kwh_switch_inside_one_interval() -> None:
    priced = tariff(
        element(component(ENERGY, "0.40"), max_kwh=D("10")),
        element(component(ENERGY, "0.30"), min_kwh=D("10"), max_kwh=D("20")),
        element(component(ENERGY, "0.20")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (60, "25")))
    # 10 × 0.40 = 4.00; 10 × 0.30 = 3.00; 5 × 0.20 = 1.00. Total 8.00.
    assert lines(result, ENERGY) == [
        (0, D("10"), D("4.00")),
        (1, D("10"), D("3.00")),
        (2, D("5"), D("1.00")),
    ]
    # 25 kWh in 60 min: 10 kWh reached after 24 min, 20 kWh after 48 min.
    assert starts(result) == [ams(15, 10), ams(15, 10, 24), ams(15, 10, 48)]
    assert [volumes(p)[CdrDimensionType.ENERGY] for p in result.charging_periods] == [
        D("10"),
        D("10"),
        D("5"),
    ]


def test_max_kwh_crossed_in_a_later_interval() -> None:
    priced = tariff(
        element(component(ENERGY, "0.40"), max_kwh=D("10")),
        element(component(ENERGY, "0.20")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (30, "8"), (30, "6")))
    # 8 + 2 kWh below 10 at 0.40 = 4.00; 4 kWh at 0.20 = 0.80. Total 4.80.
    assert result.total_cost == price("4.80")
    # 6 kWh over 30 min: 10 kWh reached 2/6 of the way, at 10:40.
    assert starts(result) == [ams(15, 10), ams(15, 10, 40)]


def test_max_duration_switches_inside_one_interval() -> None:
    priced = tariff(
        element(component(ENERGY, "0.00", vat="20"), max_duration=1800),
        element(component(ENERGY, "0.25", vat="20")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (40, "6.2")))
    # 6.2 kWh over 40 min; the first 30 min carry 4.65 kWh (free), the last 10 min 1.55 kWh:
    # 1.55 × 0.25 = 0.3875 excl; × 1.20 = 0.465 incl.
    assert lines(result, ENERGY) == [(0, D("4.65"), D("0")), (1, D("1.55"), D("0.3875"))]
    assert result.total_cost == price("0.3875", "0.465")


def test_min_duration_makes_a_later_element_active() -> None:
    priced = tariff(
        element(component(TIME, "10"), min_duration=3600),
        element(component(TIME, "1")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (90, "9")))
    # 0–60 min at 1/h = 1.00; from 60 min (inclusive) at 10/h: 0.5 h = 5.00. Total 6.00.
    assert result.total_cost == price("6.00")


def test_min_power_inclusive_and_max_power_exclusive() -> None:
    priced = tariff(
        element(component(ENERGY, "0.50"), min_power=D("50")),
        element(component(ENERGY, "0.10"), max_power=D("16")),
        element(component(ENERGY, "0.30")),
    )
    start = ams(15, 10)
    intervals = [
        stretch(start, 12, "10", power="50"),  # exactly 50 → min_power matches
        stretch(start + timedelta(minutes=12), 30, "8", power="16"),  # 16 is not < 16
        stretch(start + timedelta(minutes=42), 30, "4", power="8"),
    ]
    result = price_session(priced, AMSTERDAM, intervals)
    # 10 × 0.50 = 5.00; 8 × 0.30 = 2.40; 4 × 0.10 = 0.40. Total 7.80.
    assert result.total_cost == price("7.80")


def test_power_unobserved_is_the_average_of_the_interval() -> None:
    priced = tariff(
        element(component(ENERGY, "0.50"), min_power=D("50")),
        element(component(ENERGY, "0.30")),
    )
    intervals = chain(ams(15, 10), (20, "20"), (40, "20"))
    result = price_session(priced, AMSTERDAM, intervals)
    # 20 kWh in 20 min = 60 kW → 0.50: 10.00; 20 kWh in 40 min = 30 kW → 0.30: 6.00.
    assert result.total_cost == price("16.00")


def test_min_and_max_current() -> None:
    priced = tariff(
        element(component(TIME, "1.00"), max_current=D("32")),
        element(component(TIME, "2.00"), min_current=D("32")),
    )
    start = ams(15, 10)
    intervals = [
        stretch(start, 30, "3", current="16"),
        stretch(start + timedelta(minutes=30), 30, "10", current="32"),
    ]
    result = price_session(priced, AMSTERDAM, intervals)
    # 30 min at 16 A: 0.5 × 1.00 = 0.50; 30 min at 32 A (not < 32; ≥ 32): 0.5 × 2.00 = 1.00.
    assert result.total_cost == price("1.50")
    assert [volumes(p)[CdrDimensionType.MAX_CURRENT] for p in result.charging_periods] == [
        D("16"),
        D("32"),
    ]


def test_current_restriction_does_not_match_an_unknown_current() -> None:
    priced = tariff(
        element(component(TIME, "1.00"), max_current=D("32")),
        element(component(TIME, "2.00"), min_current=D("32")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (60, "7")))
    # No current measured: neither element can be shown to apply; TIME is free.
    assert result.total_cost == price("0")


# --- element order, FLAT, parking, bounds, VAT ---------------------------------------------


def test_first_matching_element_wins_per_dimension() -> None:
    priced = tariff(
        element(component(ENERGY, "0.30"), start_time="00:00", end_time="12:00"),
        element(component(TIME, "2.00"), component(ENERGY, "0.10")),
        element(component(ENERGY, "0.99"), component(TIME, "9.99")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (60, "5")))
    # ENERGY from element 0 (first match): 5 × 0.30 = 1.50; TIME from element 1: 2.00.
    assert lines(result, ENERGY) == [(0, D("5"), D("1.50"))]
    assert lines(result, TIME) == [(1, D("1"), D("2.00"))]
    assert result.total_cost == price("3.50")


def test_no_matching_element_leaves_the_dimension_free() -> None:
    priced = tariff(element(component(ENERGY, "0.30"), start_time="18:00", end_time="20:00"))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (60, "5")))
    assert result.total_cost == price("0")
    assert result.charging_periods[0].tariff_id == "T1"


def test_flat_is_charged_once_per_session() -> None:
    priced = tariff(element(component(FLAT, "1.00", vat="21"), component(ENERGY, "0.20")))
    intervals = chain(ams(15, 10), *[(5, "1")] * 12)
    result = price_session(priced, AMSTERDAM, intervals)
    # FLAT 1.00 once (× 1.21 = 1.21 incl) + 12 kWh × 0.20 = 2.40. Total 3.40 / 3.61.
    assert result.flat.quantity == D(1)
    assert result.total_cost == price("3.40", "3.61")


def test_flat_is_the_one_active_at_the_start() -> None:
    priced = tariff(
        element(component(FLAT, "2.00"), start_time="18:00", end_time="06:00"),
        element(component(FLAT, "1.00")),
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 17), (120, "5")))
    # At 17:00 the evening fee does not apply: FLAT 1.00, once; not 1.00 + 2.00.
    assert lines(result, FLAT) == [(1, D(1), D("1.00"))]
    assert result.total_cost == price("1.00")


def test_parking_time_and_total_parking_time() -> None:
    priced = tariff(element(component(PARKING, "3.00", 60, vat="9")))
    intervals = chain(ams(15, 10), (30, "5"), (45, "0", False))
    result = price_session(priced, AMSTERDAM, intervals)
    # 45 min parking × 3.00/h = 2.25 excl; × 1.09 = 2.4525 incl. Charging is free.
    assert result.total_parking_cost == price("2.25", "2.4525")
    assert result.total_parking_time == D("0.75")
    assert result.total_time == D("1.25")
    last = result.charging_periods[-1]
    assert last.start_date_time == ams(15, 10, 30)
    assert volumes(last) == {CdrDimensionType.PARKING_TIME: D("0.75")}


def test_min_price_bounds_excl_and_incl_separately() -> None:
    priced = tariff(
        element(component(ENERGY, "0.22", vat="10")),
        min_price={"excl_vat": D("1.00"), "incl_vat": D("1.30")},
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (30, "5")))
    # 5 × 0.22 = 1.10 excl (above 1.00: kept); × 1.10 = 1.21 incl (below 1.30: raised).
    assert result.total_cost == price("1.10", "1.30")
    assert result.min_price_applied


def test_max_price_bounds_excl_and_incl_separately() -> None:
    priced = tariff(
        element(component(ENERGY, "0.30", vat="25")),
        max_price={"excl_vat": D("3.50"), "incl_vat": D("4.00")},
    )
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (30, "12")))
    # 12 × 0.30 = 3.60 excl → 3.50; × 1.25 = 4.50 incl → 4.00.
    assert result.total_cost == price("3.50", "4.00")
    assert result.max_price_applied
    assert result.total_energy_cost == price("3.60", "4.50")


def test_component_without_vat_has_incl_equal_to_excl() -> None:
    priced = tariff(element(component(ENERGY, "0.25", vat="0"), component(TIME, "1.00")))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (60, "10")))
    # ENERGY 2.50 at 0 % VAT; TIME 1.00 with no VAT applicable: both incl = excl.
    assert result.total_cost == price("3.50", "3.50")


def test_costs_are_rounded_half_up_once_per_figure() -> None:
    priced = tariff(element(component(TIME, "0.15")))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (20, "1")), cost_places=2)
    # 20 min × 0.15/h = 0.05 exactly (not 0.0499…): 0.05 at 2 decimals.
    assert str(result.total_cost.excl_vat) == "0.05"
    exact = price_session(priced, AMSTERDAM, chain(ams(15, 10), (10, "1")), cost_places=None)
    # 10 min × 0.15/h = 0.025, unrounded.
    assert exact.total_cost == price("0.025")


# --- reservations ---------------------------------------------------------------------------


def test_reservation_elements_do_not_price_the_charging_session() -> None:
    priced = tariff(
        element(component(TIME, "6.00"), reservation="RESERVATION"),
        element(component(TIME, "1.00")),
    )
    reservation = Reservation(ams(15, 9, 30), ams(15, 10))
    result = price_session(
        priced, AMSTERDAM, chain(ams(15, 10), (60, "5")), reservation=reservation
    )
    # Reservation 0.5 h × 6.00 = 3.00; charging 1 h × 1.00 = 1.00. Total 4.00.
    assert result.total_reservation_cost == price("3.00")
    assert result.total_time_cost == price("1.00")
    assert result.total_cost == price("4.00")
    assert result.total_reservation_time == D("0.5")
    assert starts(result) == [ams(15, 9, 30), ams(15, 10)]


def test_expired_reservation_prefers_reservation_expires_whatever_the_order() -> None:
    priced = tariff(
        element(component(TIME, "3.00", 600), reservation="RESERVATION"),
        element(component(TIME, "6.00", 600), reservation="RESERVATION_EXPIRES"),
    )
    expired = Reservation(ams(15, 9), ams(15, 10), expired=True)
    result = price_session(priced, AMSTERDAM, [], reservation=expired)
    # Expired: RESERVATION_EXPIRES TIME applies: 1 h × 6.00 = 6.00.
    assert result.total_cost == price("6.00")
    used = price_session(
        priced,
        AMSTERDAM,
        chain(ams(15, 10), (10, "1")),
        reservation=Reservation(ams(15, 9), ams(15, 10)),
    )
    # Not expired: RESERVATION TIME 1 h × 3.00 = 3.00.
    assert used.total_cost == price("3.00")


def test_reservation_without_session_ignores_min_price() -> None:
    priced = tariff(
        element(component(FLAT, "0.50"), reservation="RESERVATION"),
        element(component(ENERGY, "0.25")),
        min_price={"excl_vat": D("2.00")},
    )
    expired = Reservation(ams(15, 9), ams(15, 10), expired=True)
    result = price_session(priced, AMSTERDAM, [], reservation=expired)
    # Only the reservation fee 0.50: a reservation is not a charging session.
    assert result.total_cost == price("0.50")
    assert not result.min_price_applied


# --- the CDR it fills, input checks ---------------------------------------------------------


def test_cdr_costs_make_a_valid_cdr() -> None:
    priced = tariff(element(component(ENERGY, "0.25", vat="21"), component(PARKING, "1.00")))
    result = price_session(priced, AMSTERDAM, chain(ams(15, 10), (30, "7.5"), (30, "0", False)))
    token = {
        "country_code": "NL",
        "party_id": "MSP",
        "uid": "012345678",
        "type": "RFID",
        "contract_id": "NL-MSP-C12345678-X",
    }
    place = {
        "id": "LOC1",
        "address": "Street 1",
        "city": "Town",
        "country": "NLD",
        "coordinates": {"latitude": "52.37000", "longitude": "4.89000"},
        "evse_uid": "E1",
        "evse_id": "NL*CPO*E1",
        "connector_id": "1",
        "connector_standard": "IEC_62196_T2",
        "connector_format": "SOCKET",
        "connector_power_type": "AC_3_PHASE",
    }
    cdr = CDR(
        country_code="NL",
        party_id="CPO",
        id="CDR1",
        start_date_time=result.start_date_time,
        end_date_time=result.end_date_time,
        cdr_token=codec.convert(token, CdrToken),
        auth_method=AuthMethod.WHITELIST,
        cdr_location=codec.convert(place, CdrLocation),
        tariffs=[priced],
        last_updated=result.end_date_time,
        **result.cdr_costs(),
    )
    again = codec.decode(codec.encode(cdr), CDR)
    # 7.5 × 0.25 = 1.875 excl, × 1.21 = 2.26875 → 2.2688 incl; parking 0.5 h × 1.00 = 0.50.
    assert again.total_cost == price("2.375", "2.7688")
    assert again.total_energy == D("7.5")
    assert again.total_time == D("1")
    assert again.total_parking_time == D("0.5")
    assert again.total_reservation_cost is None
    assert [p.start_date_time for p in again.charging_periods] == [ams(15, 10), ams(15, 10, 30)]


def hour(h: int) -> datetime:
    return datetime(2024, 1, 1, h, tzinfo=UTC)


FLOAT_KWH: Any = 1.5


@pytest.mark.parametrize(
    ("intervals", "message"),
    [
        ([MeteredInterval(datetime(2024, 1, 1), datetime(2024, 1, 1, 1), D(1))], "aware"),
        ([MeteredInterval(hour(1), hour(0), D(1))], "not after"),
        ([MeteredInterval(hour(0), hour(1), D(1)), MeteredInterval(hour(2), hour(3), D(1))], "gap"),
        (
            [MeteredInterval(hour(0), hour(2), D(1)), MeteredInterval(hour(1), hour(3), D(1))],
            "overlap",
        ),
        ([MeteredInterval(hour(0), hour(1), FLOAT_KWH)], "Decimal"),
        ([MeteredInterval(hour(0), hour(1), D(-1))], "fed back"),
        ([], "nothing to price"),
    ],
)
def test_input_that_cannot_be_priced_is_rejected(
    intervals: list[MeteredInterval], message: str
) -> None:
    priced = tariff(element(component(ENERGY, "0.25")))
    with pytest.raises(PricingError, match=message):
        price_session(priced, AMSTERDAM, intervals)


def test_unknown_time_zone_and_expired_reservation_with_a_session_are_rejected() -> None:
    priced = tariff(element(component(ENERGY, "0.25")))
    intervals = chain(ams(15, 10), (10, "1"))
    with pytest.raises(PricingError, match="time zone"):
        price_session(priced, "Mars/Olympus_Mons", intervals)
    expired = Reservation(ams(15, 9), ams(15, 10), expired=True)
    with pytest.raises(PricingError, match="expired"):
        price_session(priced, AMSTERDAM, intervals, reservation=expired)
