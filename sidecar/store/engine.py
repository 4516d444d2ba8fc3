"""Database URL to engines: SQLite (embedded default) or PostgreSQL, with the dialect set-up."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from functools import partial
from pathlib import Path
from typing import Any

import aiosqlite
import asyncpg
import msgspec
from sqlalchemy import event, exc, text
from sqlalchemy.engine import ExceptionContext, make_url
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


# PostgreSQL's DETAIL of a NOT NULL or CHECK violation lists the failing row's values
# (a partner's token among them), and asyncpg, its SQLAlchemy adapter and SQLAlchemy each copy
# it into their error's text, which a traceback in the log would show.
_ROW_DETAIL = "Failing row contains"
# The size past which a WAL checkpoint waits for readers and truncates the file.
WAL_LIMIT = 32 * 1024 * 1024


def _without_row_values(context: ExceptionContext) -> None:
    """handle_error: the failing row's values out of every error in the chain."""
    chain = (context.sqlalchemy_exception, context.original_exception,
             context.original_exception.__cause__)
    errors = [error for error in chain if error is not None]
    details = {d for e in errors if isinstance(d := getattr(e, "detail", None), str)
               and d.startswith(_ROW_DETAIL)}
    if not details:
        return
    for error in errors:
        detail = getattr(error, "detail", None)
        if isinstance(detail, str) and detail in details:
            error.detail = f"{_ROW_DETAIL} (values hidden)"  # type: ignore[attr-defined]
        error.args = tuple(_hidden(a, details) if isinstance(a, str) else a
                           for a in error.args)


def _hidden(text: str, details: set[str]) -> str:
    for detail in details:
        text = text.replace(detail, f"{_ROW_DETAIL} (values hidden)")
    return text


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


# Errors that mean the database is out of reach (not that it refused a statement): the
# connection was refused or cut, or the server is shutting down or starting up.
_UNAVAILABLE = (OSError, ConnectionError, asyncpg.PostgresConnectionError,
                asyncpg.OperatorInterventionError, asyncpg.InterfaceError)
# Transactions PostgreSQL aborted to break a deadlock or a serialization conflict: nothing
# was done, and the same work succeeds when tried again, so they count as "not now" too.
_TRANSIENT = (asyncpg.TransactionRollbackError,)
# What a database call may raise, for handlers that sort them with `unavailable`.
DATABASE_ERRORS: tuple[type[BaseException], ...] = (
    exc.SQLAlchemyError, asyncpg.PostgresError, *_UNAVAILABLE)

# The PostgreSQL channel of change notes between replicas (see Database.write).
CHANNEL = "ocpi_sidecar_changes"
_NOTIFY = text("SELECT pg_notify(:channel, :payload)")


class ChangeNote(msgspec.Struct, array_like=True):
    """What one committed write transaction changed, as other replicas hear it."""

    origin: str
    tables: list[str]


# What `on_change` listeners get when any table may have changed.
EVERYTHING = frozenset({"*"})


def concerns(changed: frozenset[str], table: str) -> bool:
    """Whether a change note names `table` (or everything)."""
    return table in changed or "*" in changed


_encode_note = msgspec.json.Encoder().encode
decode_note = msgspec.json.Decoder(ChangeNote).decode


