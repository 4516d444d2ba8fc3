"""The core's transactions become OCPI Sessions and, at the end, a CDR.

Each event is checked against the stored session, its new state and documents are computed
in memory once, and they are written in one transaction with the event's idempotency key
and the outbox entries for the session's owner; the push worker is woken after the commit.
The answer's wire form is the caller's (`answer`): it is stored with the key, so that a
replay answers with the very bytes of the first answer.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import TypeVar

from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import charging
from sidecar.domain import session_records as records
from sidecar.domain.parties import find_location, find_tariff
from sidecar.domain.tokens import TokenInput, owner_of, resolve_token
from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CdrLocation, SignedData
from sidecar.ocpi.enums import AuthMethod, SessionStatus, Status, TariffType
from sidecar.ocpi.locations import EVSE, Connector, Location, find_connector, find_evse
from sidecar.ocpi.sessions import CdrToken
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import ci_equal, now, utc
from sidecar.pricing import PricedSession
from sidecar.store import cdrs, idempotency, outbox
from sidecar.store import reservations as reservation_store
from sidecar.store import sessions as store
from sidecar.store.engine import Database
from sidecar.store.tariffs import get_tariff

T = TypeVar("T")

SESSIONS = "sessions"
CDRS = "cdrs"
ENDED = frozenset({SessionStatus.COMPLETED.value, SessionStatus.INVALID.value})
# A reservation's session: no transaction's events apply to it (StartTransaction continues it).
RESERVED = SessionStatus.RESERVATION.value


@dataclass(frozen=True, slots=True)
class Event:
    """What every write event has: its key, the hash of its payload, the transaction."""

    key: str
    digest: bytes
    transaction_id: str


@dataclass(frozen=True, slots=True)
class MeterInput:
    """Readings with the raw proto MeterValue each came from."""

    readings: list[tuple[charging.Reading, bytes]]


@dataclass(frozen=True, slots=True)
class StartInput:
    event: Event
    location_id: str
    evse_uid: str
    connector_id: str | None
    started_at: datetime
    token: TokenInput | None
    auth_method: AuthMethod | None
    meter_start_wh: Decimal | None
    meter: MeterInput
    charging_state: str | None
    reservation_id: int | None
    start_command_id: str | None
    tariff_id: str | None
    currency: str | None
    meter_id: str | None


@dataclass(frozen=True, slots=True)
class UpdateInput:
    event: Event
    at: datetime
    token: TokenInput | None
    charging_state: str | None
    connector_id: str | None
    meter: MeterInput
    start_command_id: str | None
    reservation_id: int | None = None


@dataclass(frozen=True, slots=True)
class EndInput:
    event: Event
    ended_at: datetime
    meter_stop_wh: Decimal | None
    stop_reason: str | None
    meter: MeterInput
    signed_data: SignedData | None
    invalid: bool


@dataclass(frozen=True, slots=True)
class MeterEvent:
    """One meter-values event; `path` prefixes its field names in errors (`events[3]`)."""

    event: Event
    meter: MeterInput
    path: str


@dataclass(frozen=True, slots=True)
class Ended:
    """What EndTransaction answers: the session, and its CDR's id ("" when none was made)."""

    session_id: str
    cdr_id: str


def lost_race(error: DBAPIError) -> bool:
    """A concurrent writer (PostgreSQL) stored the same key first, or both waited for each
    other's rows: running the work again sees the other's commit."""
    return isinstance(error, IntegrityError) or "deadlock" in str(error.orig).lower()


