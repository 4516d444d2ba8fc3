"""Change notes between replicas on PostgreSQL: one LISTEN connection per replica.

Every write transaction that changed a table sends a note in the transaction (see
Database.write), so PostgreSQL delivers it exactly when the change commits. The listener
hears the notes of the other replicas and bumps the generations of the tables they name:
read caches, the authentication cache and the core streams' wake-ups all key on those.

While the listener is not connected, changes of other replicas go unheard: the database is
marked not coherent (caches fall back to short lifetimes; readiness and metrics show it),
and once it is connected again every generation is bumped, since anything may have changed.
SQLite needs none of this: its one process hears its own changes.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from sidecar.store.engine import CHANNEL, Database, decode_note

log = logging.getLogger("ocpi_sidecar.signals")


def _dsn(database: Database) -> str:
    return make_url(database.url).set(drivername="postgresql").render_as_string(
        hide_password=False)


class Listener:
    """Keeps one LISTEN connection to the database until stopped, reconnecting when lost."""

    def __init__(self, database: Database, *, ping_every: float = 1.0,
                 retry_max: float = 2.0) -> None:
        self.database = database
        self.ping_every = ping_every
        self.retry_max = retry_max
        self.connected = False
        # Notes heard from other replicas (for metrics).
        self.heard = 0
        # Times the connection was lost (for metrics).
        self.losses = 0

    def _heard(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        try:
            note = decode_note(payload)
        except ValueError:
            log.debug("ignored a note that is not ours: %r", payload[:200])
            return
        if note.origin == self.database.replica_id:
            return  # our own change: known here since its commit
        self.heard += 1
        self.database.changed(frozenset(note.tables))

    async def run(self, stop: asyncio.Event) -> None:
        """Listen until `stop`; while cut off, retry with a short backoff."""
        if self.database.is_sqlite:
            return
        wait = 0.1
        while not stop.is_set():
            try:
                await self._listen(stop)
                wait = 0.1
            except Exception as error:
                if self.connected or wait == 0.1:
                    log.warning("change notes from the other replicas are not heard (%s: %s); "
                                "caches expire after a second until they are",
                                type(error).__name__, error)
                self._lost()
            if stop.is_set():
                break
            try:
                await asyncio.wait_for(stop.wait(), wait)
            except TimeoutError:
                pass
            wait = min(self.retry_max, wait * 2)

    def _lost(self) -> None:
        if self.connected:
            self.losses += 1
            self.database.coherent = False
            # What was cached for ever now lives only as long as the fallback allows.
            self.database.forget_everything()
        self.connected = False
        self.database.coherent = False

    async def _listen(self, stop: asyncio.Event) -> None:
        connection = await asyncpg.connect(_dsn(self.database), timeout=5)
        lost = asyncio.Event()
        connection.add_termination_listener(lambda _c: lost.set())
        try:
            await connection.add_listener(CHANNEL, self._heard)
            was_down = not self.connected and self.losses > 0
            self.connected = True
            self.database.coherent = True
            # Whatever changed before we listened went unheard.
            self.database.forget_everything()
            if was_down:
                log.info("change notes from the other replicas are heard again")
            stopped = asyncio.ensure_future(stop.wait())
            closed = asyncio.ensure_future(lost.wait())
            try:
                while True:
                    done, _ = await asyncio.wait([stopped, closed], timeout=self.ping_every,
                                                 return_when=asyncio.FIRST_COMPLETED)
                    if stopped in done:
                        return
                    if closed in done:
                        raise ConnectionError("the listening connection was closed")
                    # A cut the kernel has not noticed yet shows as a ping that never ends.
                    await connection.fetchval("SELECT 1", timeout=self.ping_every * 2)
            finally:
                stopped.cancel()
                closed.cancel()
        finally:
            if stop.is_set():
                self.connected = False
            connection.terminate()
