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
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar import metrics
from sidecar.domain import charging
from sidecar.domain.sessions import ENDED, RESERVED, MeterEvent, lost_race, refresh_sessions
from sidecar.errors import Conflict, NotFound, PreconditionFailed, SidecarError
from sidecar.ocpi.types import now
from sidecar.store import idempotency, outbox
from sidecar.store import sessions as store
from sidecar.store.engine import Database

METHOD = "MeterValues"

# Events per commit (ocpi_sidecar_group_commit_size{writer="meter_values"}).
_SIZES = metrics.GROUP_COMMIT_SIZE.labels("meter_values")
# A pause without new events that ends the wait for more (seconds).
QUIET = 0.001

# Per event: None when stored (or already stored), else why not.
Result = SidecarError | None


@dataclass(slots=True)
class Unit:
    events: list[MeterEvent]
    all_or_nothing: bool
    future: asyncio.Future[list[Result]]
    # Taken into a commit: nothing may join it any more.
    taken: bool = False


def _retrieved(future: asyncio.Future[list[Result]]) -> None:
    # A stream that failed early never awaits its later futures: their errors are known.
    if not future.cancelled():
        future.exception()


class MeterCommitter:
    """Commits meter-value events in groups; `submit` answers after the commit.

    `enqueue` and `join` are the two halves of `submit` for a stream, which keeps reading
    while its earlier events wait for their commit.
    """

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
        self.window = stream_window
        self._pending: deque[Unit] = deque()
        self._pending_events = 0
        # Sessions with readings not taken in yet: pk -> when they are due (monotonic).
        self._dirty: dict[int, float] = {}
        # When sessions last caught up (monotonic), while that still delays the next time.
        self._refreshed: dict[int, float] = {}
        self._news = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def enqueue(self, events: Sequence[MeterEvent], all_or_nothing: bool) -> Unit:
        future: asyncio.Future[list[Result]] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_retrieved)
        unit = Unit(list(events), all_or_nothing, future)
        self._pending.append(unit)
        self._pending_events += len(events)
        self._news.set()
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._run(), name="meter-commits")
        return unit

    def join(self, unit: Unit | None, events: list[MeterEvent]) -> bool:
        """Add events to a queued unit of a stream, if it is still waiting; False if not."""
        if unit is None or unit.taken or len(unit.events) + len(events) > self._max_events:
            return False
        unit.events += events
        self._pending_events += len(events)
        return True

    async def submit(self, events: Sequence[MeterEvent], *,
                     all_or_nothing: bool) -> list[Result]:
        """Queue events and wait for their commit: one Result per event."""
        return await self.enqueue(events, all_or_nothing).future

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

    def _take(self) -> list[Unit]:
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

    async def _commit(self, units: list[Unit]) -> list[list[Result]]:
        for attempt in (1, 2):
            try:
                async with self._database.write() as connection:
                    results, pushed, caught_up = await self._apply(connection, units)
                break
            except DBAPIError as error:
                if attempt == 2 or not lost_race(error):
                    raise
        if units:
            _SIZES.observe(sum(len(unit.events) for unit in units))
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

    async def _apply(self, connection: AsyncConnection, units: list[Unit]
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
        fresh: list[MeterEvent] = []
        for unit in units:
            outcome: list[Result] = []
            mine: dict[str, bytes] = {}
            new: list[MeterEvent] = []
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


def _check(
    event: MeterEvent, rows: dict[str, store.SessionHead],
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
    if row is None or row.status == RESERVED:
        return NotFound(f"{prefix}transaction_id", f"no transaction {transaction_id!r}"), False
    if row.status in ENDED:
        return PreconditionFailed(f"{prefix}transaction_id: transaction ended"), False
    return None, True
