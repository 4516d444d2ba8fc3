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
