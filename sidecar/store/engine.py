"""Database URL to engines: SQLite (embedded default) or PostgreSQL, with the dialect set-up."""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
from sqlalchemy import event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from sidecar.files import private_file


def normalise_url(url: str) -> str:
    """Accept plain `sqlite:///` and `postgresql://` URLs and pick the async drivers."""
    parsed = make_url(url)
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    elif parsed.drivername in ("postgresql", "postgres", "postgresql+psycopg2"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    return parsed.render_as_string(hide_password=False)


def _sqlite_setup(engine: AsyncEngine, *, immediate: bool) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Let SQLAlchemy, not the driver, decide when a transaction begins (see "begin").
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        # WAL: readers never block the writer, and commits are one fsync-free append.
        cursor.execute("PRAGMA journal_mode=WAL")
        # NORMAL is durable across process crashes in WAL mode; only power loss may drop
        # the last commits, the usual trade for an embedded store.
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        # Wait for the other connection's write instead of failing with "database is locked".
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def on_begin(connection: Any) -> None:
        # Writers take the write lock up front, so that two writers never deadlock on an
        # upgrade from a read lock; readers begin deferred and never wait.
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def _no_autocheckpoint(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA wal_autocheckpoint=0")
    cursor.close()


class _InlineSqlite(aiosqlite.Connection):
    """aiosqlite's API, with every call run at once on the event loop's thread.

    For the one writer connection: its statements take microseconds on a local WAL file,
    while a trip to a driver thread and back costs ~0.1 ms and, on a busy machine, waits
    for the scheduler twice. Only connecting (and closing) still use aiosqlite's thread.
    """

    async def _execute(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        if not self._running or not self._connection:
            raise ValueError("Connection closed")
        return fn(*args, **kwargs)


def _inline_creator(path: str) -> Callable[[], Awaitable[aiosqlite.Connection]]:
    async def create() -> aiosqlite.Connection:
        connection = _InlineSqlite(
            partial(sqlite3.connect, path, check_same_thread=False), iter_chunk_size=64)
        connection._thread.daemon = True
        return await connection

    return create


class Database:
    """The engines of one database: `write()` and `read()` give a connection in a transaction."""

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        # Table name -> number of committed write transactions that changed it (this process).
        self.generations: dict[str, int] = {}
        parsed = make_url(self.url)
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                # SQLite gives the -wal and -shm files the database file's mode, so a
                # database file made 0600 here keeps all three private.
                private_file(Path(parsed.database))
            inline = {"async_creator": _inline_creator(parsed.database)} if (
                parsed.database and parsed.database != ":memory:") else {}
            self.writer = create_async_engine(self.url, pool_size=1, max_overflow=0, **inline)
            self.reader = create_async_engine(self.url, pool_size=4, max_overflow=4)
            _sqlite_setup(self.writer, immediate=True)
            _sqlite_setup(self.reader, immediate=False)
        else:
            self.writer = create_async_engine(self.url, pool_size=10, max_overflow=10)
            self.reader = self.writer

    @asynccontextmanager
    async def write(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a write transaction, committed when the block ends without error.

        Tables marked with `touch` get a new generation once the commit is done, so that
        caches of what readers saw before can tell they are stale.
        """
        async with self.writer.begin() as connection:
            connection.info["touched"] = set()
            yield connection
            touched = connection.info.pop("touched")
        for name in touched:
            self.generations[name] = self.generations.get(name, 0) + 1

    def generation(self, *names: str) -> tuple[int, ...]:
        """The generations of these tables, as changed through this process."""
        return tuple(self.generations.get(name, 0) for name in names)

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction."""
        async with self.reader.connect() as connection:
            async with connection.begin():
                yield connection

    async def checkpoint_wal(self, stop: asyncio.Event, every: float = 1.0) -> None:
        """Until `stop`: copy the WAL back into the database file from a reader's thread.

        The writer's own automatic checkpoint is switched off (see `serving`), because it
        would run on the event loop's thread, in the middle of some commit, for milliseconds.
        """
        if not self.is_sqlite:
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), every)
            except TimeoutError:
                pass
            async with self.reader.connect() as connection:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def serving(self) -> None:
        """This process will run `checkpoint_wal`: the writer stops checkpointing itself."""
        if self.is_sqlite:
            event.listen(self.writer.sync_engine, "connect", _no_autocheckpoint)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def touch(connection: AsyncConnection, table_name: str) -> None:
    """Mark a table as changed by the current write transaction (see Database.write)."""
    touched = connection.info.get("touched")
    if touched is not None:
        touched.add(table_name)
