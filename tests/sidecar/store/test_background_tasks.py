"""Background work on the database ends before its connections are closed: a task left
running would die with its event loop mid-transaction, its connection never returned."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from sidecar.store.engine import Database

pytestmark = pytest.mark.anyio


async def test_dispose_cancels_kept_timers_and_their_connections_go_back(
        database: Database) -> None:
    inside = asyncio.Event()

    async def timer() -> None:
        async with database.write() as connection:
            await connection.execute(text("SELECT 1"))
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(timer())
    database.keep(task, timer=True)
    await inside.wait()
    assert database.writer.pool.checkedout() == 1  # type: ignore[attr-defined]
    await database.dispose()
    assert task.cancelled()
    assert database.writer.pool.checkedout() == 0  # type: ignore[attr-defined]


async def test_dispose_lets_kept_work_finish_first(database: Database) -> None:
    inside, go_on = asyncio.Event(), asyncio.Event()

    async def work() -> int:
        async with database.write() as connection:
            inside.set()
            await go_on.wait()
            return int(await connection.scalar(text("SELECT 41 + 1")) or 0)

    task = asyncio.create_task(work())
    database.keep(task)
    await inside.wait()
    disposing = asyncio.create_task(database.dispose())
    await asyncio.sleep(0)  # dispose is now waiting for the work
    assert not disposing.done()
    go_on.set()
    await disposing
    assert task.result() == 42
    assert database.writer.pool.checkedout() == 0  # type: ignore[attr-defined]
