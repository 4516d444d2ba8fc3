"""A transaction's timeline: charging periods, kWh and costs from its events (pure).

Readings (meter values) and charging-state changes form one timeline ordered by time. Walking
it, the builder keeps one open charging period and closes it at every charging-state change
and once it has lasted `period_length` (at the first reading past that), so the Session's
`charging_periods` only ever grow at the end while the session runs: a PATCH can append them.
An event older than what was already walked replays the whole timeline (`replay`); if that
changes a period the partner has, the change becomes a PUT (session_records.push_action).

Energy is the Energy.Active.Import.Register: the session's kWh is the last reading minus the
first (or `meter_start_wh`). Costs come from the pricing engine over the periods as metered
intervals; a running session is priced whenever a period closes or the state changes, and
once more at the end. Decisions (docs/sessions.md): IDLE time is neither charging nor
parking in periods; for pricing, IDLE at the end is left out and IDLE in between counts as
parking; without a tariff the CDR costs nothing (total_cost 0) and says so in `remark`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec

from sidecar.ocpi.cdrs import CdrLocation, SignedData
from sidecar.ocpi.enums import SESSION_ONLY_DIMENSIONS, AuthMethod
from sidecar.ocpi.enums import CdrDimensionType as Dim
from sidecar.ocpi.sessions import CdrDimension, CdrToken, ChargingPeriod
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import Price, number
from sidecar.pricing import (
    MeteredInterval,
    PricedSession,
    PricingError,
    Reservation,
    price_session,
)

log = logging.getLogger(__name__)

ZERO = Decimal(0)
THOUSAND = Decimal(1000)
SECONDS_PER_HOUR = Decimal(3600)
MEAN = Decimal("0.001")

# Charging states (proto ChargingState without its prefix).
CHARGING = "CHARGING"
EV_CONNECTED = "EV_CONNECTED"
SUSPENDED_EV = "SUSPENDED_EV"
SUSPENDED_EVSE = "SUSPENDED_EVSE"
IDLE = "IDLE"
# The vehicle wants power (charging time) / does not (parking time); IDLE is neither.
TIME_STATES = frozenset({CHARGING, SUSPENDED_EVSE})
PARKING_STATES = frozenset({EV_CONNECTED, SUSPENDED_EV})


class Reading(msgspec.Struct, array_like=True, frozen=True, omit_defaults=True):
    """What the builder uses of one meter value: Wh registers, W, A (summed over phases), %."""

    at: datetime
    energy_wh: Decimal | None = None
    export_wh: Decimal | None = None
    power_w: Decimal | None = None
    current_a: Decimal | None = None
    soc: Decimal | None = None


class StateChange(msgspec.Struct, array_like=True, frozen=True):
    """The charging state from `at` on."""

    at: datetime
    state: str


class Stats(msgspec.Struct, array_like=True):
    """Count, sum, minimum and maximum of the values seen."""

    count: int = 0
    total: Decimal = ZERO
    low: Decimal | None = None
    high: Decimal | None = None

    def add(self, value: Decimal) -> None:
        self.count += 1
        self.total += value
        self.low = value if self.low is None or value < self.low else self.low
        self.high = value if self.high is None or value > self.high else self.high

    def mean(self) -> Decimal:
        return (self.total / self.count).quantize(MEAN)


class Period(msgspec.Struct, array_like=True):
    """A closed charging period [start, end) in one charging state."""

    start: datetime
    end: datetime
    state: str
    energy_kwh: Decimal
    export_kwh: Decimal | None
    power_w: Stats
    current_a: Stats
    soc: Decimal | None


class OpenPeriod(msgspec.Struct, array_like=True):
    """The period being filled: registers at its start, values seen since."""

    start: datetime
    state: str
    energy_wh: Decimal | None
    export_wh: Decimal | None
    power_w: Stats
    current_a: Stats
    soc: Decimal | None
    last_at: datetime


class Progress(msgspec.Struct, kw_only=True):
    """Where the walk of the timeline stands."""

    start: datetime
    max_at: datetime
    open: OpenPeriod
    closed: list[Period] = []
    baseline_wh: Decimal | None = None
    last_wh: Decimal | None = None
    last_export_wh: Decimal | None = None


class Reserved(msgspec.Struct, array_like=True):
    """The reservation a session began with (number: the OCPP reservationId): from `start`
    (accepted) to `end` (charging began, or it was cancelled or expired)."""

    number: int
    start: datetime
    end: datetime | None = None
    expired: bool = False


class TxState(msgspec.Struct, kw_only=True):
    """Everything about one transaction the Session and its CDR are built from.

    `cdr_location` and `tariff` are copies taken at the start: the CDR shows them as they
    were then, whatever changes later.
    """

    transaction_id: str
    country_code: str
    party_id: str
    location_id: str
    evse_uid: str
    connector_id: str
    created_at: datetime
    active_at: datetime | None = None
    token: CdrToken | None = None
    auth_method: AuthMethod | None = None
    authorization_reference: str | None = None
    tariff: Tariff | None = None
    time_zone: str
    currency: str
    meter_id: str | None = None
    cdr_location: CdrLocation
    meter_start_wh: Decimal | None = None
    changes: list[StateChange] = []
    progress: Progress
    # The last stored meter value (meter_values.pk) the walk took in.
    walked_pk: int = 0
    # The start's readings were walked in memory before they had numbers: the next take-in
    # replays from the stored readings once, which also learns their numbers.
    replay_due: bool = False
    total_cost: Price | None = None
    ended_at: datetime | None = None
    meter_stop_wh: Decimal | None = None
    stop_reason: str | None = None
    invalid: bool = False
    signed_data: SignedData | None = None
    reservation_id: int | None = None
    start_command_id: str | None = None
    # A session that began as a reservation keeps the reservation's Session id (the core's
    # transaction id differs, or there is none: the reservation was never used).
    session_id: str | None = None
    reservation: Reserved | None = None


_encoder = msgspec.msgpack.Encoder()
_state_decoder = msgspec.msgpack.Decoder(TxState)
_reading_decoder = msgspec.msgpack.Decoder(Reading)


def encode(value: Any) -> bytes:
    """A state or reading as stored (msgpack)."""
    return _encoder.encode(value)


def decode_state(data: bytes) -> TxState:
    return _state_decoder.decode(data)


def decode_reading(data: bytes) -> Reading:
    return _reading_decoder.decode(data)


# --- walking the timeline ---


def fresh(start: datetime, state: str = CHARGING, baseline_wh: Decimal | None = None) -> Progress:
    """Nothing walked yet: one open period from `start`."""
    opened = OpenPeriod(start, state, baseline_wh, None, Stats(), Stats(), None, start)
    return Progress(start=start, max_at=start, open=opened, baseline_wh=baseline_wh,
                    last_wh=baseline_wh)


def _kwh(end_wh: Decimal | None, start_wh: Decimal | None) -> Decimal | None:
    if end_wh is None or start_wh is None:
        return None
    return max(end_wh - start_wh, ZERO) / THOUSAND


def _close(progress: Progress, end: datetime) -> None:
    opened = progress.open
    progress.closed.append(Period(
        opened.start, end, opened.state, _kwh(progress.last_wh, opened.energy_wh) or ZERO,
        _kwh(progress.last_export_wh, opened.export_wh), opened.power_w, opened.current_a,
        opened.soc))
    progress.open = OpenPeriod(end, opened.state, progress.last_wh, progress.last_export_wh,
                               Stats(), Stats(), None, end)


def _reading(progress: Progress, reading: Reading, length: timedelta) -> None:
    opened = progress.open
    # Up to the session's start, the latest register is where its energy starts from.
    before = reading.at <= progress.start
    if reading.energy_wh is not None:
        if before or progress.baseline_wh is None:
            progress.baseline_wh = reading.energy_wh
        if before or opened.energy_wh is None:
            opened.energy_wh = reading.energy_wh
        progress.last_wh = reading.energy_wh
    if reading.export_wh is not None:
        if before or opened.export_wh is None:
            opened.export_wh = reading.export_wh
        progress.last_export_wh = reading.export_wh
    progress.max_at = max(progress.max_at, reading.at)
    if reading.at <= opened.start:
        return  # before the session (or at its first instant): registers only
    if reading.power_w is not None:
        opened.power_w.add(reading.power_w)
    if reading.current_a is not None:
        opened.current_a.add(reading.current_a)
    if reading.soc is not None:
        opened.soc = reading.soc
    opened.last_at = max(opened.last_at, reading.at)
    if reading.at - opened.start >= length:
        _close(progress, reading.at)


def _change(progress: Progress, change: StateChange) -> None:
    progress.max_at = max(progress.max_at, change.at)
    opened = progress.open
    if change.at <= opened.start:
        opened.state = change.state
    elif change.state != opened.state:
        _close(progress, change.at)
        progress.open.state = change.state


def _order(item: Reading | StateChange) -> tuple[datetime, int]:
    # At one instant the reading comes first: it closes the energy up to the change.
    return item.at, isinstance(item, StateChange)


def walk(progress: Progress, items: Iterable[Reading | StateChange], length: timedelta) -> int:
    """Apply items not older than `progress.max_at`; returns how many periods closed."""
    before = len(progress.closed)
    for item in sorted(items, key=_order):
        if isinstance(item, Reading):
            _reading(progress, item, length)
        else:
            _change(progress, item)
    return len(progress.closed) - before


def is_late(state: TxState, items: Iterable[Reading | StateChange]) -> bool:
    """Whether an item is older than what was walked: then only `replay` orders it right."""
    walked = state.progress.max_at
    return any(item.at < walked for item in items)


def session_id_of(state: TxState) -> str:
    """The OCPI Session id: the core's transaction id unless the session began reserved."""
    return state.session_id or state.transaction_id


