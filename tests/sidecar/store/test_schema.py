"""Migrations and seed on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import func, inspect, select, text

from sidecar.ocpi import codec
from sidecar.ocpi.locations import Location
from sidecar.ocpi.types import now
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


async def _index_names(database: Database) -> set[str]:
    # From the catalogue: SQLAlchemy's reflection skips expression indexes.
    query = ("SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
             if database.is_sqlite else
             "SELECT indexname FROM pg_indexes WHERE schemaname = 'public'")
    async with database.read() as connection:
        return set(await connection.scalars(text(query)))


# The indexes of the first schema that later steps replaced, as that schema made them.
_FIRST_SCHEMA_INDEXES = {
    **{f"ix_{t}_last_updated": f"{t} (last_updated, pk)"
       for t in ("locations", "tariffs", "sessions", "cdrs")},
    **{f"ix_{t}_object_id": f"{t} (object_id)" for t in ("locations", "tariffs")},
    "ix_locations_published": "locations (publish, last_updated, pk)",
    "ix_sessions_partner": "sessions (partner_id, last_updated, pk)",
    "ix_cdrs_partner": "cdrs (partner_id, last_updated, pk)",
}

# What replaced them.
_MADE_LATER = {"ix_locations_page", "ix_tariffs_page", "ix_sessions_page", "ix_cdrs_page",
               "ix_locations_page_published", "ix_sessions_page_partner", "ix_cdrs_page_partner",
               "ix_locations_object_key", "ix_tariffs_object_key"}


async def test_a_database_of_the_first_schema_upgrades_to_the_indexes_of_a_fresh_one(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        await upgrade(database)
        fresh = await _index_names(database)
        async with database.write() as connection:
            for name in fresh & _MADE_LATER:
                await connection.execute(text(f"DROP INDEX {name}"))
            for name, columns in _FIRST_SCHEMA_INDEXES.items():
                await connection.execute(text(f"CREATE INDEX {name} ON {columns}"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version > 1))
        applied = await upgrade(database)
        upgraded = await _index_names(database)
    finally:
        await database.dispose()
    assert applied[:2] == ["0002 page lists in creation order",
                           "0003 case-insensitive location and tariff ids"]
    assert upgraded == fresh
    assert _MADE_LATER <= fresh and not fresh & set(_FIRST_SCHEMA_INDEXES)


async def test_registration_tokens_of_an_older_schema_get_token_base64(
    database_url: str,
) -> None:
    # A database from before migration 5: the column absent, a token A issued.
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.write() as connection:
            await connection.execute(text(
                "ALTER TABLE registration_tokens DROP COLUMN token_base64"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version == 5))
            await connection.execute(text(
                "INSERT INTO registration_tokens (token_hash, created_at)"
                " VALUES (:hash, CURRENT_TIMESTAMP)"), {"hash": b"x" * 32})
        applied = await upgrade(database)
        async with database.read() as connection:
            kept = await connection.scalar(select(tables.registration_tokens.c.token_base64))
    finally:
        await database.dispose()
    assert applied == ["0005 token A carries the Base64 choice for its partner"]
    assert kept is True


async def test_an_outbox_of_the_first_schema_gets_the_in_flight_columns(
    database_url: str,
) -> None:
    # A database from before migration 4: a pending row, none of the newer columns.
    newer = ("sent_action", "sent_targets", "claimed_by", "priority", "refused_at",
             "last_http_status", "last_ocpi_status", "last_error")
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.write() as connection:
            await connection.execute(text("DROP INDEX ix_outbox_claimed"))
            for column in newer:
                await connection.execute(text(f"ALTER TABLE outbox DROP COLUMN {column}"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version == 4))
            await connection.execute(tables.partners.insert().values(
                status="REGISTERED", versions_url="http://127.0.0.1:9/v", endpoints=[],
                roles=[], created_at=now(), updated_at=now()))
            await connection.execute(text(
                "INSERT INTO outbox (partner_id, module, country_code, party_id, object_id,"
                " action, targets, generation, attempts, next_attempt_at, created_at)"
                " SELECT id, 'locations', 'NL', 'CPA', 'LOC1', 'PUT', '', 1, 0,"
                " CURRENT_TIMESTAMP, CURRENT_TIMESTAMP FROM partners"))
        applied = await upgrade(database)
        async with database.read() as connection:
            row = (await connection.execute(select(tables.outbox))).one()
        indexes = await _index_names(database)
    finally:
        await database.dispose()
    assert applied == ["0004 outbox keeps what is in flight, refusals per object, priorities"]
    assert row.priority == 2 and row.sent_action is None and row.refused_at is None
    assert "ix_outbox_claimed" in indexes


def _role(country_code: str, party_id: str) -> dict[str, object]:
    return {"role": "EMSP", "country_code": country_code, "party_id": party_id,
            "business_details": {"name": "x"}}


async def test_party_holders_are_filled_from_registered_partners_first_come_first_kept(
    database_url: str,
) -> None:
    # A database from before migration 6: partner 2 took partner 1's party DE/EMP and wrote
    # a token under it; partner 3 left with a party and a token.
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.write() as connection:
            await connection.execute(text("DROP TABLE party_holders"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version == 6))
            for status, roles in (("REGISTERED", [_role("DE", "EMP")]),
                                  ("REGISTERED", [_role("FR", "MSP"), _role("de", "emp")]),
                                  ("UNREGISTERED", [_role("NL", "EMA")])):
                await connection.execute(tables.partners.insert().values(
                    status=status, versions_url="http://127.0.0.1:9/v", endpoints=[],
                    roles=roles, created_at=now(), updated_at=now()))
            ids = list(await connection.scalars(
                select(tables.partners.c.id).order_by(tables.partners.c.id)))
            for owner, (country_code, party_id, uid) in zip(
                    (ids[1], ids[1], ids[2]), (("DE", "EMP", "TA1"), ("FR", "MSP", "TB1"),
                                               ("NL", "EMA", "TC1")), strict=True):
                await connection.execute(tables.tokens.insert().values(
                    partner_id=owner, country_code=country_code, party_id=party_id, uid=uid,
                    type="RFID", contract_id=uid, issuer="x", valid=True, whitelist="ALWAYS",
                    document=b"{}", last_updated=now()))
        applied = await upgrade(database)
        async with database.read() as connection:
            held = {(r.country_code, r.party_id): r.partner_id
                    for r in await connection.execute(select(tables.party_holders))}
            roles = {r.id: [(x["country_code"], x["party_id"]) for x in r.roles]
                     for r in await connection.execute(select(tables.partners))}
            tokens = list(await connection.scalars(select(tables.tokens.c.uid)))
    finally:
        await database.dispose()
    assert applied == ["0006 each party is held by one partner"]
    assert held == {("DE", "EMP"): ids[0], ("FR", "MSP"): ids[1]}
    assert roles[ids[1]] == [("FR", "MSP")]
    assert tokens == ["TB1"]


async def test_a_database_from_before_reservations_gets_their_tables(
    database_url: str,
) -> None:
    # A database from before migration 9: neither table, the step not recorded.
    database = Database(database_url)
    try:
        await upgrade(database)
        async with database.write() as connection:
            await connection.execute(text("DROP TABLE reservations"))
            await connection.execute(text("DROP TABLE cdr_credits"))
            await connection.execute(tables.schema_migrations.delete().where(
                tables.schema_migrations.c.version == 9))
        applied = await upgrade(database)
        async with database.read() as connection:
            names = await connection.run_sync(lambda c: set(inspect(c).get_table_names()))
    finally:
        await database.dispose()
    assert applied == ["0009 reservation numbers and credited CDRs"]
    assert {"reservations", "cdr_credits"} <= names
