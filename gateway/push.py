"""The push worker: delivers the outbox to every partner.

One dispatcher claims due entries for all partners in one transaction and hands each to its
partner's lane; a lane sends a few at a time; one recorder writes the outcomes of every lane
in one transaction every few milliseconds. A failing partner backs off (exponential,
jittered) without touching the other lanes. Bodies are read when an entry is claimed, so what
is sent is always the current object.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import ClassVar

import msgspec
from sqlalchemy import Table

from gateway.client import OCPIClient, PartnerError, Reply
from gateway.routing import to_partner
from gateway.urls import join
from sidecar import metrics
from sidecar.ocpi import codec
from sidecar.ocpi.enums import InterfaceRole, ModuleID
from sidecar.ocpi.types import now, utc
from sidecar.store import commands as command_store
from sidecar.store import outbox, replicas, tables
from sidecar.store import partners as partner_store
from sidecar.store import sessions as session_store
from sidecar.store.engine import Database, unavailable

log = logging.getLogger("ocpi_sidecar.push")

# Cycles failing in a row (not for an unavailable database) before the worker gives up.
FAILURES_BEFORE_STOP = 3

# Active charging profiles live in the commands table too; joined a second time in the
# claim, so under an alias made once (the claim statement is cached by its tables).
_ACTIVE_PROFILES = tables.commands.alias("active_profiles")

# Where the claim reads each outbox module's current document.
_DOCUMENTS: dict[str, Table] = {
    ModuleID.LOCATIONS: tables.locations, ModuleID.TARIFFS: tables.tariffs,
    ModuleID.SESSIONS: tables.sessions, ModuleID.CDRS: tables.cdrs,
    ModuleID.COMMANDS: tables.commands,
    outbox.ACTIVE_PROFILES: _ACTIVE_PROFILES,  # type: ignore[dict-item]
}


# "When the next entry is due" not known from the last cycle.
_UNKNOWN = object()


class _EvseStatus(msgspec.Struct):
    uid: str
    status: str
    last_updated: str


class _LocationStatuses(msgspec.Struct):
    evses: list[_EvseStatus] | None = None


class Lane:
    """Delivery to one partner: up to `in_flight` requests at a time, by priority."""

    def __init__(self, worker: PushWorker, partner: partner_store.Partner) -> None:
        self.worker = worker
        self.partner = partner
        # (priority, id): command results and CDRs overtake queued object pushes.
        self.queue: asyncio.PriorityQueue[tuple[int, int, outbox.Entry]] = (
            asyncio.PriorityQueue())
        # Entries being delivered now: given back unsent if the worker stops first.
        self.delivering: set[outbox.Entry] = set()
        # Set when the partner is unreachable: queued entries go back unsent until the
        # backoff is recorded. A refused object does not set it.
        self.failed = False
        self.senders: list[asyncio.Task[None]] = []

    @property
    def busy(self) -> int:
        return len(self.delivering)

    def room(self) -> int:
        """How many more entries this lane takes now."""
        if self.failed:
            return 0
        return max(0, self.worker.in_flight * 32 - self.queue.qsize() - self.busy)

    def take(self, entry: outbox.Entry) -> None:
        """Queue an entry; start the senders on first use."""
        self.queue.put_nowait((entry.priority, entry.id, entry))
        while len(self.senders) < self.worker.in_flight:
            self.senders.append(asyncio.create_task(self._send_loop()))

    async def _send_loop(self) -> None:
        while True:
            if self.queue.qsize() == self.worker.in_flight * 8:
                self.worker.wake()  # running low: claim more before the queue runs dry
            _, _, entry = await self.queue.get()
            if self.failed or self.worker.stopping:
                self.worker.recorder.release(entry)
                continue
            if not self.worker.heartbeat.claims_valid():
                # The heartbeat could not renew the claim: another replica may have taken
                # the entry, so sending it could overtake (or repeat) that delivery.
                self.worker.recorder.release(entry)
                continue
            self.delivering.add(entry)
            try:
                outcome = await self.worker.deliver(self.partner, entry)
            except Exception as error:  # a bug must not stop the lane, nor the partner
                log.exception("push of %s %s to partner %d failed unexpectedly",
                              entry.module, entry.object_id, self.partner.id)
                outcome = outbox.Outcome(entry, entry.action, "",
                                         error=f"internal error: {type(error).__name__}",
                                         object_failure=True)
            finally:
                self.delivering.discard(entry)
            if outcome.deferred:
                continue
            if outcome.unreachable:
                self.failed = True
            metrics.PUSH_ATTEMPTS.labels(str(self.partner.id), entry.module,
                                         _kind(outcome)).inc()
            self.worker.recorder.add(outcome)

    def idle(self) -> bool:
        return not self.delivering

    def stop(self) -> list[asyncio.Task[None]]:
        """Cancel the senders; what was queued or in flight goes back to the outbox."""
        for task in self.senders:
            task.cancel()
        for entry in self.delivering:
            self.worker.recorder.release(entry)
        self.delivering.clear()
        while not self.queue.empty():
            self.worker.recorder.release(self.queue.get_nowait()[2])
        return self.senders


class Recorder:
    """Collects outcomes from all lanes until the dispatcher writes them."""

    def __init__(self, worker: PushWorker) -> None:
        self.worker = worker
        self.outcomes: list[outbox.Outcome] = []
        self.released: list[outbox.Entry] = []
        self.deferred: list[tuple[outbox.Entry, float]] = []

    def add(self, outcome: outbox.Outcome) -> None:
        self.outcomes.append(outcome)
        self.worker.wake()

    def release(self, entry: outbox.Entry) -> None:
        self.released.append(entry)
        self.worker.wake()

    def defer(self, entry: outbox.Entry, seconds: float) -> None:
        self.deferred.append((entry, seconds))
        self.worker.wake()

    def take(
        self,
    ) -> tuple[list[outbox.Outcome], list[outbox.Entry], list[tuple[outbox.Entry, float]]]:
        taken = (self.outcomes, self.released, self.deferred)
        self.outcomes, self.released, self.deferred = [], [], []
        return taken


async def _wait_either(event: asyncio.Event, stop: asyncio.Event, seconds: float) -> None:
    """Until `event` or `stop` is set, or `seconds` pass; clears `event`."""
    waiters = [asyncio.ensure_future(event.wait()), asyncio.ensure_future(stop.wait())]
    try:
        await asyncio.wait(waiters, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
    event.clear()


class PushWorker:
    """Delivers the outbox until stopped; `wake()` after committing new entries."""

    def __init__(
        self,
        database: Database,
        client: OCPIClient,
        *,
        in_flight: int = 8,
        poll: float = 1.0,
        session_patch_interval: float = 5.0,
        grace: float = 5.0,
        heartbeat: replicas.Heartbeat | None = None,
    ) -> None:
        self.database = database
        self.client = client
        self.in_flight = in_flight
        # Claims are renewed by the replica's heartbeat while it lives, so a lease of
        # seconds is enough for deliveries of any length; a dead replica's claims are
        # taken over by another when the lease ends.
        self.lease = replicas.LEASE
        self.poll = poll
        self.session_patch_interval = session_patch_interval
        # On stop: how long deliveries under way may take to finish before they are given
        # back to the outbox unsent.
        self.grace = grace
        # The replica's heartbeat (serve runs it); without one, the worker runs its own.
        self._own_heartbeat = heartbeat is None
        self.heartbeat = heartbeat or command_store.heartbeat(database, self.wake)
        self.id = database.replica_id
        self.stopping = False
        self._recovered = False
        # Cycles failed in a row for another reason than an unavailable database.
        self._failures = 0
        # Whether the last cycle failed because the database was unavailable (logged once).
        self.database_down = False
        # When each (partner, session) last got a PATCH (monotonic seconds).
        self._patched: dict[tuple[int, str], float] = {}
        self.lanes: dict[int, Lane] = {}
        self.recorder = Recorder(self)
        # When each partner's healthy state was last written (monotonic seconds).
        self._health_written: dict[int, float] = {}
        self._wake = asyncio.Event()
        self._partners_checked = 0.0
        # Attempts are pruned an hour after start, then hourly (never at start-up).
        self._pruned = time.monotonic()
        # Bodies read at claim time, until their lane sends them: (entry id, generation).
        self.documents: dict[tuple[int, int], bytes | None] = {}
        # When the next entry is due, as the last cycle that found nothing to do read it.
        self._due: object = _UNKNOWN

    def wake(self) -> None:
        """New outbox entries were committed (or capacity freed): claim now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Record, claim and deliver until `stop` is set; then finish or give back.

        On SQLite this is the database's one worker: claims found at start-up are
        deliveries a previous process was making when it died, due again at once. While the
        database is unavailable it waits and retries; nothing is lost meanwhile (outcomes
        not recorded are kept, claims not renewed lapse and are taken again).
        """
        beating = (asyncio.get_running_loop().create_task(self.heartbeat.run(stop))
                   if self._own_heartbeat else None)
        try:
            while not stop.is_set():
                try:
                    if self.database.is_sqlite and not self._recovered:
                        await self._recover()
                    progressed = await self._cycle(claim=True)
                    if not progressed:
                        await self._prune_when_due()
                        idle = await self._idle_seconds()
                    else:
                        idle = 0.0
                    self._database_back()
                except Exception as error:
                    self._database_failed(error)
                    progressed, idle = False, self.poll
                if not progressed:
                    await _wait_either(self._wake, stop, idle)
        finally:
            await self._finish()
            if beating is not None:
                await beating

    async def _recover(self) -> None:
        async with self.database.write() as connection:
            interrupted = await outbox.recover(connection)
        self._recovered = True
        if interrupted:
            log.info("%d pushes interrupted by the last stop are due again", interrupted)

    def _database_failed(self, error: Exception) -> None:
        """A cycle failed: the database out of reach waits; another error is retried a few
        times (a deadlock, a conflict) and then stops the worker, and so `serve` (a broken
        schema, a bug: nothing an operator should find only by its silence)."""
        if not unavailable(error):
            self._failures += 1
            if self._failures >= FAILURES_BEFORE_STOP:
                raise error
            log.exception("push cycle failed; retrying")
            return
        self._failures = 0
        if not self.database_down:
            log.warning("pushes wait: the database is unavailable (%s); retrying every %g s",
                        type(error).__name__, self.poll)
        self.database_down = unavailable(error)

    def _database_back(self) -> None:
        self._failures = 0
        if self.database_down:
            log.info("pushes go on: the database is back")
        self.database_down = False

    async def _finish(self) -> None:
        """Stop claiming; let deliveries under way end within the grace period, record them,
        and give everything else back to the outbox as it was."""
        self.stopping = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.grace
        while any(not lane.idle() for lane in self.lanes.values()) and loop.time() < deadline:
            # Each delivery that ends wakes us (its outcome goes to the recorder).
            await _wait_either(self._wake, self._wake, deadline - loop.time())
        senders = [t for lane in self.lanes.values() for t in lane.stop()]
        await asyncio.gather(*senders, return_exceptions=True)
        for _ in range(3):
            try:
                await self._cycle(claim=False)
                return
            except Exception:
                log.exception("recording the last pushes failed; retrying")
        log.error("the last pushes could not be recorded: they are sent again after restart")

    async def _refresh_partners(self) -> None:
        if time.monotonic() - self._partners_checked < self.poll and self.lanes:
            return
        self._partners_checked = time.monotonic()
        async with self.database.read() as connection:
            registered = await partner_store.list_partners(
                connection, status=partner_store.REGISTERED)
        for partner in registered:
            lane = self.lanes.get(partner.id)
            if lane is None:
                self.lanes[partner.id] = Lane(self, partner)
            else:
                lane.partner = partner
        gone = self.lanes.keys() - {p.id for p in registered}
        for partner_id in gone:
            if not self.lanes[partner_id].busy and self.lanes[partner_id].queue.empty():
                self.lanes.pop(partner_id).stop()

    async def _cycle(self, *, claim: bool) -> bool:
        """One transaction: record what lanes finished, then claim what is due for them."""
        if claim:
            await self._refresh_partners()
        outcomes, released, deferred = self.recorder.take()
        capacity = {pid: lane.room() for pid, lane in self.lanes.items()} if claim else {}
        if not outcomes and not released and not deferred and not any(capacity.values()):
            return False
        try:
            async with self.database.write() as connection:
                # Lock order as everywhere else: the object's row, then outbox rows.
                for outcome in sorted(outcomes, key=lambda o: o.entry.object_id):
                    if outcome.periods is not None and outcome.error is None:
                        e = outcome.entry
                        await session_store.mark_delivered(
                            connection, e.country_code, e.party_id, e.object_id,
                            e.partner_id, outcome.periods)
                recorded = await outbox.record(connection, outcomes,
                                               healthy_news=self._health_to_write)
                await outbox.release(connection, released)
                for entry, seconds in deferred:
                    await outbox.defer(connection, entry, now() + timedelta(seconds=seconds))
                claimed = await outbox.claim(connection, capacity, self.lease, _DOCUMENTS,
                                             self.id)
                # Nothing to do now: when the next entry is due, in the same transaction
                # (not one read more before the worker waits).
                self._due = (await outbox.next_due(connection, list(self.lanes))
                             if claim and not claimed and not outcomes and not released
                             and not deferred else _UNKNOWN)
        except Exception:
            # Nothing was written: keep what the lanes reported for the next cycle.
            self.recorder.outcomes[:0] = outcomes
            self.recorder.released[:0] = released
            self.recorder.deferred[:0] = deferred
            raise
        for partner_id in {o.entry.partner_id for o in outcomes} | {
                e.partner_id for e in released}:
            lane = self.lanes.get(partner_id)
            if lane is not None:
                lane.failed = False
        for partner_id in {o.entry.partner_id for o in outcomes if o.unreachable}:
            self._health_written.pop(partner_id, None)
        _log_changes(recorded)
        for entry, document in claimed:
            self.documents[(entry.id, entry.generation)] = document
            self.lanes[entry.partner_id].take(entry)
        return bool(claimed or outcomes or released or deferred)

    async def _prune_when_due(self) -> None:
        """Once an hour, when idle: forget delivery attempts older than a week."""
        moment = time.monotonic()
        if moment - self._pruned < 3600:
            return
        self._pruned = moment
        async with self.database.write() as connection:
            await outbox.prune_attempts(connection, timedelta(days=7))

    def _health_to_write(self, partners: set[int]) -> set[int]:
        """Healthy partners whose health row changes: recovering, or last written 1 s ago."""
        moment = time.monotonic()
        due = {p for p in partners if moment - self._health_written.get(p, -1e9) >= 1.0}
        for partner_id in due:
            self._health_written[partner_id] = moment
        return due

    async def _idle_seconds(self) -> float:
        due, self._due = self._due, _UNKNOWN
        if due is _UNKNOWN:
            async with self.database.read() as connection:
                due = await outbox.next_due(connection, list(self.lanes))
        if not isinstance(due, datetime):
            return self.poll
        return min(self.poll, max((utc(due) - now()).total_seconds(), 0.01))

    async def deliver(self, partner: partner_store.Partner, entry: outbox.Entry) -> outbox.Outcome:
        """Send one entry to the partner, by its module's delivery; failures become an
        Outcome with an error."""
        document = self.documents.pop((entry.id, entry.generation), None)
        delivery = self._deliveries.get(entry.module, PushWorker._deliver_object)
        return await delivery(self, partner, entry, document)

    async def _send(
        self, partner: partner_store.Partner, entry: outbox.Entry, method: str, url: str,
        body: bytes | None, *, correlation_id: str | None = None,
    ) -> tuple[outbox.Outcome, Reply | None]:
        """One request to the partner; its Outcome, and the reply when it succeeded."""
        try:
            reply = await self.client.request(
                method, url, partner.outbound_token or "", body=body,
                headers=_routing(partner, entry), correlation_id=correlation_id,
                token_base64=partner.outbound_token_base64)
        except PartnerError as error:
            return outbox.Outcome(entry, method, url, http_status=error.http_status,
                                  ocpi_status=error.status_code, error=str(error)), None
        return outbox.Outcome(entry, method, url, http_status=reply.http_status,
                              ocpi_status=reply.envelope.status_code,
                              location=reply.headers.get("location")), reply

    def _object_url(self, partner: partner_store.Partner, entry: outbox.Entry
                    ) -> tuple[str, str] | None:
        """(module base, object URL) at the partner's Receiver; None when it has none."""
        base = partner.endpoint(entry.module, InterfaceRole.RECEIVER)
        if base is None or partner.outbound_token is None:
            return None
        return base, join(base, entry.country_code, entry.party_id, entry.object_id)

    async def _deliver_object(
        self, partner: partner_store.Partner, entry: outbox.Entry, document: bytes | None
    ) -> outbox.Outcome:
        """Locations, tariffs, CDRs: the requests that show the object as it is now."""
        urls = self._object_url(partner, entry)
        if urls is None:
            # The partner does not take this module (shown as "not offered" in its admin
            # view): nothing it must see, so the entry is done; not a failure to back off.
            return outbox.Outcome(entry, entry.action, "")
        base, url = urls
        outcome = outbox.Outcome(entry, entry.action, url)
        for verb, target, body in self._requests(entry, url, base, document):
            outcome, reply = await self._send(partner, entry, verb, target, body)
            if reply is None:
                return outcome
        return outcome

    async def _deliver_result(
        self, partner: partner_store.Partner, entry: outbox.Entry, document: bytes | None
    ) -> outbox.Outcome:
        """POST a command's (or profile request's) result to the `response_url` of its
        request."""
        async with self.database.read() as connection:
            target = await command_store.response_target(
                connection, entry.country_code, entry.party_id, entry.object_id)
        if target is None or document is None or partner.outbound_token is None:
            return outbox.Outcome(entry, "POST", "")  # nothing to send
        url, correlation_id = target
        outcome, _ = await self._send(partner, entry, "POST", url, document,
                                      correlation_id=correlation_id)
        return outcome

    async def _deliver_active_profile(
        self, partner: partner_store.Partner, entry: outbox.Entry, document: bytes | None
    ) -> outbox.Outcome:
        """PUT the active charging profile of a session to the partner's chargingprofiles."""
        base = partner.endpoint(ModuleID.CHARGING_PROFILES, InterfaceRole.SENDER)
        if base is None or document is None or partner.outbound_token is None:
            return outbox.Outcome(entry, "PUT", "")  # nothing to send
        outcome, _ = await self._send(partner, entry, "PUT", join(base, entry.object_id),
                                      document)
        return outcome

    async def _deliver_session(
        self, partner: partner_store.Partner, entry: outbox.Entry, document: bytes | None
    ) -> outbox.Outcome:
        """PUT the session, or PATCH the changed fields with only the periods not sent yet.

        PATCHes of one session go out at most once per `session_patch_interval`; a PATCH
        that comes sooner waits (merged with whatever follows), so the final state is sent.
        """
        urls = self._object_url(partner, entry)
        if urls is None or document is None:
            return await self._deliver_object(partner, entry, document)
        url = urls[1]
        key = (partner.id, entry.object_id)
        method, body = "PUT", document
        if entry.action == outbox.PATCH:
            wait = self.session_patch_interval - (time.monotonic() - self._patched.get(key, -1e9))
            if wait > 0:
                self.recorder.defer(entry, wait)
                return outbox.Outcome(entry, "PATCH", url, deferred=True)
            async with self.database.read() as connection:
                held = await session_store.delivered_periods(
                    connection, entry.country_code, entry.party_id, entry.object_id, partner.id)
            method = "PATCH"
            body = session_store.session_patch_body(document, entry.targets, held)
            periods = max(held, session_store.period_count(document))
        else:
            periods = session_store.period_count(document)
        outcome, reply = await self._send(partner, entry, method, url, body)
        if reply is None:
            return outcome
        if method == "PATCH":
            self._patched[key] = time.monotonic()
        return dataclasses.replace(outcome, periods=periods)

    # How each outbox module is delivered; modules not named are objects (_deliver_object).
    _deliveries: ClassVar[dict[str, Callable[[PushWorker, partner_store.Partner, outbox.Entry,
                                                bytes | None], Awaitable[outbox.Outcome]]]] = {
        ModuleID.SESSIONS: _deliver_session,
        ModuleID.COMMANDS: _deliver_result,
        outbox.ACTIVE_PROFILES: _deliver_active_profile,
    }

    @staticmethod
    def _requests(
        entry: outbox.Entry, url: str, base: str, document: bytes | None
    ) -> list[tuple[str, str, bytes | None]]:
        """The HTTP requests that make the partner see the entry's object as it is now."""
        if entry.action == outbox.DELETE:
            return [("DELETE", url, None)]
        if document is None:
            return []  # gone meanwhile: nothing to show
        if entry.action == outbox.POST:
            return [("POST", base, document)]
        if entry.action == outbox.PATCH and entry.module == ModuleID.LOCATIONS:
            evses = {e.uid: e for e in codec.decode(document, _LocationStatuses).evses or []}
            return [("PATCH", join(url, uid), codec.encode(
                {"status": evses[uid].status, "last_updated": evses[uid].last_updated}))
                for uid in entry.targets if uid in evses]
        return [("PUT", url, document)]


