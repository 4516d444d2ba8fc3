"""Who may see what: publish / publish_allowed_to of locations, and the partners to push to."""

from __future__ import annotations

from typing import Any

from sqlalchemy import and_, false, func, or_, select
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.store import tables
from sidecar.store.partners import REGISTERED

_TOKEN_FIELDS = ("uid", "type", "visual_number", "issuer", "group_id")


def _token_match(allowed: dict[str, Any]) -> Any:
    """SQL: a token matching every field set in one PublishTokenType (CiStrings ignore case)."""
    t = tables.tokens
    conditions = []
    for name in _TOKEN_FIELDS:
        value = allowed.get(name)
        if value is None:
            continue
        column = t.c[name]
        if name in ("uid", "group_id"):
            conditions.append(func.upper(column) == str(value).upper())
        else:
            conditions.append(column == value)
    return and_(*conditions) if conditions else false()


async def partners_allowed(
    connection: AsyncConnection, publish_allowed_to: list[dict[str, Any]] | None
) -> set[int]:
    """Partners owning a token that one of the PublishTokenType entries names."""
    if not publish_allowed_to:
        return set()
    query = select(tables.tokens.c.partner_id).where(
        or_(*(_token_match(a) for a in publish_allowed_to))).distinct()
    return set((await connection.scalars(query)).all())


async def unpublished_visible_to(connection: AsyncConnection, partner_id: int) -> list[int]:
    """Primary keys of unpublished locations this partner may see."""
    rows = await connection.execute(
        select(tables.locations.c.pk, tables.locations.c.publish_allowed_to).where(
            tables.locations.c.publish.is_(False),
            tables.locations.c.publish_allowed_to.is_not(None),
        )
    )
    visible = []
    for row in rows:
        if partner_id in await partners_allowed(connection, row.publish_allowed_to):
            visible.append(row.pk)
    return visible


async def registered_partners(connection: AsyncConnection) -> list[int]:
    """Every registered partner (delivery skips those without a receiver endpoint)."""
    query = select(tables.partners.c.id).where(tables.partners.c.status == REGISTERED)
    return list((await connection.scalars(query)).all())


async def location_audience(
    connection: AsyncConnection,
    publish: bool,
    publish_allowed_to: list[dict[str, Any]] | None,
    was_published: bool,
) -> list[int]:
    """Partners that must get a change of this location.

    Published: everyone. Unpublished: the partners it allows, and, when it was published
    until now, everyone once more, so that they learn it is no longer published.
    """
    everyone = await registered_partners(connection)
    if publish or was_published:
        return everyone
    allowed = await partners_allowed(connection, publish_allowed_to)
    return [p for p in everyone if p in allowed]
