"""Meter values in groups: the events of many streams and calls share one database transaction.

A unit is what one caller hands in: the events of one ReportMeterValues call (all or
nothing) or of a stream's messages (each event on its own; a stream's events join its last
unit until a commit takes it). A commit waits for more units while they keep coming (up to
`linger`, or until `max_events` are queued), then stores all of them: idempotency keys and
readings, a few statements for hundreds of events. A caller hears about its events only
after their commit.

A session catches up with its new readings in the commit that stores them, but at most once
per `session_refresh` seconds: readings that come sooner wait for the end of that time (a
later commit, or a timer). So under load a session's document, pricing and outbox entry are
redone once for many readings, not for each, while a quiet session is current at once.
Which readings a session has taken in is a number in its state (`TxState.walked_pk`), so
after a restart a session catches up with its next event (or its end).
"""
from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from ocpi_sidecar.v1 import transactions_pb2 as pb
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed, SidecarError
from sidecar.ocpi.enums import SessionStatus
from sidecar.ocpi.types import now
from sidecar.pricing import PricedSession
from sidecar.servicers import charging
from sidecar.servicers import session_records as records
from sidecar.servicers import transaction_mapping as inputs
from sidecar.store import idempotency, outbox
from sidecar.store import sessions as store
from sidecar.store.engine import Database

SESSIONS = "sessions"
METHOD = "MeterValues"
# A pause without new events that ends the wait for more (seconds).
QUIET = 0.001
ENDED = frozenset({SessionStatus.COMPLETED.value, SessionStatus.INVALID.value})

# Per event: None when stored (or already stored), else why not.
Result = SidecarError | None

REJECTION_CODES: dict[type[SidecarError], int] = {
    InvalidField: pb.REJECTION_CODE_INVALID_ARGUMENT,
    NotFound: pb.REJECTION_CODE_NOT_FOUND,
    PreconditionFailed: pb.REJECTION_CODE_FAILED_PRECONDITION,
    Conflict: pb.REJECTION_CODE_ALREADY_EXISTS,
}


def lost_race(error: DBAPIError) -> bool:
    """A concurrent writer (PostgreSQL) stored the same key first, or both waited for each
    other's rows: running the work again sees the other's commit."""
    return isinstance(error, IntegrityError) or "deadlock" in str(error.orig).lower()


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
                         state.party_id, state.transaction_id, action, targets,
                         recipient=recipient_of(state))
    return True


async def advance_session(
    connection: AsyncConnection, row_pk: int, state: charging.TxState,
    new: list[tuple[int, bytes]], length: timedelta, *,
    changes: Sequence[charging.StateChange] = (), restart: bool = False,
) -> PricedSession | None:
    """Take in stored readings `new` (numbered after `state.walked_pk`) and new `changes`
    (already in `state.changes`); walk on, or replay everything when something is late,
    the start moved (`restart`) or the session ended. Prices when that can change the cost;
    returns the pricing (None when it did not price).
    """
    readings = [charging.decode_reading(data) for _, data in new]
    items: list[charging.Reading | charging.StateChange] = [*readings, *changes]
    if restart or state.ended_at is not None or charging.is_late(state, items):
        stored = await store.readings_of(connection, row_pk)
        charging.replay(state, [charging.decode_reading(data) for _, data in stored], length)
        state.walked_pk = max((pk for pk, _ in stored), default=state.walked_pk)
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


