"""The push worker: delivers the outbox to every partner.

One dispatcher claims due entries for all partners in one transaction and hands each to its
partner's lane; a lane sends a few at a time; one recorder writes the outcomes of every lane
in one transaction every few milliseconds. A failing partner backs off (exponential,
jittered) without touching the other lanes. Bodies are read when an entry is claimed, so what
is sent is always the current object.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from datetime import timedelta

import msgspec
from sqlalchemy import select, tuple_
from sqlalchemy.ext.asyncio import AsyncConnection

from gateway.client import OCPIClient, PartnerError
from sidecar.ocpi import codec
from sidecar.ocpi.enums import InterfaceRole
from sidecar.ocpi.types import now, utc
from sidecar.store import outbox, tables
from sidecar.store import partners as partner_store
from sidecar.store.engine import Database

log = logging.getLogger("ocpi_sidecar.push")

Documents = dict[tuple[str, str, str, str], bytes]


def _tables() -> dict[str, object]:
    found: dict[str, object] = {"locations": tables.locations, "tariffs": tables.tariffs}
    for module in ("sessions", "cdrs"):
        table = tables.metadata.tables.get(module)
        if table is not None:
            found[module] = table
    return found


class _EvseStatus(msgspec.Struct):
    uid: str
    status: str
    last_updated: str


class _LocationStatuses(msgspec.Struct):
    evses: list[_EvseStatus] | None = None


async def _documents(connection: AsyncConnection, entries: Sequence[outbox.Entry]) -> Documents:
    """Current documents of the entries' objects, keyed by (module, cc, party, id)."""
    found: Documents = {}
    for module, table in _tables().items():
        keys = [(e.country_code, e.party_id, e.object_id) for e in entries if e.module == module]
        if not keys:
            continue
        columns = table.c  # type: ignore[attr-defined]
        rows = await connection.execute(
            select(columns.country_code, columns.party_id, columns.object_id, columns.document)
            .where(tuple_(columns.country_code, columns.party_id, columns.object_id).in_(keys))
        )
        for row in rows:
            found[(module, row.country_code, row.party_id, row.object_id)] = bytes(row.document)
    return found


class Lane:
    """Delivery to one partner: up to `in_flight` requests at a time."""

    def __init__(self, worker: PushWorker, partner: partner_store.Partner) -> None:
        self.worker = worker
        self.partner = partner
        self.queue: asyncio.Queue[outbox.Entry] = asyncio.Queue()
        self.busy = 0
        # Set by a failure: queued entries go back unsent until the backoff is recorded.
        self.failed = False
        self.senders: list[asyncio.Task[None]] = []

    def room(self) -> int:
        """How many more entries this lane takes now."""
        if self.failed:
            return 0
        return max(0, self.worker.in_flight * 32 - self.queue.qsize() - self.busy)

    def take(self, entry: outbox.Entry) -> None:
        """Queue an entry; start the senders on first use."""
        self.queue.put_nowait(entry)
        while len(self.senders) < self.worker.in_flight:
            self.senders.append(asyncio.create_task(self._send_loop()))

    async def _send_loop(self) -> None:
        while True:
            if self.queue.qsize() == self.worker.in_flight * 8:
                self.worker.wake()  # running low: claim more before the queue runs dry
            entry = await self.queue.get()
            if self.failed:
                self.worker.recorder.release(entry)
                continue
            self.busy += 1
            try:
                outcome = await self.worker.deliver(self.partner, entry)
            except Exception as error:  # a bug must not stop the lane
                log.exception("push to partner %d failed unexpectedly", self.partner.id)
                outcome = outbox.Outcome(entry, entry.action, "", None, None,
                                         f"internal error: {type(error).__name__}")
            finally:
                self.busy -= 1
            if outcome.error is not None:
                self.failed = True
            self.worker.recorder.add(outcome)

    def stop(self) -> list[asyncio.Task[None]]:
        for task in self.senders:
            task.cancel()
        return self.senders


class Recorder:
    """Collects outcomes from all lanes and writes them in one transaction per flush."""

    def __init__(self, worker: PushWorker) -> None:
        self.worker = worker
        self.outcomes: list[outbox.Outcome] = []
        self.released: list[outbox.Entry] = []
        self.event = asyncio.Event()

    def add(self, outcome: outbox.Outcome) -> None:
        self.outcomes.append(outcome)
        self.event.set()

    def release(self, entry: outbox.Entry) -> None:
        self.released.append(entry)
        self.event.set()

    async def run(self, stop: asyncio.Event) -> None:
        while not stop.is_set() or self.outcomes or self.released:
            await _wait(self.event, self.worker.poll)
            await asyncio.sleep(self.worker.flush_every)
            await self.flush()

    async def flush(self) -> None:
        outcomes, self.outcomes = self.outcomes, []
        released, self.released = self.released, []
        if not outcomes and not released:
            return
        async with self.worker.database.write() as connection:
            await outbox.record(connection, outcomes)
            await outbox.release(connection, released)
        failed = {o.entry.partner_id for o in outcomes if o.error is not None}
        for partner_id in failed | {e.partner_id for e in released}:
            lane = self.worker.lanes.get(partner_id)
            if lane is not None:
                lane.failed = False
        self.worker.wake()


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass
    event.clear()


