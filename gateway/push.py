"""The push worker: delivers the outbox to every partner, each in its own lane.

A lane claims a batch of its partner's due entries, sends them (a few in flight), and records
the outcomes in one transaction. A failing partner backs off (exponential, jittered) without
touching the other lanes. Bodies are read at delivery time, so what is sent is always current.
"""

from __future__ import annotations

import asyncio
import logging
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

TABLES = {"locations": tables.locations, "tariffs": tables.tariffs}


class _EvseStatus(msgspec.Struct):
    uid: str
    status: str
    last_updated: str


class _LocationStatuses(msgspec.Struct):
    evses: list[_EvseStatus] | None = None


async def _documents(
    connection: AsyncConnection, entries: Sequence[outbox.Entry]
) -> dict[tuple[str, str, str, str], bytes]:
    """Current documents of the entries' objects, keyed by (module, cc, party, id)."""
    found: dict[tuple[str, str, str, str], bytes] = {}
    for module, table in TABLES.items():
        keys = [(e.country_code, e.party_id, e.object_id) for e in entries if e.module == module]
        if not keys:
            continue
        rows = await connection.execute(
            select(table.c.country_code, table.c.party_id, table.c.object_id, table.c.document)
            .where(tuple_(table.c.country_code, table.c.party_id, table.c.object_id).in_(keys))
        )
        for row in rows:
            found[(module, row.country_code, row.party_id, row.object_id)] = bytes(row.document)
    return found


class Lane:
    """Delivery to one partner."""

    def __init__(self, worker: PushWorker, partner_id: int) -> None:
        self.worker = worker
        self.partner_id = partner_id
        self.event = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop`; sleep when idle or backing off."""
        worker = self.worker
        while not stop.is_set():
            try:
                delivered = await self.deliver_batch()
            except Exception:
                log.exception("push lane for partner %d failed; retrying", self.partner_id)
                delivered = 0
            if delivered:
                continue
            await _wait(self.event, await self._idle_seconds(worker.poll))

    async def _idle_seconds(self, poll: float) -> float:
        async with self.worker.database.read() as connection:
            due = await outbox.next_due(connection, self.partner_id)
            status = await outbox.push_status(connection, self.partner_id)
        moments = [m for m in (due, status["retry_at"]) if m is not None]
        if not moments:
            return poll
        seconds = (max(utc(m) for m in moments) - now()).total_seconds()
        return min(poll, max(seconds, 0.01))

    async def deliver_batch(self) -> int:
        """Claim, send and record one batch; returns how many entries were handled."""
        worker = self.worker
        async with worker.database.write() as connection:
            entries = await outbox.claim(connection, self.partner_id, worker.batch, worker.lease)
            if not entries:
                return 0
            partner = await partner_store.get_partner(connection, self.partner_id)
            documents = await _documents(connection, entries)
        if partner is None or partner.status != partner_store.REGISTERED:
            async with worker.database.write() as connection:
                await outbox.release(connection, entries)
            return 0
        limit = asyncio.Semaphore(worker.in_flight)

        async def send(entry: outbox.Entry) -> outbox.Outcome:
            async with limit:
                return await worker.deliver(partner, entry, documents)

        outcomes = await asyncio.gather(*(send(e) for e in entries))
        async with worker.database.write() as connection:
            await outbox.record(connection, self.partner_id, outcomes)
        return len(entries)


async def _wait(event: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        pass
    event.clear()


class PushWorker:
    """Keeps one lane per registered partner running; `wake()` after enqueueing."""

    def __init__(
        self,
        database: Database,
        client: OCPIClient,
        *,
        batch: int = 64,
        in_flight: int = 4,
        lease: timedelta = timedelta(seconds=60),
        poll: float = 1.0,
    ) -> None:
        self.database = database
        self.client = client
        self.batch = batch
        self.in_flight = in_flight
        self.lease = lease
        self.poll = poll
        self.lanes: dict[int, Lane] = {}
        self._changed = asyncio.Event()

    def wake(self) -> None:
        """New outbox entries were committed: every lane looks now."""
        for lane in self.lanes.values():
            lane.event.set()
        self._changed.set()

    async def run(self, stop: asyncio.Event) -> None:
        """Run lanes for registered partners until `stop` is set."""
        try:
            while not stop.is_set():
                await self._sync_lanes(stop)
                await _wait(self._changed, self.poll)
        finally:
            # A lane waiting on a hung partner must not hold up the stop: its claimed
            # entries become due again when their lease ends.
            tasks = [lane.task for lane in self.lanes.values() if lane.task]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)

    async def _sync_lanes(self, stop: asyncio.Event) -> None:
        async with self.database.read() as connection:
            registered = {p.id for p in await partner_store.list_partners(
                connection, status=partner_store.REGISTERED)}
        for partner_id in registered - self.lanes.keys():
            lane = Lane(self, partner_id)
            lane.task = asyncio.create_task(lane.run(stop), name=f"push-lane-{partner_id}")
            self.lanes[partner_id] = lane

    async def deliver(
        self,
        partner: partner_store.Partner,
        entry: outbox.Entry,
        documents: dict[tuple[str, str, str, str], bytes],
    ) -> outbox.Outcome:
        """Send one entry to the partner; failures become an Outcome with an error."""
        base = partner.endpoint(entry.module, InterfaceRole.RECEIVER)
        url = f"{base}/{entry.country_code}/{entry.party_id}/{entry.object_id}"
        method = entry.action
        if base is None or partner.outbound_token is None:
            return outbox.Outcome(entry, method, url, None, None,
                                  f"partner has no {entry.module} receiver endpoint")
        document = documents.get((entry.module, entry.country_code, entry.party_id,
                                  entry.object_id))
        requests: list[tuple[str, str, bytes | None]] = []
        if method == outbox.DELETE:
            requests.append(("DELETE", url, None))
        elif document is None:
            return outbox.Outcome(entry, method, url, None, None, None)
        elif method == outbox.PATCH and entry.module == "locations":
            statuses = codec.decode(document, _LocationStatuses)
            by_uid = {e.uid: e for e in statuses.evses or []}
            for uid in entry.targets:
                evse = by_uid.get(uid)
                if evse is not None:
                    patch = {"status": evse.status, "last_updated": evse.last_updated}
                    requests.append(("PATCH", f"{url}/{uid}", codec.encode(patch)))
        else:
            requests.append(("PUT", url, document))
        headers = self._routing(partner, entry)
        last: tuple[str, str, int | None, int | None] = (method, url, None, None)
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
    def _routing(partner: partner_store.Partner, entry: outbox.Entry) -> dict[str, str]:
        headers = {"OCPI-from-country-code": entry.country_code,
                   "OCPI-from-party-id": entry.party_id}
        emsp = next((r for r in partner.roles if r.get("role") == "EMSP"), None)
        if emsp is not None:
            headers["OCPI-to-country-code"] = emsp["country_code"]
            headers["OCPI-to-party-id"] = emsp["party_id"]
        return headers