@dataclass(slots=True)
class _Unit:
    events: list[inputs.MeterEvent]
    all_or_nothing: bool
    future: asyncio.Future[list[Result]]
    # Taken into a commit: nothing may join it any more.
    taken: bool = False


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
                 *, session_refresh: float = 5.0, linger: float = 0.02,
                 max_events: int = 2000, stream_window: int = 10_000) -> None:
        self._database = database
        self._wakeup = wakeup
        self._length = period_length
        self._refresh = session_refresh
        # How long a commit may wait for more events to join it, while they keep coming.
        self._linger = linger
        self._max_events = max_events
        # Events a stream may have waiting for their commit before it stops reading.
        self._window = stream_window
        self._pending: deque[_Unit] = deque()
        self._pending_events = 0
        # Sessions with readings not taken in yet: pk -> when they are due (monotonic).
        self._dirty: dict[int, float] = {}
        # When sessions last caught up (monotonic), while that still delays the next time.
        self._refreshed: dict[int, float] = {}
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def _submit(self, events: Sequence[inputs.MeterEvent], all_or_nothing: bool) -> _Unit:
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        unit = _Unit(list(events), all_or_nothing, future)
        self._pending.append(unit)
        self._pending_events += len(events)
        self._news.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="meter-commits")
        return unit

    def _join(self, unit: _Unit | None, events: list[inputs.MeterEvent]) -> bool:
        """Add events to a queued unit of a stream, if it is still waiting; False if not."""
        if unit is None or unit.taken or len(unit.events) + len(events) > self._max_events:
            return False
        unit.events += events
        self._pending_events += len(events)
        return True

    async def submit(self, events: Sequence[inputs.MeterEvent], *,
                     all_or_nothing: bool) -> list[Result]:
        """Queue events and wait for their commit: one Result per event."""
        return await self._submit(events, all_or_nothing).future

    async def _gather(self) -> None:
        """Let events join the next commit while they keep coming: until `max_events` are
        queued, `linger` has passed, or a millisecond brought nothing new (a caller waiting
        alone is not kept waiting)."""
        deadline = time.monotonic() + self._linger
        seen = self._pending_events
        while seen < self._max_events and time.monotonic() < deadline:
            await asyncio.sleep(QUIET)
            if self._pending_events == seen:
                return
            seen = self._pending_events

    def _take(self) -> list[_Unit]:
        units = [self._pending.popleft()]
        count = len(units[0].events)
        while self._pending and count + len(self._pending[0].events) <= self._max_events:
            count += len(self._pending[0].events)
            units.append(self._pending.popleft())
        self._pending_events -= count
        for unit in units:
            unit.taken = True
        return units

    async def _run(self) -> None:
        """Commit what is queued; refresh lagging sessions when they are due; then stop."""
        while self._pending or self._dirty:
            if not self._pending:
                wait = min(self._dirty.values()) - time.monotonic()
                if wait > 0:
                    self._news.clear()
                    try:
                        await asyncio.wait_for(self._news.wait(), wait)
                    except TimeoutError:
                        pass
                    continue
            else:
                await self._gather()
            units = self._take() if self._pending else []
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
                    results, pushed, caught_up = await self._apply(connection, units)
                break
            except DBAPIError as error:
                if attempt == 2 or not lost_race(error):
                    raise
        clock = time.monotonic()
        for pk in caught_up:
            del self._dirty[pk]
            self._refreshed[pk] = clock
        if len(self._refreshed) > 2 * len(self._dirty) + 1024:
            self._refreshed = {pk: at for pk, at in self._refreshed.items()
                               if at + self._refresh > clock}
        if pushed:
            self._wakeup.notify()
        return results

    def _note(self, pk: int, clock: float) -> None:
        """A session has a reading it has not taken in: it is due at once, unless it caught
        up less than `session_refresh` seconds ago; then when that time is over."""
        if pk not in self._dirty:
            last = self._refreshed.get(pk)
            self._dirty[pk] = clock if last is None else max(clock, last + self._refresh)

    async def _apply(self, connection: AsyncConnection, units: list[_Unit]
                     ) -> tuple[list[list[Result]], bool, list[int]]:
        """Store the units' events; bring the sessions that are due up to date.

        Returns the results per unit, whether something was queued for a partner, and the
        sessions that caught up.
        """
        events = [event for unit in units for event in unit.events]
        heads, known = {}, {}
        if events:
            heads = await store.load_heads(connection, {e.event.transaction_id for e in events})
            known = await idempotency.find_keys(connection, [e.event.key for e in events])
        accepted: dict[str, bytes] = {}
        results: list[list[Result]] = []
        fresh: list[inputs.MeterEvent] = []
        for unit in units:
            outcome: list[Result] = []
            mine: dict[str, bytes] = {}
            new: list[inputs.MeterEvent] = []
            for event in unit.events:
                error, is_new = _check(event, heads, known, accepted, mine)
                outcome.append(error)
                if is_new:
                    mine[event.event.key] = event.event.digest
                    new.append(event)
            results.append(outcome)
            if not (unit.all_or_nothing and any(e is not None for e in outcome)):
                accepted.update(mine)
                fresh += new
        stamp = now()
        await idempotency.record_keys(
            connection, [(e.event.key, METHOD, e.event.digest, b"") for e in fresh])
        rows = []
        clock = time.monotonic()
        for event in fresh:
            pk = heads[event.event.transaction_id].pk
            self._note(pk, clock)
            rows += [(pk, r.at, charging.encode(r), raw) for r, raw in event.meter.readings]
        await store.add_meter_values(connection, rows)
        due = [pk for pk, at in self._dirty.items() if at <= clock]
        pushed = await refresh_sessions(connection, due, self._length, stamp)
        return results, pushed, due

    async def stream(self, requests: AsyncIterator[pb.StreamMeterValuesRequest]
                     ) -> pb.StreamMeterValuesResponse:
        """StreamMeterValues: read, check and queue every event; answer once all committed.

        Events join the stream's last queued unit while no commit has taken it, so a stream
        costs one unit per commit, not one per message.
        """
        index = stored = outstanding = 0
        rejected: list[pb.RejectedMeterValuesEvent] = []
        waiting: deque[tuple[list[tuple[int, str]], _Unit]] = deque()
        last: _Unit | None = None
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
            if not valid:
                continue
            outstanding += len(valid)
            if self._join(last, valid):
                waiting[-1][0].extend(where)
            else:
                last = self._submit(valid, all_or_nothing=False)
                waiting.append((where, last))
            while outstanding > self._window:
                where, unit = waiting.popleft()
                outstanding -= len(where)
                stored += _account(where, await unit.future, rejected)
        while waiting:
            where, unit = waiting.popleft()
            stored += _account(where, await unit.future, rejected)
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
    event: inputs.MeterEvent, rows: dict[str, store.SessionHead],
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
