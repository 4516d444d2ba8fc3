"""The SQLite WAL is kept within a bound: past it, a checkpoint truncates the file."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text

from sidecar.store.engine import Database

pytestmark = pytest.mark.anyio

MB = 1024 * 1024


async def _write(database: Database, megabytes: float) -> None:
    """That many megabytes of rows, in transactions of 64 KiB."""
    async with database.write() as connection:
        await connection.execute(text("CREATE TABLE IF NOT EXISTS filler (b BLOB)"))
    for _ in range(int(megabytes * 16)):
        async with database.write() as connection:
            await connection.execute(text("INSERT INTO filler VALUES (randomblob(65536))"))


def _wal(sqlite_url: str) -> int:
    path = sqlite_url.split("///", 1)[1] + "-wal"
    return os.stat(path).st_size if os.path.exists(path) else 0


async def test_a_wal_past_the_limit_is_truncated_and_one_within_it_is_not(
        sqlite_url: str) -> None:
    database = Database(sqlite_url)
    database.serving()  # as serve runs it: the writer never checkpoints by itself
    try:
        await _write(database, 0.5)
        within = _wal(sqlite_url)
        assert within > 0.5 * MB
        # Within the limit: copied back, the file left as it is (writers reuse it).
        assert await database.checkpoint_once(limit=2 * MB) == within
        await _write(database, 3)
        assert _wal(sqlite_url) > 2 * MB
        assert await database.checkpoint_once(limit=2 * MB) <= 2 * MB
        # Nothing was lost by it.
        async with database.read() as connection:
            rows = await connection.scalar(text("SELECT count(*) FROM filler"))
        assert rows == 8 + 48
    finally:
        await database.dispose()
