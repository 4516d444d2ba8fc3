"""Tokens as the core's events see them: whose a transaction's token is."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.enums import TokenType
from sidecar.ocpi.sessions import CdrToken
from sidecar.store.partners import holder_of
from sidecar.store.tokens import token_party


@dataclass(frozen=True, slots=True)
class TokenInput:
    """The token a transaction runs on, as the core sent it."""

    uid: str
    type: TokenType
    contract_id: str | None
    party: tuple[str, str] | None
    authorized_by_sidecar: bool
    authorization_reference: str | None


async def resolve_token(
    connection: AsyncConnection, given: TokenInput, ours: tuple[str, str]
) -> tuple[CdrToken, int | None]:
    """The CdrToken and its owner: the party sent, else the token cache, else our own party.

    A token of none of the eMSPs (our own customers') belongs to the location's CPO party
    and to no partner.
    """
    party, contract_id = given.party, given.contract_id
    if party is None or contract_id is None:
        cached = await token_party(connection, given.uid, given.type.value)
        if cached is not None:
            party = party or (cached.country_code, cached.party_id)
            contract_id = contract_id or cached.contract_id
    token = CdrToken(country_code=(party or ours)[0], party_id=(party or ours)[1],
                     uid=given.uid, type=given.type, contract_id=contract_id or given.uid)
    return token, (await holder_of(connection, token.country_code, token.party_id)
                   if party is not None else None)


async def owner_of(connection: AsyncConnection, token: CdrToken | None) -> int | None:
    """The partner holding the token's party now (None: no token, or nobody holds it)."""
    if token is None:
        return None
    return await holder_of(connection, token.country_code, token.party_id)
