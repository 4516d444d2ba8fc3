"""The Session and CDR documents of a transaction, and what its owner must be sent (pure)."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sidecar.domain.charging import (
    PARKING_STATES,
    SECONDS_PER_HOUR,
    ZERO,
    TxState,
    charging_period,
    encode,
    hours,
    kwh,
    reserving,
    session_id_of,
    session_start,
)
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.ocpi.enums import AuthMethod, SessionStatus, TokenType
from sidecar.ocpi.enums import CdrDimensionType as Dim
from sidecar.ocpi.sessions import CdrDimension, CdrToken, ChargingPeriod, Session
from sidecar.ocpi.types import Price, number, utc
from sidecar.pricing import PricedSession
from sidecar.store.sessions import SessionRow, SessionWrite


def status_of(state: TxState) -> SessionStatus:
    if state.invalid:
        return SessionStatus.INVALID
    if state.ended_at is not None:
        return SessionStatus.COMPLETED
    if reserving(state):
        return SessionStatus.RESERVATION
    return SessionStatus.ACTIVE if state.token is not None else SessionStatus.PENDING


def _token(state: TxState) -> CdrToken:
    # No token yet (PENDING): the session is private; a placeholder keeps it a valid object.
    return state.token or CdrToken(country_code=state.country_code, party_id=state.party_id,
                                   uid="#NA", type=TokenType.OTHER, contract_id="#NA")


def build_session(state: TxState, last_updated: datetime) -> Session:
    """The Session document: closed periods only while it runs, so that they never change."""
    tariff_id = state.tariff.id if state.tariff else None
    periods = [charging_period(p, tariff_id) for p in state.progress.closed]
    return Session(
        country_code=state.country_code, party_id=state.party_id, id=session_id_of(state),
        start_date_time=session_start(state), end_date_time=state.ended_at,
        kwh=kwh(state.progress), cdr_token=_token(state),
        auth_method=state.auth_method or AuthMethod.WHITELIST,
        authorization_reference=state.authorization_reference, location_id=state.location_id,
        evse_uid=state.evse_uid, connector_id=state.connector_id, meter_id=state.meter_id,
        currency=state.currency, charging_periods=periods or None,
        total_cost=state.total_cost, status=status_of(state), last_updated=last_updated)


def _unpriced_totals(state: TxState) -> dict[str, Any]:
    progress, end = state.progress, state.ended_at or state.created_at
    parked = sum(((p.end - p.start) for p in progress.closed if p.state in PARKING_STATES),
                 timedelta())
    zero = Price(excl_vat=ZERO, incl_vat=ZERO)
    return {"total_cost": zero, "total_energy": kwh(progress),
            "total_time": hours(session_start(state), end),
            "total_parking_time": number(Decimal(parked // timedelta(seconds=1))
                                         / SECONDS_PER_HOUR)}


def build_cdr(state: TxState, priced: PricedSession | None, last_updated: datetime) -> CDR:
    """The final record of an ended session (its id is the session id)."""
    assert state.ended_at is not None and state.token is not None
    start = session_start(state)
    if priced is not None and priced.total_reservation_cost is not None:
        # mod_cdrs: with a reservation, the CDR starts when the reservation did.
        start = priced.start_date_time
    remarks = [f"Stop reason: {state.stop_reason}"] if state.stop_reason else []
    if priced is not None:
        costs: dict[str, Any] = dict(priced.cdr_costs())
        costs.pop("currency")
        if costs["total_reservation_cost"] is None:
            costs.pop("total_reservation_cost")
        tariffs = [state.tariff] if state.tariff else None
    else:
        tariff_id = None
        costs = {"charging_periods": [charging_period(p, tariff_id, cdr=True)
                                      for p in state.progress.closed],
                 **_unpriced_totals(state)}
        tariffs = None
        remarks.append("No tariff applied")
    if not costs["charging_periods"]:  # a session of no duration still has one period
        costs["charging_periods"] = [ChargingPeriod(start_date_time=start, dimensions=[
            CdrDimension(type=Dim.ENERGY, volume=kwh(state.progress)),
            CdrDimension(type=Dim.TIME, volume=ZERO)])]
    session_id = session_id_of(state)
    return CDR(
        country_code=state.country_code, party_id=state.party_id, id=session_id,
        start_date_time=start, end_date_time=state.ended_at, session_id=session_id,
        cdr_token=state.token, auth_method=state.auth_method or AuthMethod.WHITELIST,
        authorization_reference=state.authorization_reference,
        cdr_location=state.cdr_location, meter_id=state.meter_id, currency=state.currency,
        tariffs=tariffs, signed_data=state.signed_data, remark="; ".join(remarks) or None,
        last_updated=last_updated, **costs)


def push_action(old: Session | None, new: Session) -> tuple[str, tuple[str, ...]] | None:
    """How a partner that holds `old` gets to `new`: ("PUT", ()), ("PATCH", fields) or None.

    PATCH names the changed top-level fields (and last_updated); a change to periods the
    partner may hold already cannot be PATCHed (periods are appended), so it is a PUT.
    """
    if old is None:
        return "PUT", ()
    changed = [name for name in new.__struct_fields__
               if name != "last_updated" and getattr(old, name) != getattr(new, name)]
    if not changed:
        return None
    if "charging_periods" in changed:
        before, after = old.charging_periods or [], new.charging_periods or []
        if after[:len(before)] != before:
            return "PUT", ()
    return "PATCH", (*changed, "last_updated")


def plan_write(
    row: SessionRow, state: TxState, partner_id: int | None, stamp: datetime
) -> tuple[SessionWrite, tuple[str, tuple[str, ...]] | None]:
    """The stored session after a change, and what its owner must be sent (None: nothing).

    An owner that is new to the session gets a PUT. When nothing visible changed, the
    document and its last_updated stay as they were (only the builder's state moves on).
    """
    old = codec.decode(row.document, Session)
    stamp = max(stamp, utc(old.last_updated))
    new = build_session(state, stamp)
    push = push_action(old if row.partner_id == partner_id else None, new)
    document, last_updated = row.document, row.last_updated
    if push is not None:
        document, last_updated = codec.encode(new), stamp
    write = SessionWrite(row.pk, partner_id, new.status.value, document, encode(state),
                         last_updated)
    return write, push