def _kind(outcome: outbox.Outcome) -> str:
    """The outcome label of ocpi_sidecar_push_attempts."""
    if outcome.error is None:
        return "delivered" if outcome.url else "skipped"
    return "refused" if outcome.refused else "unreachable"


def _fields(o: outbox.Outcome) -> dict[str, object]:
    return {"partner": o.entry.partner_id, "module": o.entry.module,
            "object": f"{o.entry.country_code}/{o.entry.party_id}/{o.entry.object_id}",
            "method": o.method, "http_status": o.http_status, "ocpi_status": o.ocpi_status,
            "error": o.error}


def _log_changes(recorded: outbox.Recorded) -> None:
    """One log line per state change: an object refused or accepted again, a partner failing
    or recovered (never one per retry). The error holds the partner's status message."""
    for o in recorded.newly_refused:
        log.warning("partner %d refused %s %s/%s/%s: %s; that object is retried with "
                    "backoff, and at once when it changes; the others go on",
                    o.entry.partner_id, o.entry.module, o.entry.country_code, o.entry.party_id,
                    o.entry.object_id, o.error, extra={"fields": _fields(o)})
    for o in recorded.dropped:
        log.warning("dropped the result of %s %s for partner %d after %d failed attempts "
                    "(%s)", o.entry.module, o.entry.object_id, o.entry.partner_id,
                    o.entry.attempts + 1, o.error, extra={"fields": _fields(o)})
    for o in recorded.accepted_after_refusal:
        log.info("partner %d accepted %s %s/%s/%s after refusing it", o.entry.partner_id,
                 o.entry.module, o.entry.country_code, o.entry.party_id, o.entry.object_id,
                 extra={"fields": _fields(o)})
    for o in recorded.newly_failing:
        log.warning("pushes to partner %d are failing (%s): all of its pushes back off",
                    o.entry.partner_id, o.error, extra={"fields": _fields(o)})
    for partner_id in recorded.recovered:
        log.info("pushes to partner %d work again", partner_id,
                 extra={"fields": {"partner": partner_id}})


def _routing(partner: partner_store.Partner, entry: outbox.Entry) -> dict[str, str]:
    """From our party that owns the object, to the party it is for (a session's or CDR's
    token owner, the party that asked a command), else to the partner's own party."""
    return to_partner(partner, (entry.country_code, entry.party_id), entry.recipient)
