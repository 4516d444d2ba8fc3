"""Every official OCPI 2.2.1 tariff example priced against a concrete session.

Expected costs are worked out by hand in the comments (excl. VAT; incl. VAT), following the
spec's own example texts in mod_tariffs.asciidoc. Reported costs have 4 decimals.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from sidecar.errors import InvalidField
from sidecar.ocpi.codec import decode
from sidecar.ocpi.enums import CdrDimensionType, TariffDimensionType
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import Price
from sidecar.pricing import MeteredInterval, PricedSession, Reservation, price_session

# The official examples, copied unchanged into the repository (else the shared copy).
EXAMPLES = Path(__file__).resolve().parents[1] / "sidecar" / "ocpi" / "examples"
if not (EXAMPLES / "tariff_1_simple_2hour.json").is_file():
    EXAMPLES = Path("/work/shared/ocpi-2.2.1-examples")
BERLIN = "Europe/Berlin"  # the example tariffs are German (country_code DE)


def example(name: str) -> Tariff:
    return decode((EXAMPLES / f"{name}.json").read_bytes(), Tariff)


def local(day: int, hour: int, minute: int = 0, month: int = 6, year: int = 2019) -> datetime:
    """A wall-clock time in Berlin as an aware UTC datetime. June 2019: 3rd is a Monday."""
    return datetime(year, month, day, hour, minute, tzinfo=ZoneInfo(BERLIN)).astimezone(UTC)


Stretch = tuple[timedelta, str, bool]


def chain(start: datetime, *stretches: Stretch) -> list[MeteredInterval]:
    """Back-to-back intervals from (duration, kWh, charging)."""
    intervals = []
    for duration, kwh, charging in stretches:
        end = start + duration
        intervals.append(MeteredInterval(start, end, D(kwh), charging=charging))
        start = end
    return intervals


def charge(minutes: int, kwh: str = "0", seconds: int = 0) -> Stretch:
    return (timedelta(minutes=minutes, seconds=seconds), kwh, True)


def park(minutes: int) -> Stretch:
    return (timedelta(minutes=minutes), "0", False)


def price(excl: str, incl: str) -> Price:
    return Price(excl_vat=D(excl), incl_vat=D(incl))


def billed(result: PricedSession, dimension: TariffDimensionType) -> list[tuple[D, D]]:
    """(quantity, excl_vat) of each cost line of a dimension, in order."""
    return [(x.quantity, x.excl_vat) for x in result.lines if x.dimension == dimension]


MONDAY_10 = local(3, 10)


# --- tariff_1_simple_2hour: TIME 2.00/h, 10 % VAT, step 60 s -------------------------------


def test_tariff_1_two_and_a_half_hours_charging() -> None:
    result = price_session(example("tariff_1_simple_2hour"), BERLIN, chain(MONDAY_10, charge(150)))
    # 2.5 h × 2.00 = 5.00 excl; × 1.10 = 5.50 incl (the spec's text).
    assert result.total_cost == price("5.00", "5.50")
    assert result.time.quantity == D("2.5")
    assert result.total_time == D("2.5")


def test_tariff_1_parking_is_free_and_time_rounds_to_whole_minutes() -> None:
    intervals = chain(MONDAY_10, charge(150, "12", seconds=20), park(30))
    result = price_session(example("tariff_1_simple_2hour"), BERLIN, intervals)
    # TIME only: parking is not billed. 150 min 20 s charging, step 60 s → 151 min (the last
    # time-based component billed is TIME, so TIME is rounded): 151/60 h × 2.00 = 5.03333…
    # → 5.0333 excl; 2.00 × 1.10 × 9060 s / 3600 = 5.53666… → 5.5367 incl.
    assert result.total_cost == price("5.0333", "5.5367")
    assert result.parking_time.cost == price("0", "0")
    # total_time covers charging and parking: 150 min 20 s + 30 min = 180 min 20 s, sent
    # as an OCPI number (4 decimals): 10 820 / 3 600 = 3.00555… → 3.0056.
    assert result.total_time == D("3.0056")
    assert result.total_parking_time == D("0.5")


# --- tariff_2_alt_text: TIME 1.90/h, 5.2 % VAT, step 300 s ---------------------------------


def test_tariff_2_two_and_a_half_hours() -> None:
    tariff = example("tariff_2_alt_text")
    result = price_session(tariff, BERLIN, chain(MONDAY_10, charge(150)))
    # 2.5 h × 1.90 = 4.75 excl; 4.75 × 1.052 = 4.997 incl.
    assert result.total_cost == price("4.75", "4.997")
    # The spec's text rounds to cents: 4.75 and 5.00.
    cents = price_session(tariff, BERLIN, chain(MONDAY_10, charge(150)), cost_places=2)
    assert str(cents.total_cost.excl_vat) == "4.75"
    assert str(cents.total_cost.incl_vat) == "5.00"


# --- tariff_3_alt_url: FLAT 0.50 (20 %), ENERGY 0.25/kWh (10 %) step 100 Wh -----------------


def test_tariff_3_energy_rounded_up_to_100_wh() -> None:
    tariff = example("tariff_3_alt_url")
    intervals = chain(MONDAY_10, charge(120, "20.45"))
    result = price_session(tariff, BERLIN, intervals)
    # 20.45 kWh → 20.5 kWh billed × 0.25 = 5.125 excl; × 1.10 = 5.6375 incl.
    # FLAT 0.50 excl; × 1.20 = 0.60 incl. Total 5.625 excl, 6.2375 incl.
    assert result.energy.quantity == D("20.5")
    assert result.energy.cost == price("5.125", "5.6375")
    assert result.flat.cost == price("0.50", "0.60")
    assert result.total_cost == price("5.625", "6.2375")
    assert result.total_energy == D("20.45")
    # The spec's table in cents: energy 5.13 / 5.64, total 5.63 / 6.24.
    cents = price_session(tariff, BERLIN, intervals, cost_places=2)
    assert cents.energy.cost == price("5.13", "5.64")
    assert cents.total_cost == price("5.63", "6.24")


# --- tariff_4_complex ---------------------------------------------------------------------


def test_tariff_4_monday_morning_16a_then_parking() -> None:
    # Monday 09:30 local, 165 min at 16 A, then 42 min parking (12:15–12:57).
    intervals = chain(local(3, 9, 30), charge(165, "20"), park(42))
    intervals[0] = MeteredInterval(intervals[0].start, intervals[0].end, D("20"), current_a=D("16"))
    result = price_session(example("tariff_4_complex"), BERLIN, intervals)
    # FLAT 2.50 excl; × 1.15 = 2.875 incl.
    # TIME < 32 A: 1.00/h, 165 min = 2.75 h → 2.75 excl; × 1.20 = 3.30 incl (not rounded:
    #   followed by parking).
    # PARKING weekday 09–18: 5.00/h, 42 min → 45 min (step 300) = 0.75 h → 3.75; × 1.10 = 4.125.
    # Total 9.00 excl, 10.30 incl (the spec's text).
    assert result.flat.cost == price("2.50", "2.875")
    assert result.time.cost == price("2.75", "3.30")
    assert result.parking_time.quantity == D("0.75")
    assert result.parking_time.cost == price("3.75", "4.125")
    assert result.total_cost == price("9.00", "10.30")


def test_tariff_4_saturday_afternoon_43a_then_parking() -> None:
    # Saturday 13:30 local, 114 min at 43 A (to 15:24), then 71 min parking (to 16:35).
    start = local(8, 13, 30)
    intervals = [
        MeteredInterval(start, start + timedelta(minutes=114), D("30"), current_a=D("43")),
        MeteredInterval(
            start + timedelta(minutes=114),
            start + timedelta(minutes=185),
            D("0"),
            charging=False,
        ),
    ]
    result = price_session(example("tariff_4_complex"), BERLIN, intervals)
    # FLAT 2.50; 2.875 incl.
    # TIME ≥ 32 A at the weekend: 1.25/h, step 600 but not rounded (followed by parking):
    #   114 min = 1.9 h × 1.25 = 2.375 excl; × 1.20 = 2.85 incl.
    #   (The spec's table says 2.28 / 2.736: that is 1.9 h × 1.20, a slip in the spec's
    #   arithmetic; its own tariff says 1.25, so its totals 12.28 / 13.861 are off too.)
    # PARKING Saturday 10–17: 6.00/h, 71 min → 75 min = 1.25 h → 7.50; × 1.10 = 8.25.
    # Total 2.50 + 2.375 + 7.50 = 12.375 excl; 2.875 + 2.85 + 8.25 = 13.975 incl.
    assert result.time.quantity == D("1.9")
    assert result.time.cost == price("2.375", "2.85")
    assert result.parking_time.cost == price("7.50", "8.25")
    assert result.total_cost == price("12.375", "13.975")


# --- tariff_5_free_of_charge --------------------------------------------------------------


def test_tariff_5_free_of_charge() -> None:
    intervals = chain(MONDAY_10, charge(60, "11"), park(30))
    result = price_session(example("tariff_5_free_of_charge"), BERLIN, intervals)
    # FLAT 0.00 without VAT (no VAT applicable: incl = excl): total 0.
    assert result.total_cost == price("0", "0")
    assert result.flat.quantity == D(1)
    assert result.total_energy == D("11")


# --- tariff_6_025kwh_start_max_price: max 10 / 11; FLAT 0.50 (20 %); ENERGY 0.25 (10 %) -----


def test_tariff_6_fifty_kwh_hits_max_price() -> None:
    result = price_session(
        example("tariff_6_025kwh_start_max_price"), BERLIN, chain(MONDAY_10, charge(90, "50"))
    )
    # 0.50 + 50 × 0.25 = 13.00 excl → max 10.00; 0.60 + 13.75 = 14.35 incl → max 11.00.
    assert result.total_cost == price("10.00", "11.00")
    assert result.max_price_applied
    assert result.energy.cost == price("12.50", "13.75")


def test_tariff_6_thirty_kwh_stays_below_max_price() -> None:
    result = price_session(
        example("tariff_6_025kwh_start_max_price"), BERLIN, chain(MONDAY_10, charge(90, "30"))
    )
    # 0.50 + 30 × 0.25 = 8.00 excl; 0.60 + 8.25 = 8.85 incl (the spec's text).
    assert result.total_cost == price("8.00", "8.85")
    assert not result.max_price_applied


# --- tariff_8 / tariff_9: 0.25/kWh (10 %), with and without a 0.50 start fee (20 %) ---------


def test_tariff_8_twenty_kwh() -> None:
    result = price_session(
        example("tariff_8_simple_025kwh"), BERLIN, chain(MONDAY_10, charge(60, "20"))
    )
    # 20 kWh × 0.25 = 5.00 excl; × 1.10 = 5.50 incl.
    assert result.total_cost == price("5.00", "5.50")
    assert result.total_energy_cost == price("5.00", "5.50")


def test_tariff_8_twelve_and_a_half_kwh() -> None:
    result = price_session(
        example("tariff_8_simple_025kwh"), BERLIN, chain(MONDAY_10, charge(40, "12.5"))
    )
    # 12.5 kWh × 0.25 = 3.125 excl; × 1.10 = 3.4375 incl.
    assert result.total_cost == price("3.125", "3.4375")


def test_tariff_9_twenty_kwh_with_start_fee() -> None:
    result = price_session(
        example("tariff_9_025kwh_start"), BERLIN, chain(MONDAY_10, charge(60, "20"))
    )
    # FLAT 0.50 / 0.60 + ENERGY 5.00 / 5.50 = 5.50 excl, 6.10 incl.
    assert result.total_cost == price("5.50", "6.10")
    assert result.total_fixed_cost == price("0.50", "0.60")


# --- tariff_10: + PARKING_TIME 2.00/h (20 %) step 900 --------------------------------------


def test_tariff_10_twenty_kwh_and_forty_minutes_parking() -> None:
    intervals = chain(MONDAY_10, charge(60, "20"), park(40))
    result = price_session(example("tariff_10_025kwh_parking_start"), BERLIN, intervals)
    # FLAT 0.50 / 0.60; ENERGY 5.00 / 5.50; PARKING 40 → 45 min = 0.75 h × 2.00 = 1.50 / 1.80.
    # Total 7.00 excl, 7.90 incl (the spec's text).
    assert result.parking_time.quantity == D("0.75")
    assert result.total_parking_cost == price("1.50", "1.80")
    assert result.total_cost == price("7.00", "7.90")


# --- tariff_11: FLAT 0.40 (25 %), TIME 1.90/h (5.2 %) step 300 ------------------------------


def test_tariff_11_sixty_two_minutes() -> None:
    result = price_session(
        example("tariff_11_not_possible_alt_text"), BERLIN, chain(MONDAY_10, charge(62, "9"))
    )
    # FLAT 0.40 excl; × 1.25 = 0.50 incl.
    # TIME 62 → 65 min: 1.90 × 3900 s / 3600 = 2.058333… → 2.0583 excl;
    #   1.90 × 1.052 × 3900 / 3600 = 2.1653666… → 2.1654 incl.
    # Total 0.40 + 2.0583 = 2.4583 excl; 0.50 + 2.1654 = 2.6654 incl.
    assert result.time.quantity == D(65) / D(60)
    assert result.time.cost == price("2.0583", "2.1654")
    assert result.total_cost == price("2.4583", "2.6654")


# --- tariff_12: min_price 0.50 / 0.55; ENERGY 0.25 (10 %) ----------------------------------


def test_tariff_12_twenty_kwh_is_above_min_price() -> None:
    result = price_session(
        example("tariff_12_025kwh_min_price"), BERLIN, chain(MONDAY_10, charge(60, "20"))
    )
    # 20 × 0.25 = 5.00 excl, 5.50 incl: above the minimum.
    assert result.total_cost == price("5.00", "5.50")
    assert not result.min_price_applied


def test_tariff_12_one_kwh_costs_the_min_price() -> None:
    result = price_session(
        example("tariff_12_025kwh_min_price"), BERLIN, chain(MONDAY_10, charge(10, "1"))
    )
    # 1 × 0.25 = 0.25 excl, 0.275 incl: below 0.50 / 0.55, so the minimum is billed.
    assert result.energy.cost == price("0.25", "0.275")
    assert result.total_cost == price("0.50", "0.55")
    assert result.min_price_applied


# --- tariff_13: TIME 3.00/h (10 %) step 60, PARKING 5.00/h (20 %) step 300 ------------------


def test_tariff_13_charging_150_minutes_parking_42() -> None:
    intervals = chain(MONDAY_10, charge(150, "30"), park(42))
    result = price_session(example("tariff_13_simple_3hour_5parking"), BERLIN, intervals)
    # TIME 2.5 h × 3.00 = 7.50 / 8.25. PARKING 42 → 45 min = 0.75 h × 5.00 = 3.75 / 4.50.
    # Total 11.25 excl, 12.75 incl (the spec's text).
    assert result.time.cost == price("7.50", "8.25")
    assert result.parking_time.cost == price("3.75", "4.50")
    assert result.total_cost == price("11.25", "12.75")
    assert result.total_parking_time == D("0.7")


# --- tariff_14_step_size: no VAT (incl = excl); TIME 1.20 before 17:00 step 1800, -----------
# --- 2.40 after step 900; PARKING 1.00 until 20:00 step 900 --------------------------------


def test_tariff_14_switching_element_1() -> None:
    intervals = chain(local(3, 16, 55), charge(10, "2"), park(2))
    result = price_session(example("tariff_14_step_size"), BERLIN, intervals)
    # 5 min × 1.20/h = 0.10; 5 min × 2.40/h = 0.20; parking 2 → 15 min × 1.00/h = 0.25.
    # Total 0.55 (the spec's text).
    assert billed(result, TariffDimensionType.TIME) == [
        (D(5) / D(60), D("0.10")),
        (D(5) / D(60), D("0.20")),
    ]
    assert billed(result, TariffDimensionType.PARKING_TIME) == [(D("0.25"), D("0.25"))]
    assert result.total_cost == price("0.55", "0.55")
    # A new charging period starts at 17:00 and when parking starts.
    starts = [p.start_date_time for p in result.charging_periods]
    assert starts == [local(3, 16, 55), local(3, 17), local(3, 17, 5)]


def test_tariff_14_switching_element_2() -> None:
    result = price_session(
        example("tariff_14_step_size"), BERLIN, chain(local(3, 16, 35), charge(35, "5"))
    )
    # 35 min → 45 min with the last TIME step (900 s); 25 min before 17:00 at 1.20 = 0.50,
    # 20 min after at 2.40 = 0.80. Total 1.30 (the spec's text).
    assert billed(result, TariffDimensionType.TIME) == [
        (D(25) / D(60), D("0.50")),
        (D(20) / D(60), D("0.80")),
    ]
    assert result.total_cost == price("1.30", "1.30")


def test_tariff_14_switching_to_free_of_charge_element() -> None:
    intervals = chain(local(3, 19, 40), charge(12, "2"), park(20))
    result = price_session(example("tariff_14_step_size"), BERLIN, intervals)
    # TIME 12 min × 2.40/h = 0.48. Parking 19:52–20:00 billable (8 min), free after 20:00;
    # 8 → 15 min × 1.00/h = 0.25. Total 0.73 (the spec's text).
    assert result.time.cost == price("0.48", "0.48")
    assert billed(result, TariffDimensionType.PARKING_TIME) == [(D("0.25"), D("0.25"))]
    assert result.total_cost == price("0.73", "0.73")
    assert result.total_parking_time == D("0.3333")  # 20 min, to 4 decimals


# --- reservations: tariff_15 … tariff_18 ----------------------------------------------------


def reserved_then_charged(
    minutes_reserved: int, kwh: str
) -> tuple[Reservation, list[MeteredInterval]]:
    reserved_at = local(3, 9)
    begins = reserved_at + timedelta(minutes=minutes_reserved)
    return Reservation(reserved_at, begins), chain(begins, charge(60, kwh))


def test_tariff_15_reservation_of_15_minutes() -> None:
    reservation, intervals = reserved_then_charged(15, "20")
    result = price_session(
        example("tariff_15_reservation_5_euro_per_hour"),
        BERLIN,
        intervals,
        reservation=reservation,
    )
    # Reservation TIME 15 min × 5.00/h = 1.25 / 1.50; FLAT 0.50 / 0.60; ENERGY 5.00 / 5.50.
    # Total 6.75 excl, 7.60 incl (the spec's text).
    assert result.total_reservation_cost == price("1.25", "1.50")
    assert result.total_cost == price("6.75", "7.60")
    assert result.total_time_cost == price("0", "0")
    assert result.total_fixed_cost == price("0.50", "0.60")
    first = result.charging_periods[0]
    assert first.start_date_time == reservation.start
    assert [(d.type, d.volume) for d in first.dimensions] == [
        (CdrDimensionType.RESERVATION_TIME, D("0.25"))
    ]
    assert result.start_date_time == reservation.start


def test_tariff_16_reservation_fee_and_13_minutes() -> None:
    reservation, intervals = reserved_then_charged(13, "20")
    result = price_session(
        example("tariff_16_reservation_2_euro_fee_5_euro_per_hour"),
        BERLIN,
        intervals,
        reservation=reservation,
    )
    # Reservation FLAT 2.00 / 2.40; reservation TIME 13 → 15 min × 5.00/h = 1.25 / 1.50;
    # FLAT 0.50 / 0.60; ENERGY 5.00 / 5.50. Total 8.75 excl, 10.00 incl (the spec's text).
    assert result.reservation_flat.cost == price("2.00", "2.40")
    assert result.reservation_time.cost == price("1.25", "1.50")
    assert result.total_reservation_cost == price("3.25", "3.90")
    assert result.total_fixed_cost == price("0.50", "0.60")
    assert result.total_cost == price("8.75", "10.00")


def test_tariff_17_reservation_of_22_minutes_then_charging() -> None:
    reservation, intervals = reserved_then_charged(22, "20")
    result = price_session(
        example("tariff_17_reservation_with_expire_fee"),
        BERLIN,
        intervals,
        reservation=reservation,
    )
    # Reservation TIME 22 → 30 min × 2.00/h = 1.00 / 1.20 (no expiry fee: not expired);
    # FLAT 0.50 / 0.60; ENERGY 5.00 / 5.50. Total 6.50 excl, 7.30 incl (the spec's text).
    assert result.total_reservation_cost == price("1.00", "1.20")
    assert result.total_cost == price("6.50", "7.30")


def test_tariff_17_expired_reservation_of_one_hour() -> None:
    reservation = Reservation(local(3, 9), local(3, 10), expired=True)
    result = price_session(
        example("tariff_17_reservation_with_expire_fee"), BERLIN, [], reservation=reservation
    )
    # Expiry FLAT 4.00 / 4.80 + 60 min × 2.00/h = 2.00 / 2.40. Total 6.00 / 7.20 (spec).
    assert result.total_cost == price("6.00", "7.20")
    assert result.total_fixed_cost == price("0", "0")
    assert result.total_energy == 0
    assert result.end_date_time == reservation.end


def test_tariff_18_reservation_of_22_minutes_then_charging() -> None:
    reservation, intervals = reserved_then_charged(22, "20")
    result = price_session(
        example("tariff_18_reservation_with_expire_time"),
        BERLIN,
        intervals,
        reservation=reservation,
    )
    # Reservation TIME 22 → 30 min × 3.00/h = 1.50 / 1.80; FLAT 0.50 / 0.60; ENERGY 5.00 /
    # 5.50. Total 7.00 excl, 7.90 incl (the spec's text).
    assert result.total_cost == price("7.00", "7.90")


def test_tariff_18_expired_reservation_of_90_minutes() -> None:
    reservation = Reservation(local(3, 9), local(3, 10, 30), expired=True)
    result = price_session(
        example("tariff_18_reservation_with_expire_time"), BERLIN, [], reservation=reservation
    )
    # RESERVATION_EXPIRES TIME: 90 min × 6.00/h = 9.00 / 10.80 (the spec's text).
    assert result.total_cost == price("9.00", "10.80")


# --- tariffrestriction examples -------------------------------------------------------------


def test_restriction_max_power_example() -> None:
    start = MONDAY_10
    intervals = [  # 1 kWh at 6 kW, 40 kWh at 48 kW, 0.5 kWh at 4 kW
        MeteredInterval(start, start + timedelta(minutes=10), D("1"), power_kw=D("6")),
        MeteredInterval(
            start + timedelta(minutes=10),
            start + timedelta(minutes=60),
            D("40"),
            power_kw=D("48"),
        ),
        MeteredInterval(
            start + timedelta(minutes=60),
            start + timedelta(minutes=67, seconds=30),
            D("0.5"),
            power_kw=D("4"),
        ),
    ]
    result = price_session(example("tariffrestriction_example_max_power"), BERLIN, intervals)
    # 1 × 0.20 + 40 × 0.50 + 0.5 × 0.20 = 0.20 + 20.00 + 0.10 = 20.30 excl (the spec's text);
    # × 1.20 = 24.36 incl.
    assert billed(result, TariffDimensionType.ENERGY) == [
        (D("1.5"), D("0.30")),
        (D("40"), D("20.00")),
    ]
    assert result.total_cost == price("20.30", "24.36")
    powers = [
        [(d.type, d.volume) for d in p.dimensions if d.type == CdrDimensionType.MAX_POWER]
        for p in result.charging_periods
    ]
    assert powers == [
        [(CdrDimensionType.MAX_POWER, D("6"))],
        [(CdrDimensionType.MAX_POWER, D("48"))],
        [(CdrDimensionType.MAX_POWER, D("4"))],
    ]


def test_restriction_max_duration_example() -> None:
    intervals = chain(MONDAY_10, charge(30, "5"), charge(10, "1.2"))
    result = price_session(example("tariffrestriction_example_max_duration"), BERLIN, intervals)
    # First 30 min free: 5 kWh × 0.00; then 1.2 kWh × 0.25 = 0.30 excl (the spec's text);
    # × 1.20 = 0.36 incl.
    assert result.total_cost == price("0.30", "0.36")


def test_restriction_max_duration_example_after_an_hour() -> None:
    intervals = chain(MONDAY_10, charge(30, "5"), charge(30, "4"), charge(20, "2"))
    result = price_session(example("tariffrestriction_example_max_duration"), BERLIN, intervals)
    # 0–30 min free; 30–60 min 4 kWh × 0.25 = 1.00; after 60 min 2 kWh × 0.40 = 0.80.
    # Total 1.80 excl; × 1.20 = 2.16 incl.
    assert result.total_cost == price("1.80", "2.16")


# --- tariff_put_example: lacks last_updated, priced from a corrected copy ------------------


def test_tariff_put_example_is_rejected_unedited() -> None:
    with pytest.raises(InvalidField) as caught:
        example("tariff_put_example")
    assert caught.value.path == "last_updated"


def test_tariff_put_example_corrected_62_minutes() -> None:
    body = json.loads((EXAMPLES / "tariff_put_example.json").read_text())
    body["last_updated"] = "2019-06-01T00:00:00Z"  # the one fault of the official example
    tariff = decode(json.dumps(body), Tariff)
    result = price_session(tariff, BERLIN, chain(MONDAY_10, charge(62, "10")))
    # TIME 2.00/h (10 %), step 300: 62 → 65 min: 2.00 × 65/60 = 2.16666… → 2.1667 excl;
    # 2.00 × 1.10 × 65/60 = 2.38333… → 2.3833 incl.
    assert result.total_cost == price("2.1667", "2.3833")
