"""Migrations and seed on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location
from sidecar.store import tables
from sidecar.store.engine import Database, normalise_url
from sidecar.store.schema import upgrade
from sidecar.store.seed import seed

pytestmark = pytest.mark.anyio


async def test_upgrade_creates_every_table_once(database_url: str) -> None:
    database = Database(database_url)
    try:
        first = await upgrade(database)
        second = await upgrade(database)
        async with database.read() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await database.dispose()
    assert first and second == []
    assert names >= set(tables.metadata.tables)


async def test_seed_on_an_empty_database_then_again_adds_nothing(database_url: str) -> None:
    database = Database(database_url)
    try:
        added = await seed(database)
        again = await seed(database)
        async with database.read() as connection:
            counts = [await connection.scalar(select(func.count()).select_from(t))
                      for t in (tables.parties, tables.locations, tables.tariffs)]
            document = await connection.scalar(select(tables.locations.c.document))
    finally:
        await database.dispose()
    assert added == ["party NL/SDC", "location LOC1", "tariff TARIFF1"]
    assert again == [] and counts == [1, 1, 1]
    location = codec.decode(document, Location)
    assert [evse.uid for evse in location.evses or []] == ["SDC-LOC1-1", "SDC-LOC1-2"]


def test_plain_urls_get_async_drivers() -> None:
    assert normalise_url("sqlite:///x.db") == "sqlite+aiosqlite:///x.db"
    assert normalise_url("postgresql://u@h/db") == "postgresql+asyncpg://u@h/db"


async def test_registration_tokens_of_an_older_schema_get_token_base64(
    database_url: str,
) -> None:
    # A database from before migration 2: the column absent, a token A issued.
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.write() as connection:
            await connection.execute(text(
                "ALTER TABLE registration_tokens DROP COLUMN token_base64"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version == 2))
            await connection.execute(text(
                "INSERT INTO registration_tokens (token_hash, created_at)"
                " VALUES (:hash, CURRENT_TIMESTAMP)"), {"hash": b"x" * 32})
        applied = await upgrade(database)
        async with database.read() as connection:
            kept = await connection.scalar(select(tables.registration_tokens.c.token_base64))
    finally:
        await database.dispose()
    assert applied == ["0002 token A carries the Base64 choice for its partner"]
    assert kept is True
