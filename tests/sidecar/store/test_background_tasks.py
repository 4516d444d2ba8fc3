"""Background work on the database ends before its connections are closed: a task left
running would die with its event loop mid-transaction, its connection never returned."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from sidecar.store.engine import Database

pytestmark = pytest.mark.anyio


async def test_dispose_ends_kept_tasks_and_their_connections_go_back(
        database: Database) -> None:
    inside = asyncio.Event()

    async def work() -> None:
        async with database.write() as connection:
            await connection.execute(text("SELECT 1"))
            inside.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(work())
    database.keep(task)
    await inside.wait()
    assert database.writer.pool.checkedout() == 1  # type: ignore[attr-defined]
    await database.dispose()
    assert task.cancelled()
    assert database.writer.pool.checkedout() == 0  # type: ignore[attr-defined]
