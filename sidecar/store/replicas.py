"""Replicas of one database: heartbeats, the claims they keep alive, the core's streams.

Every `serve` process writes a heartbeat each second. The heartbeat renews every claim the
process holds: outbox entries its push worker is delivering, and requests its core streams
were given. A claim not renewed for `LEASE` is anybody's, so a replica that dies (SIGKILL,
power, network) gives its work to the others within seconds, while a live one keeps its
deliveries however long they take. Heartbeats rather than advisory locks: they work the same
on SQLite and PostgreSQL, survive a database restart shorter than the lease without giving
anything up, and their state is a row an operator can read.

Timestamps are the replicas' own clocks: replicas on several machines need synchronised
clocks (NTP); a skew eats into the lease.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now, utc
from sidecar.store import outbox, tables
from sidecar.store.dialect import upsert
from sidecar.store.engine import Database, touch, unavailable

log = logging.getLogger("ocpi_sidecar.replicas")

# How long a claim lives without a heartbeat; heartbeats come every HEARTBEAT seconds.
LEASE = timedelta(seconds=5)
HEARTBEAT = 1.0
# Rows of replicas gone this long are removed by the others.
FORGET_AFTER = timedelta(hours=1)

_r = tables.replicas
_s = tables.core_streams
_c = tables.commands


def host_name() -> str:
    """hostname:pid of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"[:255]


def alive(stamp: datetime) -> Any:
    """SQL: replicas whose heartbeat is within the lease of `stamp`."""
    return _r.c.heartbeat_at > stamp - LEASE


async def beat(connection: AsyncConnection, replica_id: str, host: str, started_at: datetime,
               held: Iterable[str]) -> None:
    """This replica lives: its row, and every claim it holds, renewed for the lease."""
    stamp = now()
    statement = upsert(connection, _r).values(
        id=replica_id, host=host, started_at=started_at, heartbeat_at=stamp)
    await connection.execute(statement.on_conflict_do_update(
        index_elements=["id"], set_={"heartbeat_at": stamp}))
    await outbox.renew(connection, replica_id, LEASE)
    ids = list(held)
    if ids:
        await connection.execute(update(_c).where(
            _c.c.held_by == replica_id, _c.c.object_id.in_(ids)).values(
                held_until=stamp + LEASE))


async def forget_dead(connection: AsyncConnection) -> None:
    """Remove the streams of dead replicas, and replicas long gone."""
    stamp = now()
    found = await connection.execute(delete(_s).where(
        ~_s.c.replica_id.in_(select(_r.c.id).where(alive(stamp)))))
    if found.rowcount:
        touch(connection, _s.name)
    await connection.execute(delete(_r).where(_r.c.heartbeat_at < stamp - FORGET_AFTER))


async def open_stream(connection: AsyncConnection, replica_id: str, kind: str,
                      consumer_id: str) -> None:
    """A core stream opened here: it is the one of its consumer id (another replica's
    stream with that id is replaced when it hears of the change)."""
    statement = upsert(connection, _s).values(
        kind=kind, consumer_id=consumer_id, replica_id=replica_id, opened_at=now())
    await connection.execute(statement.on_conflict_do_update(
        index_elements=["kind", "consumer_id"],
        set_={"replica_id": replica_id, "opened_at": now()}))
    touch(connection, _s.name)


async def close_stream(connection: AsyncConnection, replica_id: str, kind: str,
                       consumer_id: str, held: Iterable[str], *, still_open: bool) -> None:
    """A core stream ended here: forget it (unless a newer one of its consumer id is open
    here), and give what it held, unacknowledged, to the other streams."""
    if not still_open:
        await connection.execute(delete(_s).where(
            _s.c.kind == kind, _s.c.consumer_id == consumer_id,
            _s.c.replica_id == replica_id))
        touch(connection, _s.name)
    ids = list(held)
    if ids:
        await connection.execute(update(_c).where(
            _c.c.held_by == replica_id, _c.c.object_id.in_(ids)).values(
                held_by=None, held_until=None))
        touch(connection, _c.name)


