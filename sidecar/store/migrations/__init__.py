"""Schema migrations: numbered steps, applied in order, each once, recorded in schema_migrations.

A step receives a synchronous connection inside the upgrade transaction. Steps that create
tables name the tables they create, so that a fresh database and an old one end up the same.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, inspect, select, text

from sidecar.ocpi.types import now
from sidecar.store import tables


@dataclass(frozen=True)
class Migration:
    """One schema step."""

    version: int
    name: str
    upgrade: Callable[[Connection], None]


def _create(*names: str) -> Callable[[Connection], None]:
    def upgrade(connection: Connection) -> None:
        wanted = [tables.metadata.tables[name] for name in names]
        tables.metadata.create_all(connection, tables=wanted)

    return upgrade


def _add_boolean(table: str, column: str, *, default: bool) -> Callable[[Connection], None]:
    """Add a NOT NULL boolean column of the current schema to an older table; its rows get
    `default`. A fresh database made the table with it already (steps that create tables
    use the current schema), so then there is nothing to do."""

    def upgrade(connection: Connection) -> None:
        if any(c["name"] == column for c in inspect(connection).get_columns(table)):
            return
        literal = ("TRUE" if default else "FALSE") if connection.dialect.name == "postgresql" \
            else str(int(default))
        connection.execute(text(
            f"ALTER TABLE {table} ADD COLUMN {column} BOOLEAN NOT NULL DEFAULT {literal}"))

    return upgrade


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema",
              _create("parties", "partners", "registration_tokens", "locations", "tariffs",
                      "tokens", "outbox", "push_attempts", "sessions", "meter_values", "cdrs",
                      "idempotency_keys", "commands")),
    Migration(2, "token A carries the Base64 choice for its partner",
              _add_boolean("registration_tokens", "token_base64", default=True)),
)


def pending(connection: Connection) -> list[Migration]:
    """The migrations not applied yet on this database."""
    if not inspect(connection).has_table("schema_migrations"):
        return list(MIGRATIONS)
    done = set(connection.scalars(select(tables.schema_migrations.c.version)))
    return [step for step in MIGRATIONS if step.version not in done]


def upgrade(connection: Connection) -> list[Migration]:
    """Apply every pending migration; returns what was applied."""
    if connection.dialect.name == "postgresql":
        # Replicas starting together: one migrates, the others wait here and find nothing to do.
        connection.execute(text("SELECT pg_advisory_xact_lock(7291835)"))
    tables.metadata.create_all(connection, tables=[tables.schema_migrations])
    applied = []
    for step in pending(connection):
        step.upgrade(connection)
        connection.execute(
            tables.schema_migrations.insert().values(
                version=step.version, name=step.name, applied_at=now()
            )
        )
        applied.append(step)
    return applied
