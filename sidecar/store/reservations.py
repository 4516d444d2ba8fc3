"""Reservation numbers for charge points, and where each reservation stands (rows only)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import case, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now
from sidecar.store import tables
from sidecar.store.dialect import upsert

REQUESTED = "REQUESTED"
RESERVED = "RESERVED"
USED = "USED"
CANCELLED = "CANCELLED"
EXPIRED = "EXPIRED"
ENDED = frozenset({USED, CANCELLED, EXPIRED})

_r = tables.reservations


@dataclass(frozen=True, slots=True)
class ReservationRow:
    """One reservation; `number` is what the charge point knows (OCPP reservationId)."""

    number: int
    partner_id: int
    reservation_id: str
    location_id: str
    evse_uid: str | None
    token_uid: str
    status: str
    command_id: str
    session_id: str | None
    transaction_id: str | None
    created_at: datetime


def _row(r: Any) -> ReservationRow:
    return ReservationRow(r.pk, r.partner_id, r.reservation_id, r.location_id, r.evse_uid,
                          r.token_uid, r.status, r.command_id, r.session_id, r.transaction_id,
                          r.created_at)


async def allot(
    connection: AsyncConnection, *, partner_id: int, location_id: str, reservation_id: str,
    evse_uid: str | None, token_uid: str, command_id: str,
) -> int:
    """The number of this eMSP's reservation at this location: a new one, or the one it had
    (an update keeps it, so the charge point replaces the reservation). The latest
    RESERVE_NOW (`command_id`) is the one a cancellation by the CPO is reported to."""
    stamp = now()
    values = {"evse_uid": evse_uid, "token_uid": token_uid.upper(), "command_id": command_id,
              "location_id": location_id, "reservation_id": reservation_id,
              "last_updated": stamp}
    statement = upsert(connection, _r).values(
        partner_id=partner_id, location_key=location_id.lower(),
        reservation_key=reservation_id.upper(), status=REQUESTED, created_at=stamp, **values)
    in_place = _r.c.status == RESERVED
    await connection.execute(statement.on_conflict_do_update(
        index_elements=[_r.c.partner_id, _r.c.location_key, _r.c.reservation_key],
        set_={**values,
              # A reservation in place keeps its EVSE and token until the charge point
              # accepts the update (set_place); one that ended is asked for anew.
              "evse_uid": case((in_place, _r.c.evse_uid), else_=statement.excluded.evse_uid),
              "token_uid": case((in_place, _r.c.token_uid),
                                else_=statement.excluded.token_uid),
              "status": case((_r.c.status.in_(list(ENDED)), REQUESTED), else_=_r.c.status),
              "session_id": case((_r.c.status.in_(list(ENDED)), None),
                                 else_=_r.c.session_id)}))
    number = await connection.scalar(select(_r.c.pk).where(*_key(partner_id, location_id,
                                                                 reservation_id)))
    assert number is not None
    return int(number)


def _key(partner_id: int, location_id: str, reservation_id: str) -> list[Any]:
    return [_r.c.partner_id == partner_id, _r.c.location_key == location_id.lower(),
            _r.c.reservation_key == reservation_id.upper()]


def _locked(connection: AsyncConnection, query: Any, lock: bool) -> Any:
    # PostgreSQL: two reports on one reservation wait for each other (SQLite writes are
    # serialised anyway).
    return query.with_for_update() if lock and connection.dialect.name == "postgresql" \
        else query


async def find(connection: AsyncConnection, partner_id: int, location_id: str,
               reservation_id: str, *, lock: bool = False) -> ReservationRow | None:
    """This eMSP's reservation at this location (`lock`: until the transaction ends)."""
    row = (await connection.execute(_locked(
        connection, select(_r).where(*_key(partner_id, location_id, reservation_id)),
        lock))).first()
    return _row(row) if row is not None else None


async def latest(connection: AsyncConnection, partner_id: int, reservation_id: str
                 ) -> ReservationRow | None:
    """This eMSP's most recently changed reservation with this id (CANCEL_RESERVATION names
    no location)."""
    row = (await connection.execute(
        select(_r).where(_r.c.partner_id == partner_id,
                         _r.c.reservation_key == reservation_id.upper())
        .order_by(_r.c.last_updated.desc(), _r.c.pk.desc()).limit(1))).first()
    return _row(row) if row is not None else None


async def by_number(connection: AsyncConnection, number: int, *, lock: bool = False
                    ) -> ReservationRow | None:
    """The reservation the charge point knows by this number."""
    row = (await connection.execute(_locked(connection, select(_r).where(_r.c.pk == number),
                                            lock))).first()
    return _row(row) if row is not None else None


async def by_command(connection: AsyncConnection, command_id: str) -> ReservationRow | None:
    """The reservation whose latest RESERVE_NOW is this command."""
    row = (await connection.execute(select(_r).where(_r.c.command_id == command_id))).first()
    return _row(row) if row is not None else None


async def held_at(connection: AsyncConnection, location_id: str, token_uid: str
                  ) -> list[ReservationRow]:
    """Reservations in place (RESERVED) at this location for this token, oldest first."""
    rows = await connection.execute(
        select(_r).where(_r.c.location_key == location_id.lower(),
                         _r.c.token_uid == token_uid.upper(), _r.c.status == RESERVED)
        .order_by(_r.c.pk))
    return [_row(r) for r in rows]


async def set_place(connection: AsyncConnection, number: int, evse_uid: str | None,
                    token_uid: str) -> None:
    """The charge point accepted an update of a reservation in place: its EVSE and token."""
    await connection.execute(update(_r).where(_r.c.pk == number).values(
        evse_uid=evse_uid, token_uid=token_uid.upper(), last_updated=now()))


async def set_status(connection: AsyncConnection, number: int, status: str,
                     **fields: str | None) -> None:
    """Move a reservation on (`fields`: session_id, transaction_id)."""
    await connection.execute(update(_r).where(_r.c.pk == number).values(
        status=status, last_updated=now(), **fields))