def reserving(state: TxState) -> bool:
    """Whether the session is still a reservation (OCPI status RESERVATION)."""
    return state.reservation is not None and state.reservation.end is None


def session_start(state: TxState) -> datetime:
    """Session start_date_time: when it became ACTIVE, else when it was created."""
    return state.active_at or state.created_at


def replay(state: TxState, readings: Iterable[Reading], length: timedelta) -> None:
    """Walk the whole timeline again from the start (late events, a new start, the end)."""
    items: list[Reading | StateChange] = list(readings)
    if state.meter_start_wh is not None:
        items.append(Reading(state.created_at, energy_wh=state.meter_start_wh))
    if state.ended_at is not None:
        if state.meter_stop_wh is not None:
            items.append(Reading(state.ended_at, energy_wh=state.meter_stop_wh))
        items = [item for item in items if item.at <= state.ended_at]
    items += state.changes
    state.progress = fresh(session_start(state))
    walk(state.progress, items, length)
    if state.ended_at is not None:
        finish(state.progress, state.ended_at)


def finish(progress: Progress, end: datetime) -> None:
    """Close the open period at the end of the session."""
    if end > progress.open.start:
        _close(progress, end)
    progress.max_at = max(progress.max_at, end)


# --- periods, intervals and prices ---


def hours(start: datetime, end: datetime) -> Decimal:
    return number(Decimal((end - start) // timedelta(seconds=1)) / SECONDS_PER_HOUR)


def _dimensions(period: Period) -> list[CdrDimension]:
    found = [CdrDimension(type=Dim.ENERGY, volume=number(period.energy_kwh))]
    if period.state in TIME_STATES:
        found.append(CdrDimension(type=Dim.TIME, volume=hours(period.start, period.end)))
    elif period.state in PARKING_STATES:
        found.append(CdrDimension(type=Dim.PARKING_TIME, volume=hours(period.start, period.end)))
    power, current = period.power_w, period.current_a
    if power.count and power.low is not None and power.high is not None:
        found += [CdrDimension(type=Dim.POWER, volume=number(power.mean() / THOUSAND)),
                  CdrDimension(type=Dim.MIN_POWER, volume=number(power.low / THOUSAND)),
                  CdrDimension(type=Dim.MAX_POWER, volume=number(power.high / THOUSAND))]
    if current.count and current.low is not None and current.high is not None:
        found += [CdrDimension(type=Dim.CURRENT, volume=number(current.mean())),
                  CdrDimension(type=Dim.MIN_CURRENT, volume=number(current.low)),
                  CdrDimension(type=Dim.MAX_CURRENT, volume=number(current.high))]
    if period.soc is not None:
        found.append(CdrDimension(type=Dim.STATE_OF_CHARGE, volume=number(period.soc)))
    if period.export_kwh:
        found.append(CdrDimension(type=Dim.ENERGY_EXPORT, volume=number(period.export_kwh)))
    return found


def charging_period(period: Period, tariff_id: str | None, *, cdr: bool = False) -> ChargingPeriod:
    """One period as OCPI; a CDR's leaves out the Session-only dimensions."""
    dimensions = _dimensions(period)
    if cdr:
        dimensions = [d for d in dimensions if d.type not in SESSION_ONLY_DIMENSIONS]
    return ChargingPeriod(start_date_time=period.start, dimensions=dimensions,
                          tariff_id=tariff_id)


def _open_until(progress: Progress, until: datetime) -> Period | None:
    opened = progress.open
    if until <= opened.start:
        return None
    return Period(opened.start, until, opened.state,
                  _kwh(progress.last_wh, opened.energy_wh) or ZERO,
                  _kwh(progress.last_export_wh, opened.export_wh), opened.power_w,
                  opened.current_a, opened.soc)


def kwh(progress: Progress) -> Decimal:
    """Energy of the session so far: the last register minus the first."""
    return number(_kwh(progress.last_wh, progress.baseline_wh) or ZERO)


def intervals(progress: Progress) -> list[MeteredInterval]:
    """The walked periods (and the open one up to its last reading) as metered intervals."""
    periods = list(progress.closed)
    tail = _open_until(progress, progress.open.last_at)
    if tail is not None:
        periods.append(tail)
    while periods and periods[-1].state == IDLE:
        periods.pop()
    return [
        MeteredInterval(
            start=p.start, end=p.end, energy_kwh=p.energy_kwh,
            charging=p.state in TIME_STATES,
            power_kw=p.power_w.mean() / THOUSAND if p.power_w.count else None,
            current_a=p.current_a.mean() if p.current_a.count else None)
        for p in periods
    ]


def _priced_reservation(state: TxState) -> Reservation | None:
    """The reservation to price: ended, and only when the tariff has reservation elements
    (else it is free and a CDR starts at charging)."""
    held, tariff = state.reservation, state.tariff
    if held is None or held.end is None or held.end <= held.start or tariff is None:
        return None
    if not any(e.restrictions is not None and e.restrictions.reservation is not None
               for e in tariff.elements):
        return None
    return Reservation(held.start, held.end, held.expired)


def price(state: TxState) -> PricedSession | None:
    """The session priced with its tariff so far; None without a tariff or anything to price.

    An ended reservation is priced with its tariff's reservation elements (an expired one
    is all there is: no charging follows). Also sets `state.total_cost`. A tariff the engine
    cannot price is logged, not raised: the session then goes on without a cost.
    """
    if state.tariff is None:
        return None
    reservation = _priced_reservation(state)
    held = state.reservation
    metered = [] if held is not None and held.expired else intervals(state.progress)
    if not metered and reservation is None:
        return None
    try:
        priced = price_session(state.tariff, state.time_zone, metered,
                               reservation=reservation)
    except PricingError:
        log.exception("transaction %s: tariff %s cannot price it", state.transaction_id,
                      state.tariff.id)
        return None
    state.total_cost = priced.total_cost
    return priced