async def stream_open(connection: AsyncConnection, kind: str) -> bool:
    """Whether some live replica holds a core stream of this kind."""
    found = await connection.execute(select(exists().where(and_(
        _s.c.kind == kind, _s.c.replica_id == _r.c.id, alive(now())))))
    return bool(found.scalar())


async def stream_owners(connection: AsyncConnection, kind: str,
                        consumer_ids: Iterable[str]) -> dict[str, str]:
    """consumer id -> the replica holding its stream now."""
    ids = list(consumer_ids)
    if not ids:
        return {}
    rows = await connection.execute(select(_s.c.consumer_id, _s.c.replica_id).where(
        _s.c.kind == kind, _s.c.consumer_id.in_(ids)))
    return {r.consumer_id: r.replica_id for r in rows}


@dataclass(frozen=True, slots=True)
class ReplicaRow:
    """A replica as its heartbeat row shows it."""

    id: str
    host: str
    started_at: datetime
    heartbeat_at: datetime
    alive: bool


async def list_replicas(connection: AsyncConnection) -> list[ReplicaRow]:
    """Every replica with a heartbeat in the last hour, newest first."""
    stamp = now()
    rows = await connection.execute(select(_r).order_by(_r.c.started_at.desc()))
    return [ReplicaRow(r.id, r.host, utc(r.started_at), utc(r.heartbeat_at),
                       utc(r.heartbeat_at) > stamp - LEASE) for r in rows]


class Heartbeat:
    """Writes this replica's heartbeat every HEARTBEAT seconds until stopped.

    `held` gives the ids of the requests this replica's core streams hold; `on_beat` runs in
    each heartbeat's transaction (commands past their deadline are closed there) and, when
    it returns a count above 0, `on_news` runs after the commit.
    `valid_until` is when, on the monotonic clock, the claims renewed by the last successful
    heartbeat may have lapsed: work under a claim must not start after it.
    """

    def __init__(self, database: Database, held: Callable[[], set[str]],
                 on_beat: Callable[[AsyncConnection], Awaitable[int]] | None = None,
                 on_news: Callable[[], None] | None = None) -> None:
        self.database = database
        self.held = held
        self.on_beat = on_beat
        self.on_news = on_news
        self.host = host_name()
        self.started_at = now()
        # Claims made before the first heartbeat carry their own lease from the claim.
        self.valid_until = time.monotonic() + LEASE.total_seconds()
        self.failing = False
        self.last_beat: datetime | None = None

    def claims_valid(self) -> bool:
        """Whether every claim this replica holds is still surely its own."""
        return time.monotonic() < self.valid_until - HEARTBEAT

    async def beat_once(self) -> None:
        """One heartbeat: renew, then the periodic housekeeping."""
        started = time.monotonic()
        news = 0
        async with self.database.write() as connection:
            await beat(connection, self.database.replica_id, self.host, self.started_at,
                       self.held())
            await forget_dead(connection)
            if self.on_beat is not None:
                news = await self.on_beat(connection)
        self.valid_until = started + LEASE.total_seconds()
        self.last_beat = now()
        if news and self.on_news is not None:
            self.on_news()

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop`; a failing database is logged once, and retried each beat."""
        while not stop.is_set():
            try:
                await self.beat_once()
            except Exception as error:
                if not unavailable(error):
                    log.exception("heartbeat failed")
                elif not self.failing:
                    log.warning("heartbeat failed: the database is unavailable (%s); this "
                                "replica's claims lapse in %g s unless it comes back",
                                type(error).__name__, LEASE.total_seconds())
                self.failing = True
            else:
                if self.failing:
                    log.info("heartbeat works again")
                self.failing = False
            try:
                await asyncio.wait_for(stop.wait(), HEARTBEAT)
            except TimeoutError:
                pass