async def retrying(database: Database, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
    """Run `work` in a write transaction; once more if a concurrent writer (PostgreSQL) won a
    race on a unique key: the second run sees its commit (a replay or a conflict)."""
    for attempt in (1, 2):
        try:
            async with database.write() as connection:
                return await work(connection)
        except DBAPIError as error:
            if attempt == 2 or not lost_race(error):
                raise
    raise AssertionError("unreachable")


def meter_rows(pk: int, meter: MeterInput) -> list[tuple[int, datetime, bytes, bytes]]:
    """The stored rows of an event's readings, for the session with primary key `pk`."""
    return [(pk, r.at, charging.encode(r), raw) for r, raw in meter.readings]


def recipient_of(state: charging.TxState) -> tuple[str, str] | None:
    """The party a session (and its CDR) goes to: its token's owner, which the partner
    pushed to reaches (itself, or the hub it is behind)."""
    return (state.token.country_code, state.token.party_id) if state.token else None


async def enqueue_session(
    connection: AsyncConnection, state: charging.TxState, partner_id: int | None,
    push: tuple[str, tuple[str, ...]] | None,
) -> bool:
    """Queue the session change for its owner; False when there is nobody or nothing to send."""
    if partner_id is None or push is None:
        return False
    action, targets = push
    await outbox.enqueue(connection, [partner_id], SESSIONS, state.country_code,
                         state.party_id, charging.session_id_of(state), action, targets,
                         recipient=recipient_of(state))
    return True


async def advance_session(
    connection: AsyncConnection, row_pk: int, state: charging.TxState,
    new: list[tuple[int, bytes]], length: timedelta, *,
    changes: Sequence[charging.StateChange] = (), restart: bool = False,
) -> PricedSession | None:
    """Take in stored readings `new` (numbered after `state.walked_pk`) and new `changes`
    (already in `state.changes`); walk on, or replay everything when something is late,
    the start moved (`restart`), the start's own readings are not numbered yet
    (`state.replay_due`) or the session ended. Prices when that can change the cost;
    returns the pricing (None when it did not price).
    """
    readings = [charging.decode_reading(data) for _, data in new]
    items: list[charging.Reading | charging.StateChange] = [*readings, *changes]
    if (restart or state.replay_due or state.ended_at is not None
            or charging.is_late(state, items)):
        stored = await store.readings_of(connection, row_pk)
        charging.replay(state, [charging.decode_reading(data) for _, data in stored], length)
        state.walked_pk = max((pk for pk, _ in stored), default=state.walked_pk)
        state.replay_due = False
        return charging.price(state)
    closed = charging.walk(state.progress, items, length)
    if new:
        state.walked_pk = max(state.walked_pk, new[-1][0])
    if closed or changes or state.total_cost is None:
        return charging.price(state)
    return None


async def refresh_sessions(
    connection: AsyncConnection, pks: Sequence[int], length: timedelta, stamp: datetime
) -> bool:
    """Bring these running sessions up to their stored readings; queue what changed.

    Returns whether something was queued for a partner.
    """
    if not pks:
        return False
    rows = [row for row in await store.load_sessions_by_pk(connection, pks)
            if row.status not in ENDED]
    states = {row.pk: charging.decode_state(row.state) for row in rows}
    new = await store.readings_after(connection, {pk: s.walked_pk for pk, s in states.items()})
    writes: list[store.SessionWrite] = []
    pushes = []
    for row in rows:
        state = states[row.pk]
        await advance_session(connection, row.pk, state, new[row.pk], length)
        write, push = records.plan_write(row, state, row.partner_id, stamp)
        writes.append(write)
        pushes.append((state, row.partner_id, push))
    await store.update_sessions(connection, writes)
    pushed = False
    for state, partner_id, push in pushes:
        pushed = await enqueue_session(connection, state, partner_id, push) or pushed
    return pushed


def _evse(location: Location, evse_uid: str) -> EVSE:
    evse = find_evse(location, evse_uid)
    if evse is not None:
        return evse
    raise NotFound("evse_uid", f"no EVSE {evse_uid!r} at location {location.id!r}")


def _connector(evse: EVSE, connector_id: str | None) -> Connector:
    if connector_id is None:
        if len(evse.connectors) == 1:
            return evse.connectors[0]
        raise InvalidField("connector_id",
                           f"required: EVSE {evse.uid!r} has {len(evse.connectors)} connectors")
    connector = find_connector(evse, connector_id)
    if connector is not None:
        return connector
    raise NotFound("connector_id", f"no connector {connector_id!r} on EVSE {evse.uid!r}")


def cdr_location(location: Location, evse: EVSE, connector: Connector) -> CdrLocation:
    """Where the session runs, as the CDR will show it (CdrLocation keeps 45/20 characters)."""
    return CdrLocation(
        id=location.id, name=location.name, address=location.address[:45], city=location.city,
        postal_code=location.postal_code, state=location.state[:20] if location.state else None,
        country=location.country, coordinates=location.coordinates, evse_uid=evse.uid,
        evse_id=evse.evse_id or evse.uid, connector_id=connector.id,
        connector_standard=connector.standard, connector_format=connector.format,
        connector_power_type=connector.power_type)


def _valid_at(tariff: Tariff, at: datetime) -> bool:
    start, end = tariff.start_date_time, tariff.end_date_time
    return (start is None or utc(start) <= at) and (end is None or at < utc(end))


async def connector_tariff(
    connection: AsyncConnection, location: Location, connector: Connector, at: datetime
) -> Tariff | None:
    """The connector's regular tariff valid at `at` (else its first valid one)."""
    found = []
    for tariff_id in connector.tariff_ids or []:
        tariff = await get_tariff(connection, location.country_code, location.party_id,
                                  tariff_id)
        if tariff is not None and _valid_at(tariff, at):
            found.append(tariff)
    regular = [t for t in found if t.type in (None, TariffType.REGULAR)]
    chosen = regular or found
    return chosen[0] if chosen else None


def auth_method(given: AuthMethod | None, token: TokenInput,
                start_command_id: str | None, *, by_command: bool = False) -> AuthMethod:
    """The contract's derivation when the core sent none: COMMAND for a transaction of a
    START_SESSION (`start_command_id`) or one that continues a RESERVE_NOW's reservation
    (`by_command`), the token having come with the command."""
    if given is not None:
        return given
    if start_command_id or by_command:
        return AuthMethod.COMMAND
    if token.authorized_by_sidecar and token.authorization_reference:
        return AuthMethod.AUTH_REQUEST
    return AuthMethod.WHITELIST


async def _place(connection: AsyncConnection, given: StartInput
                 ) -> tuple[Location, EVSE, Connector, Tariff | None]:
    location = await find_location(connection, given.location_id)
    if location is None:
        raise NotFound("location_id", f"no location {given.location_id!r}")
    evse = _evse(location, given.evse_uid)
    if evse.status == Status.REMOVED:
        raise PreconditionFailed(f"evse_uid: EVSE {evse.uid!r} is REMOVED")
    connector = _connector(evse, given.connector_id)
    if given.tariff_id is not None:
        tariff = await find_tariff(connection, given.tariff_id)
        if tariff is None:
            raise NotFound("tariff_id", f"no tariff {given.tariff_id!r}")
    else:
        tariff = await connector_tariff(connection, location, connector, given.started_at)
    if tariff is not None and given.currency not in (None, tariff.currency):
        raise InvalidField("currency", f"tariff {tariff.id!r} is in {tariff.currency}")
    return location, evse, connector, tariff


def _new_state(given: StartInput, location: Location, evse: EVSE, connector: Connector,
               tariff: Tariff | None, token: CdrToken | None, currency: str, *,
               by_command: bool = False) -> charging.TxState:
    return charging.TxState(
        transaction_id=given.event.transaction_id, country_code=location.country_code,
        party_id=location.party_id, location_id=location.id, evse_uid=evse.uid,
        connector_id=connector.id, created_at=given.started_at,
        active_at=given.started_at if token else None, token=token,
        auth_method=auth_method(given.auth_method, given.token, given.start_command_id,
                                by_command=by_command) if given.token else None,
        authorization_reference=given.token.authorization_reference if given.token else None,
        tariff=tariff, time_zone=location.time_zone,
        currency=given.currency or (tariff.currency if tariff else currency),
        meter_id=given.meter_id, cdr_location=cdr_location(location, evse, connector),
        meter_start_wh=given.meter_start_wh,
        changes=[charging.StateChange(given.started_at, given.charging_state)]
        if given.charging_state else [],
        progress=charging.fresh(given.started_at), reservation_id=given.reservation_id,
        start_command_id=given.start_command_id)


class Sessions:
    """The transaction events over the store; `wakeup` tells the push worker of each commit.

    `period_length`: the longest charging period before a new one starts; `currency`: the
    session currency when neither the event nor a tariff gives one.
    """

    def __init__(self, database: Database, wakeup: outbox.Wakeup, *,
                 period_length: timedelta, currency: str) -> None:
        self._database = database
        self._wakeup = wakeup
        self._length = period_length
        self._currency = currency

    async def _run(self, work: Callable[[AsyncConnection], Awaitable[tuple[T, bool]]]) -> T:
        result, pushed = await retrying(self._database, work)
        if pushed:
            self._wakeup.notify()
        return result

    async def start(self, given: StartInput, answer: Callable[[str], bytes]) -> bytes:
        """StartTransaction: the new session; `answer(session_id)` is what the core hears."""
        return await self._run(lambda c: self._start(c, given, answer))

    async def update(self, given: UpdateInput, answer: Callable[[str], bytes]) -> bytes:
        """UpdateTransaction: a new token, charging state or readings of a running session;
        `answer(session_id)` is what the core hears."""
        return await self._run(lambda c: self._update(c, given, answer))

    async def end(self, given: EndInput, answer: Callable[[Ended], bytes]) -> bytes:
        """EndTransaction: the finished session and, for an eMSP's token, its CDR."""
        return await self._run(lambda c: self._end(c, given, answer))

    async def _start(self, connection: AsyncConnection, given: StartInput,
                     answer: Callable[[str], bytes]) -> tuple[bytes, bool]:
        event = given.event
        stored = await replayed(connection, event, "StartTransaction")
        if stored is not None:
            return stored, False
        if await store.load_heads(connection, [event.transaction_id]):
            # On PostgreSQL a concurrent replay may have committed between our key lookup and
            # this one; the key commits with the session, so it is visible now if it is ours.
            stored = await replayed(connection, event, "StartTransaction")
            if stored is not None:
                return stored, False
            raise Conflict("transaction_id: started before under another idempotency key")
        location, evse, connector, tariff = await _place(connection, given)
        token, partner_id = (None, None)
        if given.token is not None:
            token, partner_id = await resolve_token(
                connection, given.token, (location.country_code, location.party_id))
        claimed = await _reservation_of(connection, given.reservation_id, location.id, evse.uid,
                                        token)
        # Continuing a reservation, the reserving token was authorised by its RESERVE_NOW.
        state = _new_state(given, location, evse, connector, tariff, token, self._currency,
                           by_command=claimed is not None)
        if claimed is not None:
            return await self._continue(connection, given, state, partner_id, *claimed,
                                        answer)
        # Everything the session has is in this event: walk it here, not from the store.
        charging.replay(state, [reading for reading, _ in given.meter.readings], self._length)
        charging.price(state)
        state.replay_due = bool(given.meter.readings)
        stamp = now()
        session = records.build_session(state, stamp)
        pk = await store.insert_session(
            connection, country_code=state.country_code, party_id=state.party_id,
            transaction_id=state.transaction_id, partner_id=partner_id,
            status=session.status.value, document=codec.encode(session),
            state=charging.encode(state), last_updated=stamp)
        await store.add_meter_values(connection, meter_rows(pk, given.meter))
        response = answer(state.transaction_id)
        await idempotency.record_keys(
            connection, [(event.key, "StartTransaction", event.digest, response)], stamp)
        pushed = await enqueue_session(connection, state, partner_id, ("PUT", ()))
        return response, pushed

    async def _continue(self, connection: AsyncConnection, given: StartInput,
                        state: charging.TxState, partner_id: int | None,
                        held: reservation_store.ReservationRow, row: store.SessionRow,
                        answer: Callable[[str], bytes]) -> tuple[bytes, bool]:
        """The transaction continues the reservation's Session: RESERVATION -> ACTIVE, the
        same Session id; the reserved time (until charging starts) is priced with it."""
        reserved = charging.decode_state(row.state)
        assert reserved.reservation is not None and reserved.session_id is not None
        state.session_id = reserved.session_id
        state.reservation = charging.Reserved(held.number, reserved.reservation.start,
                                              given.started_at)
        # mod_sessions: the last authorization_reference given by the eMSP is the one shown.
        state.authorization_reference = (state.authorization_reference
                                         or reserved.authorization_reference)
        await store.assign_transaction(connection, row.pk, state.transaction_id)
        await store.add_meter_values(connection, meter_rows(row.pk, given.meter))
        charging.replay(state, [reading for reading, _ in given.meter.readings], self._length)
        charging.price(state)
        state.replay_due = bool(given.meter.readings)
        await reservation_store.set_status(connection, held.number, reservation_store.USED,
                                           transaction_id=state.transaction_id)
        stamp = now()
        response = answer(reserved.session_id)
        await idempotency.record_keys(
            connection, [(given.event.key, "StartTransaction", given.event.digest, response)],
            stamp)
        pushed = await write_session(connection, row, state, partner_id, stamp)
        return response, pushed

    async def _update(self, connection: AsyncConnection, given: UpdateInput,
                      answer: Callable[[str], bytes]) -> tuple[bytes, bool]:
        event = given.event
        stored = await replayed(connection, event, "UpdateTransaction")
        if stored is not None:
            return stored, False
        row = await _running(connection, event.transaction_id)
        state = charging.decode_state(row.state)
        if given.connector_id and not ci_equal(given.connector_id, state.connector_id):
            raise PreconditionFailed(
                f"connector_id: the transaction runs on connector {state.connector_id!r}")
        partner_id, restart = row.partner_id, False
        # The START_SESSION behind the transaction may become known only now (OCPP 2.0.1
        # remoteStartId in an Updated event); the first one given stays.
        state.start_command_id = state.start_command_id or given.start_command_id
        if given.token is not None and state.token is None:
            token, partner_id = await resolve_token(
                connection, given.token, (state.country_code, state.party_id))
            claimed = await _reservation_of(connection, given.reservation_id,
                                            state.location_id, state.evse_uid, token)
            if claimed is not None:
                row = await self._adopt(connection, row, state, *claimed)
            state.token, state.active_at = token, max(given.at, state.created_at)
            state.auth_method = auth_method(None, given.token, state.start_command_id,
                                            by_command=claimed is not None)
            state.authorization_reference = (given.token.authorization_reference
                                             or state.authorization_reference)
            restart = True
        elif partner_id is None:
            partner_id = await owner_of(connection, state.token)
        changes = []
        if given.charging_state is not None:
            changes.append(charging.StateChange(given.at, given.charging_state))
            state.changes += changes
        await self._take_in(connection, row.pk, state, given.meter, changes, restart)
        stamp = now()
        response = answer(charging.session_id_of(state))
        await idempotency.record_keys(
            connection, [(event.key, "UpdateTransaction", event.digest, response)], stamp)
        return response, await write_session(connection, row, state, partner_id, stamp)

    async def _adopt(self, connection: AsyncConnection, pending: store.SessionRow,
                     state: charging.TxState, held: reservation_store.ReservationRow,
                     reserved_row: store.SessionRow) -> store.SessionRow:
        """A transaction that started without a token (PENDING, shown to nobody) turns out
        to be the reserving driver's: the reservation's Session takes it over, with the
        readings so far, and the pending Session is dropped. The reserved time ends when the
        transaction began."""
        reserved = charging.decode_state(reserved_row.state)
        assert reserved.reservation is not None and reserved.session_id is not None
        state.session_id = reserved.session_id
        state.reservation = charging.Reserved(held.number, reserved.reservation.start,
                                              state.created_at)
        state.authorization_reference = reserved.authorization_reference
        await store.hand_over(connection, pending.pk, reserved_row.pk, state.transaction_id)
        await reservation_store.set_status(connection, held.number, reservation_store.USED,
                                           transaction_id=state.transaction_id)
        return reserved_row

    async def _take_in(self, connection: AsyncConnection, pk: int, state: charging.TxState,
                       meter: MeterInput, changes: list[charging.StateChange],
                       restart: bool) -> PricedSession | None:
        """Store the event's readings, then bring the state up to every stored reading."""
        await store.add_meter_values(connection, meter_rows(pk, meter))
        new = (await store.readings_after(connection, {pk: state.walked_pk}))[pk]
        return await advance_session(connection, pk, state, new, self._length,
                                     changes=changes, restart=restart)

    async def _end(self, connection: AsyncConnection, given: EndInput,
                   answer: Callable[[Ended], bytes]) -> tuple[bytes, bool]:
        event = given.event
        stored = await replayed(connection, event, "EndTransaction")
        if stored is not None:
            return stored, False
        row = await _running(connection, event.transaction_id)
        state = charging.decode_state(row.state)
        if given.ended_at < state.created_at:
            raise InvalidField("ended_at", "before the transaction started")
        state.ended_at, state.meter_stop_wh = given.ended_at, given.meter_stop_wh
        state.stop_reason, state.signed_data = given.stop_reason, given.signed_data
        state.invalid = given.invalid
        partner_id = row.partner_id
        if partner_id is None:
            partner_id = await owner_of(connection, state.token)
        priced = await self._take_in(connection, row.pk, state, given.meter, [], True)
        stamp = now()
        pushed = await write_session(connection, row, state, partner_id, stamp)
        cdr_id = ""
        if not state.invalid and partner_id is not None and state.token is not None:
            cdr = records.build_cdr(state, priced, stamp)
            await cdrs.add_cdr(connection, cdr, transaction_id=state.transaction_id,
                               partner_id=partner_id)
            await outbox.enqueue(connection, [partner_id], CDRS, cdr.country_code,
                                 cdr.party_id, cdr.id, outbox.POST,
                                 recipient=recipient_of(state))
            cdr_id, pushed = cdr.id, True
        response = answer(Ended(charging.session_id_of(state), cdr_id))
        await idempotency.record_keys(
            connection, [(event.key, "EndTransaction", event.digest, response)], stamp)
        return response, pushed


async def _reservation_of(
    connection: AsyncConnection, reservation_id: int | None, location_id: str, evse_uid: str,
    token: CdrToken | None,
) -> tuple[reservation_store.ReservationRow, store.SessionRow] | None:
    """The reservation in place that this transaction uses: the one it names (the number we
    handed out) or else one held at this location for its token; either only when the token
    is the reserving one and the EVSE the reserved one (any, when none was named)."""
    if token is None:
        return None
    if reservation_id is not None:
        named = await reservation_store.by_number(connection, reservation_id)
        held = [named] if named is not None and named.status == reservation_store.RESERVED \
            and ci_equal(named.location_id, location_id) else []
    else:
        held = await reservation_store.held_at(connection, location_id, token.uid)
    for reservation in held:
        if not ci_equal(reservation.token_uid, token.uid) or reservation.session_id is None:
            continue
        if reservation.evse_uid is None or ci_equal(reservation.evse_uid, evse_uid):
            row = await store.load_session(connection, reservation.session_id)
            if row is not None and row.status == RESERVED:
                return reservation, row
    return None


async def replayed(connection: AsyncConnection, event: Event, method: str) -> bytes | None:
    stored = await idempotency.find_key(connection, event.key)
    return idempotency.replayed(stored, method, event.digest, "idempotency_key")


async def _running(connection: AsyncConnection, transaction_id: str) -> store.SessionRow:
    row = await store.load_session(connection, transaction_id)
    if row is None or row.status == RESERVED:
        raise NotFound("transaction_id", f"no transaction {transaction_id!r}")
    if row.status in ENDED:
        raise PreconditionFailed("transaction_id: transaction ended")
    return row


async def write_session(connection: AsyncConnection, row: store.SessionRow, state: charging.TxState,
                  partner_id: int | None, stamp: datetime) -> bool:
    write, push = records.plan_write(row, state, partner_id, stamp)
    await store.update_sessions(connection, [write])
    return await enqueue_session(connection, state, partner_id, push)
