"""The few statements that differ between SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def upsert(connection: AsyncConnection, table: Table) -> Any:
    """INSERT … that supports `on_conflict_do_update` on either dialect."""
    return upsert_for(connection.dialect.name, table)


def upsert_for(dialect: str, table: Table) -> Any:
    """`upsert` by dialect name, for statements built once and reused."""
    if dialect == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)
