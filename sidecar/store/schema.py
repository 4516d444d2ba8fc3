"""Bring a database to the current schema (`ocpi-sidecar db upgrade`)."""

from __future__ import annotations

from sidecar.store import migrations
from sidecar.store.engine import Database


async def upgrade(database: Database) -> list[str]:
    """Apply pending migrations; returns the names of those applied."""
    async with database.write() as connection:
        applied = await connection.run_sync(migrations.upgrade)
    return [f"{step.version:04d} {step.name}" for step in applied]
