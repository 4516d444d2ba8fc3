"""Schema migrations: numbered steps, applied in order, each once, recorded in schema_migrations.

A step receives a synchronous connection inside the upgrade transaction. Steps that create
tables name the tables they create, so that a fresh database and an old one end up the same.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Connection, delete, exists, inspect, select, text, update
from sqlalchemy.schema import CreateIndex

from sidecar.ocpi.types import now
from sidecar.store import tables

log = logging.getLogger(__name__)


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


def _add_columns(table: str, *names: str, index: str | None = None) -> Callable[[Connection], None]:
    """Add columns (as declared in tables.py) that a database made before them lacks.

    A database made after them already has them: migration 1 creates tables as declared.
    """
    def upgrade(connection: Connection) -> None:
        declared = tables.metadata.tables[table]
        present = {c["name"] for c in inspect(connection).get_columns(table)}
        preparer = connection.dialect.identifier_preparer
        for name in names:
            if name in present:
                continue
            column = declared.c[name]
            kind = column.type.compile(dialect=connection.dialect)
            default = getattr(column.default, "arg", None)
            clause = ""
            if isinstance(default, bool) and connection.dialect.name == "postgresql":
                clause = f" NOT NULL DEFAULT {str(default).upper()}"
            elif default is not None:
                clause = f" NOT NULL DEFAULT {int(default)}"
            connection.execute(text(
                f"ALTER TABLE {preparer.quote(table)} ADD COLUMN {preparer.quote(name)} "
                f"{kind}{clause}"))
        if index is not None:
            _reindex(drop=(), create=((table, index),))(connection)

    return upgrade


def _reindex(drop: tuple[str, ...], create: tuple[tuple[str, str], ...]
             ) -> Callable[[Connection], None]:
    """Drop indexes by name and create (table, index) pairs as tables.py defines them.

    Both are no-ops where already done: a fresh database got the current indexes from the
    initial step.
    """
    def upgrade(connection: Connection) -> None:
        for name in drop:
            connection.execute(text(f"DROP INDEX IF EXISTS {name}"))
        for table_name, index_name in create:
            table = tables.metadata.tables[table_name]
            index = next(i for i in table.indexes if i.name == index_name)
            # IF NOT EXISTS rather than reflection, which skips expression indexes.
            connection.execute(CreateIndex(index, if_not_exists=True))

    return upgrade


def _together(*steps: Callable[[Connection], None]) -> Callable[[Connection], None]:
    def upgrade(connection: Connection) -> None:
        for step in steps:
            step(connection)

    return upgrade


def _party_holders(connection: Connection) -> None:
    """Create party_holders and fill it from the registered partners' roles.

    Before this table two partners could declare one party. The first to register keeps
    it (a later claim is how the party was taken); the later partner's roles lose it, so a
    partner's stored roles are always the parties it holds.
    """
    _create("party_holders")(connection)
    p, h = tables.partners, tables.party_holders
    held: dict[tuple[str, str], int] = {}
    rows = connection.execute(
        select(p.c.id, p.c.roles).where(p.c.status == "REGISTERED").order_by(p.c.id)).all()
    for row in rows:
        kept = []
        for role in row.roles or []:
            party = (str(role["country_code"]).upper(), str(role["party_id"]).upper())
            holder = held.setdefault(party, row.id)
            if holder != row.id:
                log.warning("partner %d loses party %s/%s, held by partner %d",
                            row.id, *party, holder)
                continue
            kept.append(role)
        for party in dict.fromkeys(
                (str(r["country_code"]).upper(), str(r["party_id"]).upper()) for r in kept):
            connection.execute(h.insert().values(
                country_code=party[0], party_id=party[1], partner_id=row.id))
        if kept != list(row.roles or []):
            connection.execute(update(p).where(p.c.id == row.id).values(roles=kept))
    # A token belongs to the holder of its party: any other (a partner that left, or one
    # that wrote under a party it had taken) is dropped, and the holder's next push or
    # pull brings its own version back.
    t = tables.tokens
    connection.execute(delete(t).where(~exists().where(
        h.c.country_code == t.c.country_code, h.c.party_id == t.c.party_id,
        h.c.partner_id == t.c.partner_id)))


def _hub_parties(connection: Connection) -> None:
    """HubClientInfo reports, hub-held parties, the recipient party of pushes and results."""
    _create("hub_clients")(connection)
    _add_columns("party_holders", "via_hub")(connection)
    _add_columns("outbox", "to_country_code", "to_party_id")(connection)
    _add_columns("commands", "requester_country_code", "requester_party_id")(connection)


_DOCUMENTS = ("locations", "tariffs", "sessions", "cdrs")

MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "initial schema",
              _create("parties", "partners", "registration_tokens", "locations", "tariffs",
                      "tokens", "outbox", "push_attempts", "sessions", "meter_values", "cdrs",
                      "idempotency_keys", "commands")),
    # Sender lists page by pk (creation order) instead of last_updated.
    Migration(2, "page lists in creation order",
              _reindex(drop=(*(f"ix_{name}_last_updated" for name in _DOCUMENTS),
                             "ix_locations_published", "ix_sessions_partner", "ix_cdrs_partner"),
                       create=(*((name, f"ix_{name}_page") for name in _DOCUMENTS),
                               ("locations", "ix_locations_page_published"),
                               ("sessions", "ix_sessions_page_partner"),
                               ("cdrs", "ix_cdrs_page_partner")))),
    # Location and tariff ids are CiStrings: looked up by lower(object_id).
    Migration(3, "case-insensitive location and tariff ids",
              _reindex(drop=("ix_locations_object_id", "ix_tariffs_object_id"),
                       create=(("locations", "ix_locations_object_key"),
                               ("tariffs", "ix_tariffs_object_key")))),
    Migration(4, "outbox keeps what is in flight, refusals per object, priorities",
              _add_columns("outbox", "sent_action", "sent_targets", "claimed_by", "priority",
                           "refused_at", "last_http_status", "last_ocpi_status", "last_error",
                           index="ix_outbox_claimed")),
    Migration(5, "token A carries the Base64 choice for its partner",
              _add_columns("registration_tokens", "token_base64")),
    Migration(6, "each party is held by one partner", _party_holders),
    Migration(7, "parties behind hubs, and the party each push is for", _hub_parties),
    Migration(8, "replicas: heartbeats, core streams, requests held by a stream",
              _together(_create("replicas", "core_streams"),
                        _add_columns("commands", "held_by", "held_until"))),
    Migration(9, "reservation numbers and credited CDRs", _create("reservations", "cdr_credits")),
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