class Database:
    """The engines of one database: `write()` and `read()` give a connection in a transaction.

    It also says when what a reader saw may be stale: each table has a generation, bumped
    after every committed transaction that changed it, here or (on PostgreSQL, heard through
    LISTEN/NOTIFY by sidecar.store.signals) in another replica.
    """

    def __init__(self, url: str) -> None:
        self.url = normalise_url(url)
        # This process among the replicas of one database: the owner of its claims.
        self.replica_id = str(uuid.uuid4())
        # Table name -> number of committed write transactions that changed it.
        self.generations: dict[str, int] = {}
        # Called with the names of changed tables after each change is known here.
        self._on_change: list[Callable[[frozenset[str]], None]] = []
        # Whether every change made elsewhere reaches `generations` at once: always on
        # SQLite (one process); on PostgreSQL while the listener is connected. Caches
        # fall back to short lifetimes when it is not.
        self.coherent = True
        # Bumped when changes may have gone unheard: every generation is new then.
        self.epoch = 0
        parsed = make_url(self.url)
        # hide_parameters: statement parameters hold partners' tokens, and a database
        # error's text (logged with its traceback) would otherwise repeat them.
        self.is_sqlite = parsed.get_backend_name() == "sqlite"
        if self.is_sqlite:
            if parsed.database and parsed.database != ":memory:":
                # SQLite gives the -wal and -shm files the database file's mode, so a
                # database file made 0600 here keeps all three private.
                private_file(Path(parsed.database))
            inline = {"async_creator": _inline_creator(parsed.database)} if (
                parsed.database and parsed.database != ":memory:") else {}
            self.writer = create_async_engine(self.url, pool_size=1, max_overflow=0,
                                              hide_parameters=True, **inline)
            self.reader = create_async_engine(self.url, pool_size=4, max_overflow=4,
                                              hide_parameters=True)
            _sqlite_setup(self.writer, immediate=True)
            _sqlite_setup(self.reader, immediate=False)
        else:
            self.writer = create_async_engine(self.url, pool_size=10, max_overflow=10,
                                              hide_parameters=True)
            event.listen(self.writer.sync_engine, "handle_error", _without_row_values)
            self.reader = self.writer
            # Until the listener is connected, changes of other replicas go unheard.
            self.coherent = False

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
            if touched and not self.is_sqlite:
                # In the transaction: PostgreSQL delivers the note if and only if the
                # changes commit, so no replica ever misses one nor hears of a rollback.
                await connection.execute(_NOTIFY, {"channel": CHANNEL, "payload": _encode_note(
                    ChangeNote(self.replica_id, sorted(map(str, touched)))).decode()})
        if touched:
            self.changed(frozenset(touched))

    def changed(self, names: frozenset[str]) -> None:
        """These tables changed (here, or in another replica): bump their generations and
        tell whoever waits for them."""
        for name in names:
            self.generations[name] = self.generations.get(name, 0) + 1
        for listener in self._on_change:
            listener(names)

    def on_change(self, listener: Callable[[frozenset[str]], None]) -> None:
        """Call `listener` with the names of the changed tables after every change."""
        self._on_change.append(listener)

    def forget_everything(self) -> None:
        """Changes may have gone unheard (the listener was cut off): every table is new."""
        self.epoch += 1
        for listener in self._on_change:
            listener(EVERYTHING)

    def generation(self, *names: str) -> tuple[int, ...]:
        """The generations of these tables (with the epoch first)."""
        return (self.epoch, *(self.generations.get(name, 0) for name in names))

    def cache_ttl(self, fallback: float) -> float | None:
        """How long a cached answer may be kept beside its generations: for ever while
        coherent, else `fallback` seconds."""
        return None if self.coherent else fallback

    @asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection in a read transaction."""
        async with self.reader.connect() as connection:
            async with connection.begin():
                yield connection

    async def checkpoint_wal(self, stop: asyncio.Event, every: float = 1.0,
                             limit: int = WAL_LIMIT) -> None:
        """Until `stop`: copy the WAL back into the database file from a reader's thread.

        The writer's own automatic checkpoint is switched off (see `serving`), because it
        would run on the event loop's thread, in the middle of some commit, for milliseconds.
        """
        if not self.is_sqlite:
            return
        pause, size = every, 0
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), pause)
            except TimeoutError:
                pass
            # A large WAL that is still growing is looked at ten times as often, so that it
            # is caught near the limit rather than a second of writes past it.
            previous, size = size, await self.checkpoint_once(limit)
            pause = every / 10 if size > max(previous, limit // 4) else every

    async def checkpoint_once(self, limit: int = WAL_LIMIT) -> int:
        """One checkpoint; the WAL file's size after it, in bytes.

        A passive checkpoint never waits, but the WAL only starts over from its beginning
        when a writer finds it wholly copied back and no reader in it: under a steady stream
        of writes with readers about, that moment may not come, and the file grows without
        end (past 150 MB in a 40,000-event meter stream). Past `limit`, the checkpoint waits
        for the readers of the moment (milliseconds; writers wait meanwhile) and truncates
        the file, so it stays within about `limit` plus what a second adds.
        """
        wal = f"{self._sqlite_path()}-wal"
        async with self.reader.connect() as connection:
            await connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
            size = _size(wal)
            if size > limit:
                await connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
                size = _size(wal)
        return size

    def _sqlite_path(self) -> str:
        return str(make_url(self.url).database)

    def serving(self) -> None:
        """This process will run `checkpoint_wal`: the writer stops checkpointing itself."""
        if self.is_sqlite:
            event.listen(self.writer.sync_engine, "connect", _no_autocheckpoint)

    async def dispose(self) -> None:
        """Close every pooled connection."""
        await self.writer.dispose()
        if self.reader is not self.writer:
            await self.reader.dispose()


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def touch(connection: AsyncConnection, table_name: str) -> None:
    """Mark a table as changed by the current write transaction (see Database.write)."""
    touched = connection.info.get("touched")
    if touched is not None:
        touched.add(table_name)



def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database cannot do the work now (down, restarting, the
    connection cut, or the transaction aborted to break a deadlock), as opposed to a
    statement it refused: nothing was done, and the caller may retry later."""
    if isinstance(error, exc.DBAPIError) and error.connection_invalidated:
        return True
    if isinstance(error, exc.TimeoutError):
        return True  # no pooled connection came free: every one is stuck on the database
    cause: BaseException | None = error
    seen = 0
    while cause is not None and seen < 8:
        if isinstance(cause, (*_UNAVAILABLE, *_TRANSIENT)):
            return True
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return False
