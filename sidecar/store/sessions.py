"""Sessions of the core's transactions: the OCPI document, the builder's state, meter values.

The push worker calls `session_patch_body` to build a PATCH from the current document, and
`mark_delivered` once a partner accepted it, so that the next PATCH appends only the charging
periods that partner has not seen (OCPI appends PATCHed periods; a PUT replaces them all).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store import tables
from sidecar.store.bulk import insert_rows
from sidecar.store.engine import touch

_t = tables.sessions
_m = tables.meter_values
_CHUNK = 900
# Built once: on the meter-values path, building a statement costs more than running it.
_HEADS = (select(_t.c.pk, _t.c.transaction_id, _t.c.status)
          .where(_t.c.transaction_id.in_(bindparam("ids", expanding=True)))
          .order_by(_t.c.transaction_id))
_HEADS_LOCKED = _HEADS.with_for_update()


@dataclass(frozen=True, slots=True)
class SessionRow:
    """A stored session: its indexed columns, the document and the builder's state."""

    pk: int
    transaction_id: str
    country_code: str
    party_id: str
    partner_id: int | None
    status: str
    document: bytes
    state: bytes
    last_updated: datetime


@dataclass(frozen=True, slots=True)
class SessionWrite:
    """New values for a stored session (by primary key)."""

    pk: int
    partner_id: int | None
    status: str
    document: bytes
    state: bytes
    last_updated: datetime


def _row(row: Any) -> SessionRow:
    return SessionRow(row.pk, row.transaction_id, row.country_code, row.party_id,
                      row.partner_id, row.status, bytes(row.document), bytes(row.state),
                      row.last_updated)


@dataclass(frozen=True, slots=True)
class SessionHead:
    """What a meter-values event needs to know of its session."""

    pk: int
    status: str


_COLUMNS = (_t.c.pk, _t.c.transaction_id, _t.c.country_code, _t.c.party_id, _t.c.partner_id,
            _t.c.status, _t.c.document, _t.c.state, _t.c.last_updated)


def _locked(connection: AsyncConnection, query: Any, lock: bool) -> Any:
    # PostgreSQL: the rows stay locked until the caller's transaction ends, taken in one
    # order (the query's) so that two writers never wait for each other in a circle.
    if lock and connection.dialect.name == "postgresql":
        return query.with_for_update()
    return query


async def load_sessions(
    connection: AsyncConnection, transaction_ids: Iterable[str], *, lock: bool = True
) -> dict[str, SessionRow]:
    """The stored sessions of these transactions, by transaction id (locked: see _locked)."""
    wanted = sorted(set(transaction_ids))
    found: dict[str, SessionRow] = {}
    for start in range(0, len(wanted), _CHUNK):
        query = (select(*_COLUMNS).where(_t.c.transaction_id.in_(wanted[start:start + _CHUNK]))
                 .order_by(_t.c.transaction_id))
        for row in await connection.execute(_locked(connection, query, lock)):
            found[row.transaction_id] = _row(row)
    return found


async def load_sessions_by_pk(
    connection: AsyncConnection, pks: Iterable[int], *, lock: bool = True
) -> list[SessionRow]:
    """The stored sessions with these primary keys, in key order (locked: see _locked)."""
    wanted = sorted(set(pks))
    found: list[SessionRow] = []
    for start in range(0, len(wanted), _CHUNK):
        query = (select(*_COLUMNS).where(_t.c.pk.in_(wanted[start:start + _CHUNK]))
                 .order_by(_t.c.pk))
        found += [_row(row) for row in await connection.execute(
            _locked(connection, query, lock))]
    return found


async def load_heads(
    connection: AsyncConnection, transaction_ids: Iterable[str], *, lock: bool = True
) -> dict[str, SessionHead]:
    """Primary key and status of these transactions' sessions (locked: see _locked).

    Holding the lock while adding meter values keeps one session's readings numbered in the
    order they commit, which is what `readings_after` relies on.
    """
    wanted = sorted(set(transaction_ids))
    found: dict[str, SessionHead] = {}
    query = _HEADS_LOCKED if lock and connection.dialect.name == "postgresql" else _HEADS
    for start in range(0, len(wanted), _CHUNK):
        for row in await connection.execute(query, {"ids": wanted[start:start + _CHUNK]}):
            found[row.transaction_id] = SessionHead(row.pk, row.status)
    return found


