"""A transaction PostgreSQL aborts to break a deadlock (or a serialization conflict) did
nothing: it counts as the database being unavailable for now, so that the core gets
UNAVAILABLE and retries with the same key, and a partner gets 503, never an internal error."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import text

from sidecar.store.engine import Database, unavailable
from sidecar.store.parties import upsert_party

pytestmark = pytest.mark.anyio


async def test_a_deadlock_victim_counts_as_unavailable(database: Database) -> None:
    if database.is_sqlite:
        pytest.skip("SQLite has one writer at a time: no deadlock between writers")
    async with database.write() as connection:
        await upsert_party(connection, "NL", "AAA", {"name": "A"})
        await upsert_party(connection, "NL", "BBB", {"name": "B"})
    touch = text("UPDATE parties SET country_code = country_code WHERE party_id = :party")
    first_locked = [asyncio.Event(), asyncio.Event()]

    async def cross(mine: int, first: str, then: str) -> BaseException | None:
        try:
            async with database.write() as connection:
                await connection.execute(touch, {"party": first})
                first_locked[mine].set()
                # Both hold one row and ask for the other's: PostgreSQL aborts one of them.
                await first_locked[1 - mine].wait()
                await connection.execute(touch, {"party": then})
        except Exception as error:
            first_locked[mine].set()
            return error
        return None

    outcomes = await asyncio.wait_for(asyncio.gather(
        cross(0, "AAA", "BBB"), cross(1, "BBB", "AAA")), 60)
    errors = [outcome for outcome in outcomes if outcome is not None]
    assert len(errors) == 1, outcomes
    assert "deadlock" in str(errors[0])
    assert unavailable(errors[0])
