"""Outbox housekeeping on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from sidecar.store import outbox, tables
from sidecar.store.engine import Database
from sidecar.store.partners import REGISTERED, insert_partner

pytestmark = pytest.mark.anyio


async def test_prune_forgets_only_old_attempts(database: Database) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    async with database.write() as connection:
        partner = await insert_partner(connection, status=REGISTERED, versions_url="http://x/v",
                                       endpoints=[], roles=[])
        await connection.execute(tables.push_attempts.insert(), [
            {"partner_id": partner, "module": "locations", "object_id": object_id,
             "method": "PUT", "url": "http://x", "at": at}
            for object_id, at in (("OLD", now - timedelta(days=8)), ("NEW", now))])
        await outbox.prune_attempts(connection, timedelta(days=7))
    async with database.read() as connection:
        left = (await connection.scalars(select(tables.push_attempts.c.object_id))).all()
    assert left == ["NEW"]


async def _partner(database: Database) -> int:
    async with database.write() as connection:
        return await insert_partner(connection, status=REGISTERED, versions_url="http://x/v",
                                    endpoints=[], roles=[])


async def _claim(database: Database, partner: int, room: int = 10) -> list[outbox.Entry]:
    async with database.write() as connection:
        claimed = await outbox.claim(connection, {partner: room}, timedelta(seconds=10), {
            "locations": tables.locations}, "worker-1")
    return [entry for entry, _ in claimed]


async def test_results_and_cdrs_are_claimed_before_object_pushes(database: Database) -> None:
    partner = await _partner(database)
    async with database.write() as connection:
        for number in range(3):
            await outbox.enqueue(connection, [partner], "locations", "NL", "CPA",
                                 f"LOC{number}", outbox.PUT)
        await outbox.enqueue(connection, [partner], "cdrs", "NL", "CPA", "CDR1", outbox.POST)
        await outbox.enqueue(connection, [partner], outbox.ACTIVE_PROFILES, "NL", "CPA",
                             "TX1", outbox.PUT)
        await outbox.enqueue(connection, [partner], "commands", "NL", "CPA", "C1", outbox.POST)
    first = await _claim(database, partner, room=3)
    assert [(e.module, e.object_id) for e in first] == [
        (outbox.ACTIVE_PROFILES, "TX1"), ("commands", "C1"), ("cdrs", "CDR1")]


@pytest.mark.parametrize(("sent", "news", "expected"), [
    # What was in flight, what came while it was, what the next claim sends.
    ((outbox.POST, ()), None, (outbox.POST, ())),
    ((outbox.DELETE, ()), None, (outbox.DELETE, ())),
    ((outbox.PATCH, ("E1",)), (outbox.PATCH, ("E2",)), (outbox.PATCH, ("E1", "E2"))),
    ((outbox.PUT, ()), (outbox.PATCH, ("E2",)), (outbox.PUT, ())),
    ((outbox.PATCH, ("E1",)), (outbox.PUT, ()), (outbox.PUT, ())),
])
async def test_an_interrupted_claim_is_sent_again_as_it_was_with_the_news(
    database: Database, sent: tuple[str, tuple[str, ...]],
    news: tuple[str, tuple[str, ...]] | None, expected: tuple[str, tuple[str, ...]],
) -> None:
    partner = await _partner(database)
    async with database.write() as connection:
        await outbox.enqueue(connection, [partner], "locations", "NL", "CPA", "LOC1", sent[0],
                             sent[1])
    [claimed] = await _claim(database, partner)
    assert (claimed.action, claimed.targets) == sent
    async with database.write() as connection:
        if news is not None:
            await outbox.enqueue(connection, [partner], "locations", "NL", "CPA", "LOC1",
                                 news[0], news[1])
        # The worker died: its claim is found at the next start.
        assert await outbox.recover(connection) == 1
    [again] = await _claim(database, partner)
    assert (again.action, again.targets) == expected