async def load_session(
    connection: AsyncConnection, transaction_id: str, *, lock: bool = True
) -> SessionRow | None:
    """One stored session by transaction id, or None."""
    return (await load_sessions(connection, [transaction_id], lock=lock)).get(transaction_id)


async def insert_session(
    connection: AsyncConnection,
    *,
    country_code: str,
    party_id: str,
    transaction_id: str,
    partner_id: int | None,
    status: str,
    document: bytes,
    state: bytes,
    last_updated: datetime,
) -> int:
    """Store a new session; returns its primary key."""
    result = await connection.execute(
        insert(_t).values(country_code=country_code.upper(), party_id=party_id.upper(),
                          object_id=transaction_id, transaction_id=transaction_id,
                          partner_id=partner_id, status=status, document=document, state=state,
                          last_updated=last_updated)
        .returning(_t.c.pk))
    touch(connection, _t.name)
    return int(result.scalar_one())


async def assign_transaction(connection: AsyncConnection, pk: int, transaction_id: str) -> None:
    """A reservation's session is continued by this transaction: found by its id from now."""
    await connection.execute(update(_t).where(_t.c.pk == pk).values(
        transaction_id=transaction_id))


async def hand_over(connection: AsyncConnection, from_pk: int, to_pk: int,
                    transaction_id: str) -> None:
    """The transaction of session `from_pk` and its readings continue in session `to_pk`
    (a reservation's); `from_pk` (pending, never shown to a partner) is deleted."""
    await connection.execute(update(_m).where(_m.c.session_pk == from_pk)
                             .values(session_pk=to_pk))
    await connection.execute(delete(_t).where(_t.c.pk == from_pk))
    await assign_transaction(connection, to_pk, transaction_id)
    touch(connection, _t.name)


async def update_sessions(connection: AsyncConnection, writes: Sequence[SessionWrite]) -> None:
    """Write new documents and states, all in one statement (executemany)."""
    if not writes:
        return
    statement = update(_t).where(_t.c.pk == bindparam("b_pk")).values(
        partner_id=bindparam("b_partner_id"), status=bindparam("b_status"),
        document=bindparam("b_document"), state=bindparam("b_state"),
        last_updated=bindparam("b_last_updated"))
    await connection.execute(statement, [
        {"b_pk": w.pk, "b_partner_id": w.partner_id, "b_status": w.status,
         "b_document": w.document, "b_state": w.state, "b_last_updated": w.last_updated}
        for w in writes])
    touch(connection, _t.name)


async def add_meter_values(
    connection: AsyncConnection, rows: Sequence[tuple[int, datetime, bytes, bytes]]
) -> None:
    """Append (session pk, sampled at, reading, raw proto) rows (executemany)."""
    await insert_rows(connection, _m, ("session_pk", "at", "reading", "raw"),
                      [(pk, int(at.timestamp()), reading, raw) for pk, at, reading, raw in rows])


async def readings_of(connection: AsyncConnection, session_pk: int) -> list[tuple[int, bytes]]:
    """Every stored reading of a session as (pk, reading), oldest first (ties: arrival)."""
    rows = await connection.execute(
        select(_m.c.pk, _m.c.reading).where(_m.c.session_pk == session_pk)
        .order_by(_m.c.at, _m.c.pk))
    return [(row.pk, bytes(row.reading)) for row in rows]


async def readings_after(
    connection: AsyncConnection, walked: dict[int, int]
) -> dict[int, list[tuple[int, bytes]]]:
    """Per session pk, its readings numbered after `walked[pk]`, as (pk, reading), in order."""
    found: dict[int, list[tuple[int, bytes]]] = {pk: [] for pk in walked}
    wanted = sorted(walked)
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start:start + _CHUNK]
        rows = await connection.execute(
            select(_m.c.session_pk, _m.c.pk, _m.c.reading)
            .where(_m.c.session_pk.in_(chunk), _m.c.pk > min(walked[pk] for pk in chunk))
            .order_by(_m.c.pk))
        for row in rows:
            if row.pk > walked[row.session_pk]:
                found[row.session_pk].append((row.pk, bytes(row.reading)))
    return found


