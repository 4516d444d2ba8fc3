"""What the console's pages show, read from the store (latest first, bounded)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import desc, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store import outbox, tables
from sidecar.store import partners as store

# How many rows a list page shows: the latest ones.
LATEST = 50


def _json(document: bytes | None) -> dict[str, Any]:
    """A stored OCPI document as a dict; {} when it is not one (the page still renders)."""
    if document is None:
        return {}
    try:
        value = msgspec.json.decode(bytes(document))
    except msgspec.DecodeError:
        return {}
    return value if isinstance(value, dict) else {}


@dataclass(frozen=True)
class PartnerRow:
    """A partner with its push state, as the partners page lists it."""

    partner: store.Partner
    push: dict[str, Any]


async def partner_rows(connection: AsyncConnection) -> list[PartnerRow]:
    return [PartnerRow(p, await outbox.push_status(connection, p.id))
            for p in await store.list_partners(connection)]


async def push_attempts(connection: AsyncConnection, partner_id: int) -> list[Any]:
    """The partner's latest delivery attempts (method, url, at, statuses, error)."""
    attempts = tables.push_attempts
    return list(await connection.execute(
        select(attempts).where(attempts.c.partner_id == partner_id)
        .order_by(desc(attempts.c.id)).limit(LATEST)))


@dataclass(frozen=True)
class LocationRow:
    country_code: str
    party_id: str
    id: str
    publish: bool
    last_updated: datetime
    document: dict[str, Any]

    @property
    def evses(self) -> list[dict[str, Any]]:
        evses = self.document.get("evses")
        return [e for e in evses if isinstance(e, dict)] if isinstance(evses, list) else []


async def locations(connection: AsyncConnection) -> list[LocationRow]:
    t = tables.locations
    rows = await connection.execute(
        select(t.c.country_code, t.c.party_id, t.c.object_id, t.c.publish, t.c.last_updated,
               t.c.document).order_by(desc(t.c.pk)).limit(LATEST * 4))
    return [LocationRow(r.country_code, r.party_id, r.object_id, r.publish, r.last_updated,
                        _json(r.document)) for r in rows]


@dataclass(frozen=True)
class DocumentRow:
    """A session, CDR or command: its columns, and its OCPI document decoded."""

    row: Any
    document: dict[str, Any]
    # A command's request as the eMSP sent it.
    request: dict[str, Any]


async def _latest(connection: AsyncConnection, table: Any, *columns: Any) -> list[DocumentRow]:
    rows = await connection.execute(
        select(table.c.object_id, table.c.country_code, table.c.party_id, table.c.partner_id,
               table.c.last_updated, table.c.document, *columns)
        .order_by(desc(table.c.pk)).limit(LATEST))
    return [DocumentRow(r, _json(r.document),
                        _json(r.request) if "request" in r._fields else {}) for r in rows]


async def sessions(connection: AsyncConnection) -> list[DocumentRow]:
    return await _latest(connection, tables.sessions, tables.sessions.c.status)


async def cdrs(connection: AsyncConnection) -> list[DocumentRow]:
    return await _latest(connection, tables.cdrs)


async def commands(connection: AsyncConnection) -> list[DocumentRow]:
    t = tables.commands
    return await _latest(connection, t, t.c.type, t.c.status, t.c.request, t.c.created_at,
                         t.c.deadline)
