"""The token cache: eMSPs' tokens as pushed or pulled, each kept under the partner that owns it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi import codec
from sidecar.ocpi.tokens import Token
from sidecar.store import tables
from sidecar.store.engine import touch
from sidecar.store.partners import holder_of

_t = tables.tokens


@dataclass(frozen=True, slots=True)
class TokenRow:
    """A cached token: who owns it and the document as the eMSP sent it."""

    partner_id: int
    token: Token
    document: bytes


def _key(country_code: str, party_id: str, uid: str, type_: str) -> list[Any]:
    # CiStrings: the party is stored upper case; the uid as given, compared case-insensitively.
    return [_t.c.country_code == country_code.upper(), _t.c.party_id == party_id.upper(),
            func.upper(_t.c.uid) == uid.upper(), _t.c.type == type_]


async def get_token(
    connection: AsyncConnection, country_code: str, party_id: str, uid: str, type_: str
) -> TokenRow | None:
    """One cached token by its OCPI key, or None."""
    row = (await connection.execute(
        select(_t.c.partner_id, _t.c.document).where(*_key(country_code, party_id, uid, type_))
    )).first()
    if row is None:
        return None
    document = bytes(row.document)
    return TokenRow(row.partner_id, codec.decode(document, Token), document)


async def find_tokens(connection: AsyncConnection, uid: str, type_: str) -> list[TokenRow]:
    """Every cached token with this uid and type, whichever eMSP owns it."""
    rows = await connection.execute(
        select(_t.c.partner_id, _t.c.document)
        .where(func.upper(_t.c.uid) == uid.upper(), _t.c.type == type_).order_by(_t.c.pk))
    return [TokenRow(r.partner_id, codec.decode(bytes(r.document), Token), bytes(r.document))
            for r in rows]


@dataclass(frozen=True, slots=True)
class TokenParty:
    """Whose a cached token is, as its eMSP said: the party and contract id."""

    country_code: str
    party_id: str
    contract_id: str


async def token_party(connection: AsyncConnection, uid: str, type_: str) -> TokenParty | None:
    """The party and contract of a cached token with this uid and type (the first cached), or
    None; reads the indexed columns only, no document."""
    row = (await connection.execute(
        select(_t.c.country_code, _t.c.party_id, _t.c.contract_id)
        .where(func.upper(_t.c.uid) == uid.upper(), _t.c.type == type_).limit(1))).first()
    return TokenParty(row.country_code, row.party_id, row.contract_id) if row else None


class NotHolder(Exception):
    """A partner wrote a token under a party it does not hold."""

    def __init__(self, country_code: str, party_id: str) -> None:
        self.country_code = country_code
        self.party_id = party_id
        super().__init__(f"{country_code}/{party_id} is not one of your parties")


async def upsert_tokens(
    connection: AsyncConnection, partner_id: int, tokens: list[Token]
) -> int:
    """Store these tokens for their owning partner (replacing what was cached); how many
    were new. Marks the table changed for the gateway's read cache.

    A token belongs to the party it names: only that party's holder writes it (NotHolder
    otherwise, checked in this transaction). The holder's release of a party takes its
    tokens along, so an existing token is always the writer's and never changes hands.
    """
    if not tokens:
        return 0
    known = 0
    for token in tokens:
        if await holder_of(connection, token.country_code, token.party_id) != partner_id:
            raise NotHolder(token.country_code, token.party_id)
        exists = (await connection.execute(select(_t.c.pk).where(
            *_key(token.country_code, token.party_id, token.uid, token.type)))).first()
        known += exists is not None
        values = _values(partner_id, token)
        if exists is not None:
            await connection.execute(update(_t).where(
                _t.c.pk == exists.pk, _t.c.partner_id == partner_id).values(**values))
        else:
            await connection.execute(_t.insert().values(**values))
    touch(connection, "tokens")
    return len(tokens) - known


async def held_tokens(
    connection: AsyncConnection, partner_id: int, tokens: list[Token]
) -> list[Token]:
    """Those of these tokens that the partner may write (it holds their party)."""
    return [t for t in tokens
            if await holder_of(connection, t.country_code, t.party_id) == partner_id]


def _values(partner_id: int, token: Token) -> dict[str, Any]:
    return {
        "partner_id": partner_id, "country_code": token.country_code.upper(),
        "party_id": token.party_id.upper(), "uid": token.uid, "type": str(token.type),
        "contract_id": token.contract_id, "visual_number": token.visual_number,
        "issuer": token.issuer, "group_id": token.group_id, "valid": token.valid,
        "whitelist": str(token.whitelist), "document": codec.encode(token),
        "last_updated": token.last_updated,
    }


async def tokens_pulled_at(connection: AsyncConnection, partner_id: int) -> datetime | None:
    """When the partner's Tokens Sender list was last pulled completely, or None."""
    p = tables.partners
    return (await connection.execute(
        select(p.c.tokens_pulled_at).where(p.c.id == partner_id))).scalar()


async def set_tokens_pulled_at(
    connection: AsyncConnection, partner_id: int, moment: datetime
) -> None:
    """Remember a completed pull (the next incremental one asks from here)."""
    p = tables.partners
    await connection.execute(update(p).where(p.c.id == partner_id).values(
        tokens_pulled_at=moment))
