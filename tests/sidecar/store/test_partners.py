"""Tokens are stored hashed; a token A is spent once, even by two concurrent registrations."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sidecar.store import partners, tables
from sidecar.store.engine import Database
from sidecar.store.secrets import token_hash

pytestmark = pytest.mark.anyio


async def test_token_a_is_stored_hashed_and_spent_once(database: Database) -> None:
    async with database.write() as connection:
        token = await partners.create_registration_token(connection)
    async with database.read() as connection:
        stored = (await connection.execute(select(tables.registration_tokens))).one()
        caller = await partners.find_caller(connection, token_hash(token))
    assert token.encode() not in bytes(stored.token_hash)
    assert bytes(stored.token_hash) == token_hash(token)
    assert caller is not None and caller.registration_id == stored.id
    async with database.write() as connection:
        first = await partners.insert_partner(
            connection, status=partners.REGISTERED, versions_url="http://x/v", endpoints=[],
            roles=[], inbound_token_hash=token_hash("c1"))
        second = await partners.insert_partner(
            connection, status=partners.REGISTERED, versions_url="http://y/v", endpoints=[],
            roles=[], inbound_token_hash=token_hash("c2"))
        assert await partners.use_registration_token(connection, stored.id, first)
        assert not await partners.use_registration_token(connection, stored.id, second)
    async with database.read() as connection:
        assert await partners.find_caller(connection, token_hash(token)) is None
        found = await partners.find_caller(connection, token_hash("c2"))
    assert found is not None and found.partner is not None and found.partner.id == second


async def test_unregistered_partner_token_finds_nobody(database: Database) -> None:
    async with database.write() as connection:
        partner_id = await partners.insert_partner(
            connection, status=partners.REGISTERED, versions_url="http://x/v", endpoints=[],
            roles=[], inbound_token_hash=token_hash("c1"))
        await partners.update_partner(connection, partner_id, status=partners.UNREGISTERED)
    async with database.read() as connection:
        assert await partners.find_caller(connection, token_hash("c1")) is None
