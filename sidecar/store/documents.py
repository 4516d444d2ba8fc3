"""OCPI objects owned by our parties (locations, tariffs), kept as their encoded JSON."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Table, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import ci_key
from sidecar.store.dialect import upsert
from sidecar.store.engine import touch


def id_is(table: Table, object_id: str) -> ColumnElement[bool]:
    """SQL: the row's object id is this CiString, in any case.

    Ids are stored as given; `lower(object_id)` is what the ix_<table>_object_key expression
    index holds, so the comparison is an index look-up on both databases.
    """
    return func.lower(table.c.object_id) == ci_key(object_id)


async def get_document(
    connection: AsyncConnection, table: Table, country_code: str, party_id: str, object_id: str
) -> bytes | None:
    """The stored JSON of one object (its id in any case), or None."""
    row = (
        await connection.execute(
            select(table.c.document).where(
                table.c.country_code == country_code.upper(),
                table.c.party_id == party_id.upper(),
                id_is(table, object_id),
            )
        )
    ).first()
    return bytes(row.document) if row is not None else None


async def put_document(
    connection: AsyncConnection,
    table: Table,
    *,
    country_code: str,
    party_id: str,
    object_id: str,
    document: bytes,
    last_updated: datetime,
    only_new: bool = False,
    **columns: Any,
) -> bool:
    """Insert or replace one object; with `only_new`, keep an existing one. True if written."""
    values = {
        "country_code": country_code.upper(),
        "party_id": party_id.upper(),
        "object_id": object_id,
        "document": document,
        "last_updated": last_updated,
        **columns,
    }
    keys = ["country_code", "party_id", "object_id"]
    statement = upsert(connection, table).values(**values)
    if only_new:
        statement = statement.on_conflict_do_nothing(index_elements=keys)
    else:
        changed = {k: v for k, v in values.items() if k not in keys}
        statement = statement.on_conflict_do_update(index_elements=keys, set_=changed)
    result = await connection.execute(statement)
    touch(connection, table.name)
    return bool(result.rowcount)


def _conditions(table: Table, date_from: datetime | None, date_to: datetime | None,
                where: Any) -> list[Any]:
    conditions = [] if where is None else [where]
    if date_from is not None:
        conditions.append(table.c.last_updated >= date_from)
    if date_to is not None:
        conditions.append(table.c.last_updated < date_to)
    return conditions


async def count_documents(
    connection: AsyncConnection,
    table: Table,
    *,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    where: Any = None,
) -> int:
    """How many stored objects match (X-Total-Count). It grows with the table: callers keep
    it per table generation (gateway/modules.py) rather than counting on every page."""
    conditions = _conditions(table, date_from, date_to, where)
    total = await connection.scalar(select(func.count()).select_from(table).where(*conditions))
    return int(total or 0)


async def list_documents(
    connection: AsyncConnection,
    table: Table,
    *,
    offset: int,
    limit: int,
    date_from: datetime | None = None,
    date_to: datetime | None = None,
    where: Any = None,
) -> list[bytes]:
    """A page of stored JSON in creation order.

    The order is the primary key, never `last_updated`: an object changed while a partner
    reads page after page would otherwise move behind the pages still to come (seen twice)
    and shift another back onto a page already read (never seen). The dates only filter.
    Primary keys of the page are found on a (..., pk, last_updated) index alone, so that a
    deep offset walks index entries only; the documents are then read by primary key.
    """
    conditions = _conditions(table, date_from, date_to, where)
    keys = (
        select(table.c.pk).where(*conditions)
        .order_by(table.c.pk).offset(offset).limit(limit)
    )
    rows = await connection.execute(
        select(table.c.document).where(table.c.pk.in_(keys.scalar_subquery()))
        .order_by(table.c.pk)
    )
    return [bytes(row.document) for row in rows]