class PushWorker:
    """Delivers the outbox until stopped; `wake()` after committing new entries."""

    def __init__(
        self,
        database: Database,
        client: OCPIClient,
        *,
        in_flight: int = 8,
        lease: timedelta = timedelta(seconds=60),
        poll: float = 1.0,
        flush_every: float = 0.002,
    ) -> None:
        self.database = database
        self.client = client
        self.in_flight = in_flight
        self.lease = lease
        self.poll = poll
        self.flush_every = flush_every
        self.lanes: dict[int, Lane] = {}
        self.recorder = Recorder(self)
        self._wake = asyncio.Event()
        self._partners_checked = 0.0
        # Bodies read at claim time, until their lane sends them: (entry id, generation).
        self.documents: dict[tuple[int, int], bytes | None] = {}

    def wake(self) -> None:
        """New outbox entries were committed (or capacity freed): claim now."""
        self._wake.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Dispatch, deliver and record until `stop` is set."""
        recording = asyncio.create_task(self.recorder.run(stop))
        try:
            while not stop.is_set():
                try:
                    claimed = await self._dispatch()
                except Exception:
                    log.exception("push dispatch failed; retrying")
                    claimed = 0
                if not claimed:
                    await _wait(self._wake, await self._idle_seconds())
                elif stop.is_set():
                    break
        finally:
            # A lane waiting on a hung partner must not hold up the stop: its claimed
            # entries become due again when their lease ends.
            senders = [t for lane in self.lanes.values() for t in lane.stop()]
            await asyncio.gather(*senders, return_exceptions=True)
            self.recorder.event.set()
            await recording

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

    async def _dispatch(self) -> int:
        await self._refresh_partners()
        capacity = {pid: lane.room() for pid, lane in self.lanes.items()}
        if not any(capacity.values()):
            return 0
        async with self.database.write() as connection:
            entries = await outbox.claim(connection, capacity, self.lease)
            documents = await _documents(connection, entries) if entries else {}
        for entry in entries:
            self.documents[(entry.id, entry.generation)] = documents.get(
                (entry.module, entry.country_code, entry.party_id, entry.object_id))
            self.lanes[entry.partner_id].take(entry)
        return len(entries)

    async def _idle_seconds(self) -> float:
        async with self.database.read() as connection:
            due = await outbox.next_due(connection, list(self.lanes))
        if due is None:
            return self.poll
        return min(self.poll, max((utc(due) - now()).total_seconds(), 0.01))

    async def deliver(self, partner: partner_store.Partner, entry: outbox.Entry) -> outbox.Outcome:
        """Send one entry to the partner; failures become an Outcome with an error."""
        document = self.documents.pop((entry.id, entry.generation), None)
        base = partner.endpoint(entry.module, InterfaceRole.RECEIVER)
        url = f"{base}/{entry.country_code}/{entry.party_id}/{entry.object_id}"
        if base is None or partner.outbound_token is None:
            return outbox.Outcome(entry, entry.action, url, None, None,
                                  f"partner has no {entry.module} receiver endpoint")
        requests = self._requests(entry, url, base, document)
        headers = _routing(partner, entry)
        last: tuple[str, str, int | None, int | None] = (entry.action, url, None, None)
        for verb, target, body in requests:
            try:
                reply = await self.client.request(
                    verb, target, partner.outbound_token, body=body, headers=headers,
                    token_base64=partner.outbound_token_base64)
            except PartnerError as error:
                return outbox.Outcome(entry, verb, target, error.http_status, error.status_code,
                                      str(error))
            last = (verb, target, reply.http_status, reply.envelope.status_code)
        return outbox.Outcome(entry, *last, None)

    @staticmethod
    def _requests(
        entry: outbox.Entry, url: str, base: str, document: bytes | None
    ) -> list[tuple[str, str, bytes | None]]:
        """The HTTP requests that make the partner see the entry's object as it is now."""
        if entry.action == outbox.DELETE:
            return [("DELETE", url, None)]
        if document is None:
            return []  # gone meanwhile: nothing to show
        if entry.action == "POST":
            return [("POST", base, document)]
        if entry.action == outbox.PATCH and entry.module == "locations":
            evses = {e.uid: e for e in codec.decode(document, _LocationStatuses).evses or []}
            return [("PATCH", f"{url}/{uid}", codec.encode(
                {"status": evses[uid].status, "last_updated": evses[uid].last_updated}))
                for uid in entry.targets if uid in evses]
        return [("PUT", url, document)]


def _routing(partner: partner_store.Partner, entry: outbox.Entry) -> dict[str, str]:
    headers = {"OCPI-from-country-code": entry.country_code, "OCPI-from-party-id": entry.party_id}
    emsp = next((r for r in partner.roles if r.get("role") == "EMSP"), None)
    if emsp is not None:
        headers["OCPI-to-country-code"] = emsp["country_code"]
        headers["OCPI-to-party-id"] = emsp["party_id"]
    return headers
