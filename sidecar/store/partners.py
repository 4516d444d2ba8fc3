"""Roaming partners, the tokens they call us with, and the registration tokens (A) we issue."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now
from sidecar.store import tables
from sidecar.store.dialect import upsert
from sidecar.store.engine import touch
from sidecar.store.secrets import new_token, token_hash

PENDING = "PENDING"
REGISTERED = "REGISTERED"
UNREGISTERED = "UNREGISTERED"

_t = tables.partners
# What the authentication cache keys on (not a table): any change to who a token belongs to,
# what a partner may do, or the parties it reaches; every write of those touches it.
CALLERS = "callers"


@dataclass(frozen=True)
class PartnerRole:
    """One role (party) a partner declared in its credentials."""

    role: str
    country_code: str
    party_id: str
    business_details: dict[str, Any]

    @classmethod
    def from_json(cls, value: dict[str, Any]) -> PartnerRole:
        return cls(str(value.get("role", "")), str(value["country_code"]),
                   str(value["party_id"]), dict(value.get("business_details") or {}))

    def as_json(self) -> dict[str, Any]:
        return {"role": self.role, "country_code": self.country_code,
                "party_id": self.party_id, "business_details": self.business_details}

    def is_party(self, country_code: str, party_id: str) -> bool:
        """CiString: compared case-insensitively."""
        return (self.country_code.upper() == country_code.upper()
                and self.party_id.upper() == party_id.upper())


@dataclass(frozen=True)
class Partner:
    """A partner platform as stored (never carries the token it calls us with)."""

    id: int
    status: str
    versions_url: str
    version: str | None
    endpoints: list[dict[str, str]]
    roles: tuple[PartnerRole, ...]
    outbound_token: str | None
    outbound_token_base64: bool
    created_at: datetime
    updated_at: datetime

    def endpoint(self, identifier: str, role: str | None = None) -> str | None:
        """URL of the partner's module endpoint, preferring the given interface role."""
        found = [e for e in self.endpoints if e["identifier"] == identifier]
        for entry in found:
            if role is None or entry.get("role") == role:
                return entry["url"]
        return found[0]["url"] if found and identifier == "credentials" else None

    def has_party(self, country_code: str, party_id: str) -> bool:
        """Whether the partner declared this party (CiString: compared case-insensitively).

        Roles are stored only together with their claim (`hold_parties`), so for a
        registered partner this is the parties it holds, as of when it was loaded; what
        decides ownership in a transaction is `holder_of`. A hub's parties behind it are
        not roles: see `Caller.reaches`."""
        return any(r.is_party(country_code, party_id) for r in self.roles)

    @property
    def is_hub(self) -> bool:
        """Whether the platform declared the HUB role (it forwards for parties behind it)."""
        return any(r.role == "HUB" for r in self.roles)

    def may_own_tokens(self) -> bool:
        """Whether tokens can be this platform's: it is an eMSP, or a hub fronting eMSPs."""
        return any(r.role in ("EMSP", "HUB") for r in self.roles)

    def broadcast_party(self) -> PartnerRole | None:
        """The party to address when the push is for the platform as a whole (locations,
        tariffs) or for nobody in particular: a hub's HUB role (transport_and_format:
        broadcasts to a hub carry the hub's party in OCPI-to), else its first EMSP role,
        else its first role. Never used for what belongs to one party (sessions, CDRs,
        results): those carry their own recipient."""
        return next((r for r in self.roles if r.role == "HUB"),
                    next((r for r in self.roles if r.role == "EMSP"),
                         self.roles[0] if self.roles else None))


@dataclass(frozen=True)
class Caller:
    """Who a presented token belongs to: a registration token A, or a partner."""

    registration_id: int | None = None
    partner: Partner | None = None
    # True when the partner used the token of a rotation still in progress.
    pending_token: bool = False
    # For a token A: whether its partner is to get our token Base64-encoded.
    registration_token_base64: bool = True
    # For a hub: the parties behind it that it holds (upper case), as of the look-up.
    behind: frozenset[tuple[str, str]] = frozenset()

    def reaches(self, country_code: str, party_id: str) -> bool:
        """Whether requests of this caller may speak for the party (OCPI-from): one of its
        roles, or a party a hub holds behind itself."""
        return self.partner is not None and (
            self.partner.has_party(country_code, party_id)
            or (country_code.upper(), party_id.upper()) in self.behind)