class _Place(msgspec.Struct):
    location_id: str = ""
    evse_uid: str = ""
    connector_id: str = ""


@dataclass(frozen=True, slots=True)
class SessionPlace:
    """Where a session runs: the core's transaction id and the OCPI location, EVSE and
    connector of its document."""

    transaction_id: str
    location_id: str
    evse_uid: str
    connector_id: str


async def place_of(connection: AsyncConnection, session_id: str) -> SessionPlace | None:
    """The transaction and place of a session; None when unknown."""
    row = (await connection.execute(
        select(_t.c.transaction_id, _t.c.document).where(_t.c.object_id == session_id)
        .limit(1))).first()
    if row is None:
        return None
    place = msgspec.json.decode(bytes(row.document), type=_Place)
    return SessionPlace(str(row.transaction_id), place.location_id, place.evse_uid,
                        place.connector_id)


async def partner_session(
    connection: AsyncConnection, session_id: str, partner_id: int,
    party: tuple[str, str] | None = None,
) -> SessionRow | None:
    """A session owned by this partner (optionally of one of our parties), or None."""
    query = select(_t).where(_t.c.object_id == session_id, _t.c.partner_id == partner_id)
    if party is not None:
        query = query.where(_t.c.country_code == party[0], _t.c.party_id == party[1])
    row = (await connection.execute(query.limit(1))).first()
    return _row(row) if row is not None else None


# --- what the push worker calls ---


class _Periods(msgspec.Struct):
    charging_periods: list[msgspec.Raw] | None = None


def period_count(document: bytes) -> int:
    """How many charging periods a session document holds (a PUT delivers them all)."""
    return len(msgspec.json.decode(document, type=_Periods).charging_periods or [])


def session_patch_body(document: bytes, targets: Iterable[str], delivered_periods: int) -> bytes:
    """The PATCH body for these top-level fields, with their current values.

    `charging_periods` carries only the periods after the first `delivered_periods` (the
    receiver appends them) and is left out when there are none; `last_updated` is always
    sent. A field the document no longer has is sent as null (not set). Values are copied
    as stored, so numbers keep every digit.
    """
    fields = msgspec.json.decode(document, type=dict[str, msgspec.Raw])
    body: dict[str, msgspec.Raw | None] = {}
    for name in dict.fromkeys(targets):
        if name == "last_updated":
            continue
        if name == "charging_periods":
            periods = msgspec.json.decode(fields.get(name, b"null"),
                                          type=list[msgspec.Raw] | None) or []
            if len(periods) > delivered_periods:
                body[name] = msgspec.Raw(msgspec.json.encode(periods[delivered_periods:]))
            continue
        body[name] = fields.get(name)
    body["last_updated"] = fields["last_updated"]
    return msgspec.json.encode(body)


def _session_key(country_code: str, party_id: str, session_id: str) -> list[Any]:
    return [_t.c.country_code == country_code.upper(), _t.c.party_id == party_id.upper(),
            _t.c.object_id == session_id]


async def delivered_periods(
    connection: AsyncConnection, country_code: str, party_id: str, session_id: str,
    partner_id: int,
) -> int:
    """How many charging periods of this session the partner holds (0 when none or unknown)."""
    delivered = await connection.scalar(
        select(_t.c.delivered).where(*_session_key(country_code, party_id, session_id)))
    return int((delivered or {}).get(str(partner_id), 0))


async def mark_delivered(
    connection: AsyncConnection, country_code: str, party_id: str, session_id: str,
    partner_id: int, count: int,
) -> None:
    """Record that the partner now holds the first `count` charging periods of the session.

    After a PUT that is every period of the document sent (`period_count`); after a PATCH,
    the count before plus the periods it carried.
    """
    query = select(_t.c.pk, _t.c.delivered).where(
        *_session_key(country_code, party_id, session_id))
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await connection.execute(query)).first()
    if row is None:
        return
    delivered = {**(row.delivered or {}), str(partner_id): count}
    await connection.execute(update(_t).where(_t.c.pk == row.pk).values(delivered=delivered))
