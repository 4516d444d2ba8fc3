"""Reservations eMSPs made (RESERVE_NOW) as the core reports on them.

Accepted: a Session with status RESERVATION, PUT to the eMSP that reserved. Cancelled (by
the eMSP's CANCEL_RESERVATION, or by the charge point or CPO) or expired: the Session is
COMPLETED and, when the tariff prices the reserved time, a reservation CDR is POSTed. A
transaction that continues a reservation is StartTransaction's (sessions.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import charging
from sidecar.domain import session_records as records
from sidecar.domain.parties import find_location
from sidecar.domain.sessions import (
    CDRS,
    RESERVED,
    cdr_location,
    connector_tariff,
    enqueue_session,
    recipient_of,
    retrying,
    write_session,
)
from sidecar.errors import NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CdrLocation
from sidecar.ocpi.commands import CommandResult, ReserveNow
from sidecar.ocpi.enums import AuthMethod, CommandResultType
from sidecar.ocpi.locations import EVSE, Location, find_evse
from sidecar.ocpi.sessions import CdrToken
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import now
from sidecar.store import cdrs, idempotency, outbox
from sidecar.store import commands as command_store
from sidecar.store import reservations as store
from sidecar.store import sessions as session_store
from sidecar.store.engine import Database

ACCEPTED = "ACCEPTED"
CANCELLED = "CANCELLED"
EXPIRED = "EXPIRED"
_METHOD = "ReportReservationStatus"
# OCPI: fields of a reservation without an EVSE (yet) are "#NA".
_NA = "#NA"


@dataclass(frozen=True, slots=True)
class StatusInput:
    """A reservation status the core reported, with its key and payload hash."""

    key: str
    digest: bytes
    number: int
    status: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Outcome:
    """The reservation's Session, and the CDR made now ("" when none)."""

    session_id: str
    cdr_id: str


async def report_status(database: Database, wakeup: outbox.Wakeup, given: StatusInput,
                        currency: str, answer: Callable[[Outcome], bytes]) -> bytes:
    """ReportReservationStatus: once per idempotency key, in one transaction."""
    async def work(connection: AsyncConnection) -> tuple[bytes, bool]:
        stored = idempotency.replayed(await idempotency.find_key(connection, given.key),
                                      _METHOD, given.digest, "idempotency_key")
        if stored is not None:
            return stored, False
        outcome, pushed = await _apply(connection, given, currency)
        response = answer(outcome)
        await idempotency.record_keys(
            connection, [(given.key, _METHOD, given.digest, response)], now())
        return response, pushed

    response, pushed = await retrying(database, work)
    if pushed:
        wakeup.notify()
    return response


async def _apply(connection: AsyncConnection, given: StatusInput, currency: str
                 ) -> tuple[Outcome, bool]:
    held = await store.by_number(connection, given.number, lock=True)
    if held is None:
        raise NotFound("ocpp_reservation_id", f"no reservation {given.number}")
    if held.status in store.ENDED:
        raise PreconditionFailed(f"ocpp_reservation_id: reservation {given.number} ended "
                                 f"({held.status})")
    if given.status == ACCEPTED:
        return await _accept_reported(connection, held, given.at, currency)
    if held.status != store.RESERVED or held.session_id is None:
        raise PreconditionFailed(
            f"ocpp_reservation_id: reservation {given.number} was never accepted")
    return await end(connection, held, given.at, expired=given.status == EXPIRED,
                     by_cpo=given.status == CANCELLED)


async def _accept_reported(connection: AsyncConnection, held: store.ReservationRow,
                           at: datetime, currency: str) -> tuple[Outcome, bool]:
    """ACCEPTED through ReportReservationStatus: as its RESERVE_NOW's ACCEPTED result (the
    eMSP is sent that result when the command was still open)."""
    command = await command_store.get_command(connection, held.command_id)
    assert command is not None  # a reservation row is written with its command
    closed = await command_store.close_command(
        connection, command, CommandResult(result=CommandResultType.ACCEPTED))
    pushed = await accept(connection, command, at, currency) or closed
    current = await store.by_number(connection, held.number)
    assert current is not None
    return Outcome(current.session_id or "", ""), pushed


