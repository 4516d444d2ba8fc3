"""TransactionService: the core's transactions become OCPI Sessions and, at the end, a CDR.

Each event is checked (INVALID_ARGUMENT names the field), then applied in one database
transaction with its idempotency key and the outbox entries for the session's owner; the
answer comes after the commit, then the push worker is woken. Meter values go through a
group committer (meter_commits.py) that puts many events in one transaction.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import grpc
from ocpi_sidecar.v1 import transactions_pb2 as pb
from ocpi_sidecar.v1 import transactions_pb2_grpc
from sqlalchemy import func, select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CdrLocation
from sidecar.ocpi.enums import AuthMethod, SessionStatus, Status, TariffType
from sidecar.ocpi.locations import EVSE, Connector, Location, find_connector, find_evse
from sidecar.ocpi.sessions import CdrToken
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import ci_equal, now, utc
from sidecar.pricing import PricedSession
from sidecar.servicers import charging, lookups
from sidecar.servicers import session_records as records
from sidecar.servicers import transaction_mapping as inputs
from sidecar.servicers.meter_commits import (
    MeterCommitter,
    advance_session,
    enqueue_session,
    lost_race,
    recipient_of,
)
from sidecar.store import cdrs, idempotency, outbox, tables
from sidecar.store import sessions as store
from sidecar.store.engine import Database
from sidecar.store.partners import holder_of
from sidecar.store.tariffs import get_tariff

Context = grpc.aio.ServicerContext[Any, Any]
T = TypeVar("T")

ENDED = frozenset({SessionStatus.COMPLETED.value, SessionStatus.INVALID.value})
CDRS = "cdrs"
POST = "POST"


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


async def _connector_tariff(
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


async def resolve_token(
    connection: AsyncConnection, given: inputs.TokenInput, ours: tuple[str, str]
) -> tuple[CdrToken, int | None]:
    """The CdrToken and its owner: the party sent, else the token cache, else our own party.

    A token of none of the eMSPs (our own customers') belongs to the location's CPO party
    and to no partner.
    """
    party, contract_id = given.party, given.contract_id
    if party is None or contract_id is None:
        t = tables.tokens
        row = (await connection.execute(
            select(t.c.country_code, t.c.party_id, t.c.contract_id)
            .where(func.upper(t.c.uid) == given.uid.upper(), t.c.type == given.type.value)
            .limit(1))).first()
        if row is not None:
            party = party or (row.country_code, row.party_id)
            contract_id = contract_id or row.contract_id
    token = CdrToken(country_code=(party or ours)[0], party_id=(party or ours)[1],
                     uid=given.uid, type=given.type, contract_id=contract_id or given.uid)
    return token, (await holder_of(connection, token.country_code, token.party_id)
                   if party is not None else None)


def auth_method(given: AuthMethod | None, token: inputs.TokenInput,
                start_command_id: str | None) -> AuthMethod:
    """The contract's derivation when the core sent none."""
    if given is not None:
        return given
    if start_command_id:
        return AuthMethod.COMMAND
    if token.authorized_by_sidecar and token.authorization_reference:
        return AuthMethod.AUTH_REQUEST
    return AuthMethod.WHITELIST


async def _retrying(database: Database, work: Callable[[AsyncConnection], Awaitable[T]]) -> T:
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


def _meter_rows(pk: int, meter: inputs.MeterInput) -> list[tuple[int, datetime, bytes, bytes]]:
    return [(pk, r.at, charging.encode(r), raw) for r, raw in meter.readings]


class TransactionServicer(transactions_pb2_grpc.TransactionServiceServicer):
    """TransactionService over the store.

    `period_length`: the longest charging period before a new one starts; `currency`: the
    session currency when neither the request nor a tariff gives one; `session_refresh`:
    a session takes in new meter values at most once per so many seconds
    (meter_commits.py; 0: with every commit).
    """

    def __init__(
        self, database: Database, wakeup: outbox.Wakeup, *,
        period_length: timedelta = timedelta(minutes=5), currency: str = "EUR",
        session_refresh: float = 5.0,
    ) -> None:
        self._database = database
        self._wakeup = wakeup
        self._length = period_length
        self._currency = currency
        self.meter = MeterCommitter(database, wakeup, period_length,
                                    session_refresh=session_refresh)

    async def _replayed(self, connection: AsyncConnection, event: inputs.Event,
                        method: str) -> bytes | None:
        stored = await idempotency.find_key(connection, event.key)
        return idempotency.replayed(stored, method, event.digest, "idempotency_key")

    async def _running(self, connection: AsyncConnection, transaction_id: str
                       ) -> store.SessionRow:
        row = await store.load_session(connection, transaction_id)
        if row is None:
            raise NotFound("transaction_id", f"no transaction {transaction_id!r}")
        if row.status in ENDED:
            raise PreconditionFailed("transaction_id: transaction ended")
        return row

    async def _finish(self, connection: AsyncConnection, row: store.SessionRow,
                      state: charging.TxState, partner_id: int | None, stamp: datetime) -> bool:
        write, push = records.plan_write(row, state, partner_id, stamp)
        await store.update_sessions(connection, [write])
        return await enqueue_session(connection, state, partner_id, push)

    async def StartTransaction(
        self, request: pb.StartTransactionRequest, context: Context
    ) -> pb.StartTransactionResponse:
        given = inputs.start_input(request)
        response, pushed = await _retrying(self._database, lambda c: self._start(c, given))
        if pushed:
            self._wakeup.notify()
        return response

    async def _place(self, connection: AsyncConnection, given: inputs.StartInput
                     ) -> tuple[Location, EVSE, Connector, Tariff | None]:
        location = await lookups.find_location(connection, given.location_id)
        if location is None:
            raise NotFound("location_id", f"no location {given.location_id!r}")
        evse = _evse(location, given.evse_uid)
        if evse.status == Status.REMOVED:
            raise PreconditionFailed(f"evse_uid: EVSE {evse.uid!r} is REMOVED")
        connector = _connector(evse, given.connector_id)
        if given.tariff_id is not None:
            tariff = await lookups.find_tariff(connection, given.tariff_id)
            if tariff is None:
                raise NotFound("tariff_id", f"no tariff {given.tariff_id!r}")
        else:
            tariff = await _connector_tariff(connection, location, connector, given.started_at)
        if tariff is not None and given.currency not in (None, tariff.currency):
            raise InvalidField("currency", f"tariff {tariff.id!r} is in {tariff.currency}")
        return location, evse, connector, tariff

    async def _start(self, connection: AsyncConnection, given: inputs.StartInput
                     ) -> tuple[pb.StartTransactionResponse, bool]:
        event = given.event
        stored = await self._replayed(connection, event, "StartTransaction")
        if stored is not None:
            return pb.StartTransactionResponse.FromString(stored), False
        if await store.load_session(connection, event.transaction_id) is not None:
            # On PostgreSQL a concurrent replay may have committed between our key lookup and
            # this one; the key commits with the session, so it is visible now if it is ours.
            stored = await self._replayed(connection, event, "StartTransaction")
            if stored is not None:
                return pb.StartTransactionResponse.FromString(stored), False
            raise Conflict("transaction_id: started before under another idempotency key")
        location, evse, connector, tariff = await self._place(connection, given)
        ours = (location.country_code, location.party_id)
        token, partner_id = (None, None)
        if given.token is not None:
            token, partner_id = await resolve_token(connection, given.token, ours)
        state = charging.TxState(
            transaction_id=event.transaction_id, country_code=location.country_code,
            party_id=location.party_id, location_id=location.id, evse_uid=evse.uid,
            connector_id=connector.id, created_at=given.started_at,
            active_at=given.started_at if token else None, token=token,
            auth_method=auth_method(given.auth_method, given.token, given.start_command_id)
            if given.token else None,
            authorization_reference=given.token.authorization_reference if given.token else None,
            tariff=tariff, time_zone=location.time_zone,
            currency=given.currency or (tariff.currency if tariff else self._currency),
            meter_id=given.meter_id, cdr_location=cdr_location(location, evse, connector),
            meter_start_wh=given.meter_start_wh,
            changes=[charging.StateChange(given.started_at, given.charging_state)]
            if given.charging_state else [],
            progress=charging.fresh(given.started_at), reservation_id=given.reservation_id,
            start_command_id=given.start_command_id)
        stamp = now()
        document = codec.encode(records.build_session(state, stamp))
        pk = await store.insert_session(
            connection, country_code=state.country_code, party_id=state.party_id,
            transaction_id=state.transaction_id, partner_id=partner_id,
            status=records.status_of(state).value, document=document,
            state=charging.encode(state), last_updated=stamp)
        await store.add_meter_values(connection, _meter_rows(pk, given.meter))
        await advance_session(connection, pk, state, [], self._length, restart=True)
        row = store.SessionRow(pk, state.transaction_id, state.country_code, state.party_id,
                               partner_id, records.status_of(state).value, document, b"",
                               stamp)
        write, _ = records.plan_write(row, state, partner_id, stamp)
        await store.update_sessions(connection, [write])
        response = pb.StartTransactionResponse(session_id=state.transaction_id)
        await idempotency.record_keys(connection, [
            (event.key, "StartTransaction", event.digest, response.SerializeToString())], stamp)
        pushed = await enqueue_session(connection, state, partner_id, ("PUT", ()))
        return response, pushed

    async def UpdateTransaction(
        self, request: pb.UpdateTransactionRequest, context: Context
    ) -> pb.UpdateTransactionResponse:
        given = inputs.update_input(request)
        pushed = await _retrying(self._database, lambda c: self._update(c, given))
        if pushed:
            self._wakeup.notify()
        return pb.UpdateTransactionResponse()

    async def _update(self, connection: AsyncConnection, given: inputs.UpdateInput) -> bool:
        event = given.event
        if await self._replayed(connection, event, "UpdateTransaction") is not None:
            return False
        row = await self._running(connection, event.transaction_id)
        state = charging.decode_state(row.state)
        if given.connector_id and not ci_equal(given.connector_id, state.connector_id):
            raise PreconditionFailed(
                f"connector_id: the transaction runs on connector {state.connector_id!r}")
        partner_id, restart = row.partner_id, False
        if given.token is not None and state.token is None:
            token, partner_id = await resolve_token(
                connection, given.token, (state.country_code, state.party_id))
            state.token, state.active_at = token, max(given.at, state.created_at)
            state.auth_method = auth_method(None, given.token, state.start_command_id)
            state.authorization_reference = given.token.authorization_reference
            restart = True
        elif partner_id is None and state.token is not None:
            partner_id = await holder_of(connection, state.token.country_code,
                                         state.token.party_id)
        changes = []
        if given.charging_state is not None:
            changes.append(charging.StateChange(given.at, given.charging_state))
            state.changes += changes
        await self._take_in(connection, row.pk, state, given.meter, changes, restart)
        stamp = now()
        await idempotency.record_keys(
            connection, [(event.key, "UpdateTransaction", event.digest, b"")], stamp)
        return await self._finish(connection, row, state, partner_id, stamp)

    async def _take_in(self, connection: AsyncConnection, pk: int, state: charging.TxState,
                       meter: inputs.MeterInput, changes: list[charging.StateChange],
                       restart: bool) -> PricedSession | None:
        """Store the event's readings, then bring the state up to every stored reading."""
        await store.add_meter_values(connection, _meter_rows(pk, meter))
        new = (await store.readings_after(connection, {pk: state.walked_pk}))[pk]
        return await advance_session(connection, pk, state, new, self._length,
                                     changes=changes, restart=restart)

    async def EndTransaction(
        self, request: pb.EndTransactionRequest, context: Context
    ) -> pb.EndTransactionResponse:
        given = inputs.end_input(request)
        response, pushed = await _retrying(self._database, lambda c: self._end(c, given))
        if pushed:
            self._wakeup.notify()
        return response

    async def _end(self, connection: AsyncConnection, given: inputs.EndInput
                   ) -> tuple[pb.EndTransactionResponse, bool]:
        event = given.event
        stored = await self._replayed(connection, event, "EndTransaction")
        if stored is not None:
            return pb.EndTransactionResponse.FromString(stored), False
        row = await self._running(connection, event.transaction_id)
        state = charging.decode_state(row.state)
        if given.ended_at < state.created_at:
            raise InvalidField("ended_at", "before the transaction started")
        state.ended_at, state.meter_stop_wh = given.ended_at, given.meter_stop_wh
        state.stop_reason, state.signed_data = given.stop_reason, given.signed_data
        state.invalid = given.invalid
        partner_id = row.partner_id
        if partner_id is None and state.token is not None:
            partner_id = await holder_of(connection, state.token.country_code,
                                         state.token.party_id)
        priced = await self._take_in(connection, row.pk, state, given.meter, [], True)
        stamp = now()
        pushed = await self._finish(connection, row, state, partner_id, stamp)
        cdr_id = ""
        if not state.invalid and partner_id is not None and state.token is not None:
            cdr = records.build_cdr(state, priced, stamp)
            await cdrs.add_cdr(connection, cdr, transaction_id=state.transaction_id,
                               partner_id=partner_id)
            await outbox.enqueue(connection, [partner_id], CDRS, cdr.country_code,
                                 cdr.party_id, cdr.id, POST, recipient=recipient_of(state))
            cdr_id, pushed = cdr.id, True
        response = pb.EndTransactionResponse(session_id=state.transaction_id, cdr_id=cdr_id)
        await idempotency.record_keys(connection, [
            (event.key, "EndTransaction", event.digest, response.SerializeToString())], stamp)
        return response, pushed

    async def ReportMeterValues(
        self, request: pb.ReportMeterValuesRequest, context: Context
    ) -> pb.ReportMeterValuesResponse:
        if not request.events:
            raise InvalidField("events", "required")
        if len(request.events) > inputs.MAX_EVENTS:
            raise InvalidField("events", f"at most {inputs.MAX_EVENTS} events per call")
        events = [inputs.meter_event(e, f"events[{i}]") for i, e in enumerate(request.events)]
        errors = await self.meter.submit(events, all_or_nothing=True)
        for error in errors:
            if error is not None:
                raise error
        return pb.ReportMeterValuesResponse(stored_event_count=len(events))

    async def StreamMeterValues(
        self, request_iterator: AsyncIterator[pb.StreamMeterValuesRequest], context: Context
    ) -> pb.StreamMeterValuesResponse:
        return await self.meter.stream(request_iterator)