def _partner(row: Row[Any]) -> Partner:
    return Partner(
        id=row.id,
        status=row.status,
        versions_url=row.versions_url,
        version=row.version,
        endpoints=list(row.endpoints or []),
        roles=tuple(PartnerRole.from_json(r) for r in row.roles or []),
        outbound_token=row.outbound_token,
        outbound_token_base64=row.outbound_token_base64,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


async def create_registration_token(
    connection: AsyncConnection, *, token_base64: bool = True
) -> str:
    """Issue a CREDENTIALS_TOKEN_A; only its hash is stored, the token is returned once.

    `token_base64` is handed to the partner that registers with it."""
    token = new_token()
    await connection.execute(
        tables.registration_tokens.insert().values(
            token_hash=token_hash(token), created_at=now(), token_base64=token_base64)
    )
    return token


async def find_caller(connection: AsyncConnection, digest: bytes) -> Caller | None:
    """Resolve the SHA-256 of a presented token to its owner, or None when nobody has it."""
    partner_row = (
        await connection.execute(
            select(_t, (_t.c.pending_token_hash == digest).label("via_pending")).where(
                or_(_t.c.inbound_token_hash == digest, _t.c.pending_token_hash == digest),
                _t.c.status != UNREGISTERED,
            )
        )
    ).first()
    if partner_row is not None:
        behind = frozenset((r.country_code, r.party_id) for r in await connection.execute(
            select(_h.c.country_code, _h.c.party_id).where(
                _h.c.partner_id == partner_row.id, _h.c.via_hub.is_(True))))
        return Caller(partner=_partner(partner_row), pending_token=bool(partner_row.via_pending),
                      behind=behind)
    registration = (
        await connection.execute(
            select(tables.registration_tokens.c.id,
                   tables.registration_tokens.c.token_base64).where(
                tables.registration_tokens.c.token_hash == digest,
                tables.registration_tokens.c.used_at.is_(None),
            )
        )
    ).first()
    if registration is None:
        return None
    return Caller(registration_id=registration.id,
                  registration_token_base64=bool(registration.token_base64))


async def use_registration_token(
    connection: AsyncConnection, registration_id: int, partner_id: int
) -> bool:
    """Spend token A for this partner; False when it was spent meanwhile (a concurrent POST)."""
    result = await connection.execute(
        update(tables.registration_tokens)
        .where(
            tables.registration_tokens.c.id == registration_id,
            tables.registration_tokens.c.used_at.is_(None),
        )
        .values(used_at=now(), partner_id=partner_id)
    )
    touch(connection, CALLERS)
    return result.rowcount == 1


async def insert_partner(connection: AsyncConnection, **values: Any) -> int:
    """Store a new partner; returns its id."""
    stamp = now()
    result = await connection.execute(
        _t.insert().values(created_at=stamp, updated_at=stamp, **values).returning(_t.c.id)
    )
    touch(connection, CALLERS)
    return int(result.scalar_one())


async def update_partner(connection: AsyncConnection, partner_id: int, **values: Any) -> None:
    """Change stored fields of a partner."""
    await connection.execute(
        update(_t).where(_t.c.id == partner_id).values(updated_at=now(), **values)
    )
    touch(connection, CALLERS)


async def delete_partner(connection: AsyncConnection, partner_id: int) -> None:
    """Forget a partner whose registration never completed."""
    await connection.execute(delete(_t).where(_t.c.id == partner_id))
    touch(connection, CALLERS)


async def get_partner(connection: AsyncConnection, partner_id: int) -> Partner | None:
    """One partner by id."""
    row = (await connection.execute(select(_t).where(_t.c.id == partner_id))).first()
    return _partner(row) if row is not None else None


async def list_partners(
    connection: AsyncConnection, *, status: str | None = None
) -> list[Partner]:
    """Every partner (optionally of one status), oldest first."""
    query = select(_t).order_by(_t.c.id)
    if status is not None:
        query = query.where(_t.c.status == status)
    return [_partner(row) for row in await connection.execute(query)]


class PartyHeld(Exception):
    """A partner claimed a party that another partner holds."""

    def __init__(self, country_code: str, party_id: str, holder: int | None,
                 index: int) -> None:
        self.country_code = country_code
        self.party_id = party_id
        # The partner holding it; None when it is one of our own CPO parties.
        self.holder = holder
        # Which of the offered roles names the party.
        self.index = index
        whose = "one of this CPO's own" if holder is None else f"held by partner {holder}"
        super().__init__(f"party {country_code}/{party_id} is {whose}")


_h = tables.party_holders


async def holder_of(connection: AsyncConnection, country_code: str, party_id: str) -> int | None:
    """The registered partner that reaches this party (CiStrings: any case), or None.

    A party is reached through the partner holding it as one of its own credentials roles,
    or through the hub that lists it behind itself (HubClientInfo, `report_clients`): both
    are claims in party_holders, so that one partner at most reaches a party.

    The one answer to "whose is party X": a token under the party, a command naming one of
    its tokens, a session or CDR of one of its tokens belong to this partner (and go to it,
    addressed to the party).
    """
    return (await connection.execute(select(_h.c.partner_id).where(
        _h.c.country_code == country_code.upper(), _h.c.party_id == party_id.upper()))).scalar()


async def hold_parties(
    connection: AsyncConnection, partner_id: int, roles: list[dict[str, Any]]
) -> None:
    """Make the partner hold exactly the parties of these roles, in the caller's write
    transaction (which must store the roles too); PartyHeld when another partner holds one.

    The claim is an insert that the primary key refuses while anyone else holds the party;
    on PostgreSQL a concurrent claim waits for ours to commit or roll back, then sees it.
    A party the partner no longer declares is released, with its tokens.
    """
    wanted: dict[tuple[str, str], int] = {}
    for index, role in enumerate(roles):
        wanted.setdefault((role["country_code"].upper(), role["party_id"].upper()), index)
    # A partner speaking as one of our own parties could receive what is sent to us.
    p = tables.parties
    ours = {(row.country_code.upper(), row.party_id.upper()) for row in await connection.execute(
        select(p.c.country_code, p.c.party_id))}
    for party, index in sorted(wanted.items()):
        if party in ours:
            raise PartyHeld(*party, None, index)
    # In one order for everyone, so that two claims of the same parties on PostgreSQL wait
    # for each other instead of deadlocking.
    for (country_code, party_id), index in sorted(wanted.items()):
        await connection.execute(upsert(connection, _h).values(
            country_code=country_code, party_id=party_id, partner_id=partner_id,
        ).on_conflict_do_nothing())
        holder = await holder_of(connection, country_code, party_id)
        if holder != partner_id:
            assert holder is not None
            raise PartyHeld(country_code, party_id, holder, index)
        # A party the hub listed before it declared it as a role is now a role: a later
        # HubClientInfo that leaves it out must not release it.
        await connection.execute(update(_h).where(
            _h.c.country_code == country_code, _h.c.party_id == party_id,
            _h.c.via_hub.is_(True)).values(via_hub=False))
    await release_parties(connection, partner_id, keep=set(wanted), via_hub=False)
    touch(connection, CALLERS)


async def release_parties(
    connection: AsyncConnection, partner_id: int, *, keep: Collection[tuple[str, str]] = (),
    via_hub: bool | None = None,
) -> None:
    """The partner stops holding its parties (but `keep`; only those of its roles, or
    only those behind it as a hub, when `via_hub` says so): another partner may take them.

    Its cached tokens under them go too: a token belongs to its party's holder, and the
    next holder must not inherit the tokens of the last.
    """
    t = tables.tokens
    query = select(_h.c.country_code, _h.c.party_id).where(_h.c.partner_id == partner_id)
    if via_hub is not None:
        query = query.where(_h.c.via_hub.is_(via_hub))
    held = [(row.country_code, row.party_id) for row in await connection.execute(query)]
    for country_code, party_id in held:
        if (country_code, party_id) in keep:
            continue
        await connection.execute(delete(_h).where(
            _h.c.country_code == country_code, _h.c.party_id == party_id,
            _h.c.partner_id == partner_id))
        await connection.execute(delete(t).where(
            t.c.country_code == country_code, t.c.party_id == party_id,
            t.c.partner_id == partner_id))
        touch(connection, "tokens")
        touch(connection, CALLERS)