async def after_result(connection: AsyncConnection, command: command_store.CommandRow,
                       result: CommandResultType, currency: str) -> bool:
    """What a command result does to reservations: an accepted RESERVE_NOW is in place, an
    accepted CANCEL_RESERVATION ends it. Returns whether something was queued."""
    if result != CommandResultType.ACCEPTED:
        return False
    if command.type == "RESERVE_NOW":
        return await accept(connection, command, now(), currency)
    if command.type == "CANCEL_RESERVATION":
        wanted = codec.decode(command.request, _Cancel)
        held = await store.latest(connection, command.partner_id, wanted.reservation_id)
        if held is not None and held.status == store.RESERVED:
            return (await end(connection, held, now(), expired=False, by_cpo=False))[1]
    return False


class _Cancel(msgspec.Struct):
    reservation_id: str


async def cancelled_by_cpo(database: Database, wakeup: outbox.Wakeup,
                           command: command_store.CommandRow) -> bool:
    """CANCELED_RESERVATION reported as the result of an accepted RESERVE_NOW: the same as
    ReportReservationStatus CANCELLED now. True when it ended the reservation."""
    async def work(connection: AsyncConnection) -> tuple[bool, bool]:
        held = await store.by_command(connection, command.command_id)
        if held is None or held.status != store.RESERVED:
            return False, False
        return True, (await end(connection, held, now(), expired=False, by_cpo=True))[1]

    ended, pushed = await retrying(database, work)
    if pushed:
        wakeup.notify()
    return ended


def _place(location: Location, evse_uid: str | None
           ) -> tuple[EVSE | None, str, CdrLocation | None]:
    """The reserved EVSE, its connector id ("#NA" unless it has exactly one), the
    CdrLocation (None: the location has no EVSE to describe a connector with)."""
    evse = find_evse(location, evse_uid) if evse_uid else None
    chosen = evse or next((e for e in location.evses or [] if e.connectors), None)
    if chosen is None:
        return None, _NA, None
    connector = chosen.connectors[0]
    where = cdr_location(location, chosen, connector)
    if evse is None:
        where = msgspec.structs.replace(where, evse_uid=_NA, evse_id=_NA, connector_id=_NA)
        return None, _NA, where
    if len(evse.connectors) != 1:
        return evse, _NA, msgspec.structs.replace(where, connector_id=_NA)
    return evse, connector.id, where


async def _tariff(connection: AsyncConnection, location: Location, evse: EVSE | None,
                  at: datetime) -> Tariff | None:
    """The tariff of the reserved EVSE's connectors (of any EVSE when none is named)."""
    evses = [evse] if evse is not None else list(location.evses or [])
    for candidate in evses:
        for connector in candidate.connectors:
            tariff = await connector_tariff(connection, location, connector, at)
            if tariff is not None:
                return tariff
    return None


async def _reserved_state(connection: AsyncConnection, body: ReserveNow,
                          location: Location, session_id: str, number: int, at: datetime,
                          currency: str) -> charging.TxState | None:
    """A reservation's session state, reserved since `at`; None when the location has
    nothing to reserve any more."""
    evse, connector_id, where = _place(location, body.evse_uid)
    if where is None:
        return None
    tariff = await _tariff(connection, location, evse, at)
    token = CdrToken(country_code=body.token.country_code, party_id=body.token.party_id,
                     uid=body.token.uid, type=body.token.type,
                     contract_id=body.token.contract_id)
    return charging.TxState(
        transaction_id=session_id, session_id=session_id,
        country_code=location.country_code, party_id=location.party_id,
        location_id=location.id, evse_uid=evse.uid if evse else _NA,
        connector_id=connector_id, created_at=at, token=token,
        auth_method=AuthMethod.COMMAND,
        authorization_reference=body.authorization_reference, tariff=tariff,
        time_zone=location.time_zone, currency=tariff.currency if tariff else currency,
        cdr_location=where, progress=charging.fresh(at),
        reservation=charging.Reserved(number, at))


