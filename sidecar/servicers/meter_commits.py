"""Meter values in groups: the events of many streams and calls share one database transaction.

A unit is what one caller hands in: the events of one ReportMeterValues call (all or
nothing) or of one stream message (each event on its own). While a commit runs, new units
wait; the next commit takes all of them (up to `max_events`), so the busier the sidecar, the
larger its transactions. A caller hears about its events only after their commit.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ocpi_sidecar.v1 import transactions_pb2 as pb
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed, SidecarError
from sidecar.ocpi.enums import SessionStatus
from sidecar.ocpi.types import now
from sidecar.servicers import charging
from sidecar.servicers import transaction_mapping as inputs
from sidecar.store import idempotency, outbox
from sidecar.store import sessions as store
from sidecar.store.engine import Database

SESSIONS = "sessions"
METHOD = "MeterValues"
ENDED = frozenset({SessionStatus.COMPLETED.value, SessionStatus.INVALID.value})

# Per event: None when stored (or already stored), else why not.
Result = SidecarError | None

REJECTION_CODES: dict[type[SidecarError], int] = {
    InvalidField: pb.REJECTION_CODE_INVALID_ARGUMENT,
    NotFound: pb.REJECTION_CODE_NOT_FOUND,
    PreconditionFailed: pb.REJECTION_CODE_FAILED_PRECONDITION,
    Conflict: pb.REJECTION_CODE_ALREADY_EXISTS,
}


async def enqueue_session(
    connection: AsyncConnection, state: charging.TxState, partner_id: int | None,
    push: tuple[str, tuple[str, ...]] | None,
) -> bool:
    """Queue the session change for its owner; False when there is nobody or nothing to send."""
    if partner_id is None or push is None:
        return False
    action, targets = push
    await outbox.enqueue(connection, [partner_id], SESSIONS, state.country_code,
                         state.party_id, state.transaction_id, action, targets)
    return True


@dataclass(slots=True)
class _Unit:
    events: Sequence[inputs.MeterEvent]
    all_or_nothing: bool
    future: asyncio.Future[list[Result]]


def _rejection(index: int, key: str, error: SidecarError) -> pb.RejectedMeterValuesEvent:
    code = next(REJECTION_CODES[c] for c in type(error).__mro__ if c in REJECTION_CODES)
    return pb.RejectedMeterValuesEvent(event_index=index, idempotency_key=key,
                                       code=code, error=error.message)  # type: ignore[arg-type]


def _retrieved(future: asyncio.Future[list[Result]]) -> None:
    # A stream that failed early never awaits its later futures: their errors are known.
    if not future.cancelled():
        future.exception()


class MeterCommitter:
    """Commits meter-value events in groups; `submit` answers after the commit."""

    def __init__(self, database: Database, wakeup: outbox.Wakeup, period_length: timedelta,
                 *, max_events: int = 2000, stream_window: int = 10_000) -> None:
        self._database = database
        self._wakeup = wakeup
        self._length = period_length
        self._max_events = max_events
        # Events a stream may have waiting for their commit before it stops reading.
        self._window = stream_window
        self._pending: deque[_Unit] = deque()
        self._task: asyncio.Task[None] | None = None

    def submit_nowait(self, events: Sequence[inputs.MeterEvent], *,
                      all_or_nothing: bool) -> asyncio.Future[list[Result]]:
        """Queue events; the future gives one Result per event once committed."""
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        self._pending.append(_Unit(events, all_or_nothing, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="meter-commits")
        return future

    async def submit(self, events: Sequence[inputs.MeterEvent], *,
                     all_or_nothing: bool) -> list[Result]:
        """Queue events and wait for their commit."""
        return await self.submit_nowait(events, all_or_nothing=all_or_nothing)

    async def _run(self) -> None:
        while self._pending:
            units = [self._pending.popleft()]
            count = len(units[0].events)
            while self._pending and count + len(self._pending[0].events) <= self._max_events:
                count += len(self._pending[0].events)
                units.append(self._pending.popleft())
            try:
                results = await self._commit(units)
            except Exception as error:
                for unit in units:
                    unit.future.set_exception(error)
                continue
            except BaseException:
                for unit in units:
                    unit.future.cancel()
                raise
            for unit, result in zip(units, results, strict=True):
                unit.future.set_result(result)

    async def _commit(self, units: list[_Unit]) -> list[list[Result]]:
        for attempt in (1, 2):
            try:
                async with self._database.write() as connection:
                    results, pushed = await self._apply(connection, units)
                break
            except IntegrityError:  # a concurrent writer (PostgreSQL) stored a key first
                if attempt == 2:
                    raise
        if pushed:
            self._wakeup.notify()
        return results

    async def _apply(self, connection: AsyncConnection, units: list[_Unit]
                     ) -> tuple[list[list[Result]], bool]:
        events = [event for unit in units for event in unit.events]
        rows = await store.load_sessions(connection, {e.event.transaction_id for e in events})
        known = await idempotency.find_keys(connection, [e.event.key for e in events])
        accepted: dict[str, bytes] = {}
        results: list[list[Result]] = []
        fresh: list[inputs.MeterEvent] = []
        for unit in units:
            outcome: list[Result] = []
            mine: dict[str, bytes] = {}
            new: list[inputs.MeterEvent] = []
            for event in unit.events:
                error, is_new = _check(event, rows, known, accepted, mine)
                outcome.append(error)
                if is_new:
                    mine[event.event.key] = event.event.digest
                    new.append(event)
            results.append(outcome)
            if not (unit.all_or_nothing and any(e is not None for e in outcome)):
                accepted.update(mine)
                fresh += new
        return results, await self._store(connection, rows, fresh)

    async def _store(self, connection: AsyncConnection, rows: dict[str, store.SessionRow],
                     fresh: list[inputs.MeterEvent]) -> bool:
        if not fresh:
            return False
        by_transaction: dict[str, list[inputs.MeterEvent]] = {}
        for event in fresh:
            by_transaction.setdefault(event.event.transaction_id, []).append(event)
        stamp = now()
        writes: list[store.SessionWrite] = []
        pushes = []
        meter_rows: list[tuple[int, datetime, bytes, bytes]] = []
        for transaction_id in sorted(by_transaction):
            row = rows[transaction_id]
            readings = [item for e in by_transaction[transaction_id] for item in e.meter.readings]
            state = await self._advanced(connection, row, [r for r, _ in readings])
            write, push = charging.plan_write(row, state, row.partner_id, stamp)
            writes.append(write)
            pushes.append((state, row.partner_id, push))
            meter_rows += [(row.pk, r.at, charging.encode(r), raw) for r, raw in readings]
        await idempotency.record_keys(
            connection, [(e.event.key, METHOD, e.event.digest, b"") for e in fresh], stamp)
        await store.add_meter_values(connection, meter_rows)
        await store.update_sessions(connection, writes)
        pushed = False
        for state, partner_id, push in pushes:
            pushed = await enqueue_session(connection, state, partner_id, push) or pushed
        return pushed

    async def _advanced(self, connection: AsyncConnection, row: store.SessionRow,
                        readings: list[charging.Reading]) -> charging.TxState:
        """The state with the readings walked; priced when a period closed (or never yet)."""
        state = charging.decode_state(row.state)
        if charging.is_late(state, readings):
            stored = [charging.decode_reading(b)
                      for b in await store.readings_of(connection, row.pk)]
            charging.replay(state, stored + readings, self._length)
            reprice = True
        else:
            closed = charging.walk(state.progress, readings, self._length)
            reprice = closed > 0 or state.total_cost is None
        if reprice:
            charging.price(state)
        return state

    async def stream(self, requests: AsyncIterator[pb.StreamMeterValuesRequest]
                     ) -> pb.StreamMeterValuesResponse:
        """StreamMeterValues: read, check and queue every event; answer once all committed."""
        index = stored = outstanding = 0
        rejected: list[pb.RejectedMeterValuesEvent] = []
        waiting: deque[tuple[list[tuple[int, str]], asyncio.Future[list[Result]]]] = deque()
        async for message in requests:
            valid: list[inputs.MeterEvent] = []
            where: list[tuple[int, str]] = []
            too_many = len(message.events) > inputs.MAX_EVENTS
            for event in message.events:
                try:
                    if too_many:
                        raise InvalidField("events", f"at most {inputs.MAX_EVENTS} per message")
                    valid.append(inputs.meter_event(event, ""))
                    where.append((index, event.idempotency_key))
                except InvalidField as error:
                    rejected.append(_rejection(index, event.idempotency_key, error))
                index += 1
            if valid:
                waiting.append((where, self.submit_nowait(valid, all_or_nothing=False)))
                outstanding += len(valid)
            while outstanding > self._window:
                where, future = waiting.popleft()
                outstanding -= len(where)
                stored += _account(where, await future, rejected)
        while waiting:
            where, future = waiting.popleft()
            stored += _account(where, await future, rejected)
        rejected.sort(key=lambda r: r.event_index)
        return pb.StreamMeterValuesResponse(stored_event_count=stored, rejected_events=rejected)


def _account(where: list[tuple[int, str]], results: list[Result],
             rejected: list[pb.RejectedMeterValuesEvent]) -> int:
    stored = 0
    for (index, key), error in zip(where, results, strict=True):
        if error is None:
            stored += 1
        else:
            rejected.append(_rejection(index, key, error))
    return stored


def _check(
    event: inputs.MeterEvent, rows: dict[str, store.SessionRow],
    known: dict[str, idempotency.StoredKey], accepted: dict[str, bytes], mine: dict[str, bytes],
) -> tuple[Result, bool]:
    """(why not, whether new): a replay is stored already; a new event needs a running one."""
    prefix = f"{event.path}." if event.path else ""
    key, digest = event.event.key, event.event.digest
    stored = known.get(key)
    before = (stored.payload_hash if stored.method == METHOD else b"") if stored else None
    if before is None:
        before = mine.get(key) or accepted.get(key)
    if before is not None:
        if before == digest:
            return None, False
        return Conflict(f"{prefix}idempotency_key: used before with a different payload"), False
    transaction_id = event.event.transaction_id
    row = rows.get(transaction_id)
    if row is None:
        return NotFound(f"{prefix}transaction_id", f"no transaction {transaction_id!r}"), False
    if row.status in ENDED:
        return PreconditionFailed(f"{prefix}transaction_id: transaction ended"), False
    return None, True
