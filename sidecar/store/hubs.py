"""Parties behind hubs: what a hub reports of them (HubClientInfo), and their claims.

A hub holds no data of its own: it forwards for the parties it connects. The parties it
lists (but ours, and those another partner holds) are claimed for it in party_holders,
marked `via_hub`, so that `partners.holder_of` answers for them as for a platform's own
roles: their tokens, sessions, CDRs and commands are the hub's to carry, each addressed to
its party. Each party's ConnectionStatus is kept; pushes for a party that is not CONNECTED
wait in the outbox (see `outbox.WAITING_STATUSES`).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import utc
from sidecar.store import tables
from sidecar.store.dialect import upsert
from sidecar.store.engine import touch
from sidecar.store.partners import CALLERS, holder_of, release_parties

_k = tables.hub_clients
_h = tables.party_holders


@dataclass(frozen=True)
class Client:
    """One ClientInfo of a hub's list (country code and party id as the hub sent them)."""

    country_code: str
    party_id: str
    role: str
    status: str
    last_updated: datetime

    @property
    def key(self) -> tuple[str, str]:
        return self.country_code.upper(), self.party_id.upper()


@dataclass
class Reported:
    """What a report changed: parties claimed for the hub, parties it could not have
    (ours, or held by another partner), parties released, and whether any party's
    status changed (pushes waiting for it may be due)."""

    claimed: list[tuple[str, str]]
    refused: list[tuple[str, str]]
    released: list[tuple[str, str]]
    status_changed: bool


async def report_clients(
    connection: AsyncConnection, hub_id: int, clients: Sequence[Client],
    ours: Collection[tuple[str, str]], *, complete: bool,
) -> Reported:
    """Store the hub's report of these parties, in the caller's write transaction, and
    claim each (not ours, not another partner's) for the hub. `complete`: the hub's whole
    list (a pull), so the parties it no longer lists are forgotten and released.

    A report older than the one stored for a party (`last_updated`) is ignored, as the
    Receiver interface of mod_hub_client_info allows for objects it holds newer."""
    our_keys = {(c.upper(), p.upper()) for c, p in ours}
    before = {(r.country_code, r.party_id): (r.status, r.last_updated)
              for r in await connection.execute(
                  select(_k.c.country_code, _k.c.party_id, _k.c.status, _k.c.last_updated)
                  .where(_k.c.partner_id == hub_id))}
    reported = Reported([], [], [], False)
    wanted: dict[tuple[str, str], Client] = {}
    for client in clients:
        wanted[client.key] = client
    for key, client in sorted(wanted.items()):
        old = before.get(key)
        if old is not None and utc(old[1]) > utc(client.last_updated):
            continue
        if old is None or old[0] != client.status:
            reported.status_changed = True
        values = {"role": client.role, "status": client.status,
                  "last_updated": client.last_updated}
        await connection.execute(upsert(connection, _k).values(
            partner_id=hub_id, country_code=key[0], party_id=key[1], **values,
        ).on_conflict_do_update(index_elements=["partner_id", "country_code", "party_id"],
                                set_=values))
        if key in our_keys:
            reported.refused.append(key)
            continue
        await connection.execute(upsert(connection, _h).values(
            country_code=key[0], party_id=key[1], partner_id=hub_id, via_hub=True,
        ).on_conflict_do_nothing())
        if await holder_of(connection, *key) == hub_id:
            reported.claimed.append(key)
        else:
            reported.refused.append(key)
    if complete:
        gone = [key for key in before if key not in wanted]
        for country_code, party_id in gone:
            await connection.execute(delete(_k).where(
                _k.c.partner_id == hub_id, _k.c.country_code == country_code,
                _k.c.party_id == party_id))
        if gone:
            reported.status_changed = True
        reported.released = sorted(
            key for r in await connection.execute(
                select(_h.c.country_code, _h.c.party_id).where(
                    _h.c.partner_id == hub_id, _h.c.via_hub.is_(True)))
            if (key := (r.country_code, r.party_id)) not in wanted)
        await release_parties(connection, hub_id, keep=set(wanted), via_hub=True)
    if reported.claimed or reported.released:
        touch(connection, CALLERS)
    return reported


async def list_clients(connection: AsyncConnection, hub_id: int) -> list[dict[str, Any]]:
    """The hub's report, for the admin view: each party, its role and ConnectionStatus,
    and whether the hub holds it here (else: it is ours, or another partner's)."""
    rows = await connection.execute(
        select(_k, _h.c.partner_id.label("holder"))
        .select_from(_k.outerjoin(_h, (_h.c.country_code == _k.c.country_code)
                                  & (_h.c.party_id == _k.c.party_id)))
        .where(_k.c.partner_id == hub_id).order_by(_k.c.country_code, _k.c.party_id))
    return [{"country_code": r.country_code, "party_id": r.party_id, "role": r.role,
             "status": r.status, "last_updated": r.last_updated, "held": r.holder == hub_id}
            for r in rows]


async def get_client(
    connection: AsyncConnection, hub_id: int, country_code: str, party_id: str
) -> dict[str, Any] | None:
    """One party of the hub's report, or None."""
    row = (await connection.execute(select(_k).where(
        _k.c.partner_id == hub_id, _k.c.country_code == country_code.upper(),
        _k.c.party_id == party_id.upper()))).first()
    if row is None:
        return None
    return {"country_code": row.country_code, "party_id": row.party_id, "role": row.role,
            "status": row.status, "last_updated": row.last_updated}


async def forget_hub(connection: AsyncConnection, hub_id: int) -> None:
    """The hub is gone (unregistered): its report goes, and the parties behind it."""
    await connection.execute(delete(_k).where(_k.c.partner_id == hub_id))
    await release_parties(connection, hub_id, via_hub=True)