async def accept(connection: AsyncConnection, command: command_store.CommandRow,
                 at: datetime, currency: str) -> bool:
    """The charge point holds the reservation of this RESERVE_NOW: its Session (status
    RESERVATION, id = the command id) is stored and PUT to the eMSP that reserved. Once:
    a repeated report changes nothing; an accepted update (the latest RESERVE_NOW of a
    reservation in place) changes the Session's EVSE, token and reference (a PATCH)."""
    body = codec.decode(command.request, ReserveNow)
    held = await store.find(connection, command.partner_id, body.location_id,
                            body.reservation_id, lock=True)
    location = await find_location(connection, body.location_id)
    if held is None or location is None or held.status in store.ENDED:
        return False
    if held.status == store.RESERVED:
        if held.command_id != command.command_id or held.session_id == command.command_id:
            return False
        return await _update(connection, held, body, location, currency)
    session_id = command.command_id
    state = await _reserved_state(connection, body, location, session_id, held.number, at,
                                  currency)
    if state is None:
        return False
    stamp = now()
    session = records.build_session(state, stamp)
    await session_store.insert_session(
        connection, country_code=state.country_code, party_id=state.party_id,
        transaction_id=session_id, partner_id=command.partner_id,
        status=session.status.value, document=codec.encode(session),
        state=charging.encode(state), last_updated=stamp)
    await store.set_status(connection, held.number, store.RESERVED, session_id=session_id)
    return await enqueue_session(connection, state, command.partner_id, ("PUT", ()))


async def _update(connection: AsyncConnection, held: store.ReservationRow, body: ReserveNow,
                  location: Location, currency: str) -> bool:
    assert held.session_id is not None
    row = await session_store.load_session(connection, held.session_id)
    if row is None or row.status != RESERVED:
        return False
    old = charging.decode_state(row.state)
    assert old.reservation is not None
    # The reservation goes on: it was made when first accepted.
    state = await _reserved_state(connection, body, location, held.session_id, held.number,
                                  old.reservation.start, currency)
    if state is None:
        return False
    await store.set_place(connection, held.number, body.evse_uid, body.token.uid)
    return await write_session(connection, row, state, row.partner_id, now())


async def end(connection: AsyncConnection, held: store.ReservationRow, at: datetime, *,
              expired: bool, by_cpo: bool) -> tuple[Outcome, bool]:
    """A reservation in place ends unused: its Session is COMPLETED at `at` and, when the
    tariff prices the reserved time (RESERVATION_EXPIRES first for an expired one), a CDR
    is POSTed. `by_cpo`: the eMSP's RESERVE_NOW hears CANCELED_RESERVATION."""
    assert held.session_id is not None
    row = await session_store.load_session(connection, held.session_id)
    if row is None or row.status != RESERVED:
        # A transaction took it over meanwhile (its row lock made us wait for it).
        raise PreconditionFailed(f"ocpp_reservation_id: reservation {held.number} was used")
    state = charging.decode_state(row.state)
    assert state.reservation is not None
    start = state.reservation.start
    state.reservation = charging.Reserved(held.number, start, max(at, start), expired)
    state.ended_at = max(at, start)
    priced = charging.price(state)
    stamp = now()
    pushed = await write_session(connection, row, state, row.partner_id, stamp)
    cdr_id = ""
    if (priced is not None and row.partner_id is not None and state.token is not None
            and priced.total_cost.excl_vat > 0):
        cdr = records.build_cdr(state, priced, stamp)
        await cdrs.add_cdr(connection, cdr, transaction_id=row.transaction_id,
                           partner_id=row.partner_id)
        await outbox.enqueue(connection, [row.partner_id], CDRS, cdr.country_code,
                             cdr.party_id, cdr.id, outbox.POST, recipient=recipient_of(state))
        cdr_id, pushed = cdr.id, True
    await store.set_status(connection, held.number, store.EXPIRED if expired else store.CANCELLED)
    if by_cpo:
        command = await command_store.get_command(connection, held.command_id)
        if command is not None:
            await command_store.post_result(
                connection, command, CommandResult(result=CommandResultType.CANCELED_RESERVATION))
            pushed = True
    return Outcome(held.session_id, cdr_id), pushed
