"""The outbox: what each partner must see next, merged so that it converges (never replays).

One row per (partner, object). A new change merges into an undelivered row: PUT or DELETE
replaces whatever was pending; a PATCH joins a pending PATCH (its targets are added) and is
absorbed by a pending PUT. Bodies are not stored: delivery reads the current object, so an
eMSP that was away gets the current state once. A failed delivery escalates a PATCH to PUT.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now
from sidecar.store import tables
from sidecar.store.dialect import upsert

PUT = "PUT"
PATCH = "PATCH"
DELETE = "DELETE"

_o = tables.outbox
_p = tables.partners


class Wakeup:
    """Tells the push worker, after a commit, that the outbox has news (in this process)."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call `listener` on every notify."""
        self._listeners.append(listener)

    def notify(self) -> None:
        """Wake every listener; cheap, safe to call often."""
        for listener in self._listeners:
            listener()


@dataclass(frozen=True)
class Entry:
    """A claimed outbox row."""

    id: int
    partner_id: int
    module: str
    country_code: str
    party_id: str
    object_id: str
    action: str
    targets: tuple[str, ...]
    generation: int
    attempts: int


@dataclass(frozen=True)
class Outcome:
    """The result of delivering one entry (error None on success)."""

    entry: Entry
    method: str
    url: str
    http_status: int | None
    ocpi_status: int | None
    error: str | None


async def enqueue(
    connection: AsyncConnection,
    partner_ids: Iterable[int],
    module: str,
    country_code: str,
    party_id: str,
    object_id: str,
    action: str,
    targets: Sequence[str] = (),
) -> None:
    """Record, in the caller's transaction, that these partners must see this change."""
    stamp = now()
    rows = [
        {"partner_id": pid, "module": module, "country_code": country_code.upper(),
         "party_id": party_id.upper(), "object_id": object_id, "action": action,
         "targets": ";".join(targets), "generation": 1, "attempts": 0,
         "next_attempt_at": stamp, "created_at": stamp}
        for pid in partner_ids
    ]
    if not rows:
        return
    statement = upsert(connection, _o)
    new = statement.excluded
    both_patch = and_(_o.c.action == PATCH, new.action == PATCH)
    merged = statement.on_conflict_do_update(
        index_elements=["partner_id", "module", "country_code", "party_id", "object_id"],
        set_={
            # A PATCH is absorbed by a pending PUT/DELETE; a PUT or DELETE replaces anything.
            "action": case((new.action == PATCH, _o.c.action), else_=new.action),
            "targets": case((both_patch, _o.c.targets + literal(";") + new.targets),
                            else_=literal("")),
            "generation": _o.c.generation + 1,
        },
    )
    await connection.execute(merged, rows)


async def claim(
    connection: AsyncConnection, partner_id: int, limit: int, lease: timedelta
) -> list[Entry]:
    """Take up to `limit` due entries of one partner for `lease` (skipped by other workers)."""
    stamp = now()
    query = (
        select(_o)
        .where(
            _o.c.partner_id == partner_id,
            _o.c.next_attempt_at <= stamp,
            or_(_o.c.claimed_until.is_(None), _o.c.claimed_until < stamp),
            ~select(_p.c.id).where(_p.c.id == partner_id, _p.c.push_backoff_until > stamp)
            .exists(),
        )
        .order_by(_o.c.id)
        .limit(limit)
    )
    if connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await connection.execute(query))
    if not rows:
        return []
    await connection.execute(
        update(_o).where(_o.c.id.in_([r.id for r in rows])).values(claimed_until=stamp + lease)
    )
    return [
        Entry(r.id, r.partner_id, r.module, r.country_code, r.party_id, r.object_id, r.action,
              tuple(dict.fromkeys(t for t in r.targets.split(";") if t)), r.generation,
              r.attempts)
        for r in rows
    ]


def backoff(failures: int, *, base: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff with full jitter: a random delay up to min(cap, base × 2^failures)."""
    return timedelta(seconds=random.uniform(base / 2, min(cap, base * 2 ** min(failures, 20))))


async def record(connection: AsyncConnection, partner_id: int, outcomes: Sequence[Outcome]) -> None:
    """Store the outcomes of one partner's deliveries and update its push health."""
    if not outcomes:
        return
    stamp = now()
    await connection.execute(
        tables.push_attempts.insert(),
        [{"partner_id": partner_id, "module": o.entry.module, "object_id": o.entry.object_id,
          "method": o.method, "url": o.url[:500], "at": stamp, "http_status": o.http_status,
          "ocpi_status": o.ocpi_status, "error": o.error and o.error[:1000]} for o in outcomes],
    )
    delivered = [o.entry for o in outcomes if o.error is None]
    failed = [o for o in outcomes if o.error is not None]
    for entry in delivered:
        await connection.execute(
            delete(_o).where(_o.c.id == entry.id, _o.c.generation == entry.generation)
        )
    released = [e.id for e in delivered]
    if released:
        await connection.execute(update(_o).where(_o.c.id.in_(released)).values(claimed_until=None))
    if failed:
        await _failed(connection, partner_id, failed, stamp)
    elif delivered:
        await connection.execute(
            update(_p).where(_p.c.id == partner_id).values(
                push_failures=0, push_failing_since=None, push_backoff_until=None,
                push_last_success_at=stamp)
        )


async def _failed(
    connection: AsyncConnection, partner_id: int, failed: Sequence[Outcome], stamp: datetime
) -> None:
    failures = int(await connection.scalar(
        select(_p.c.push_failures).where(_p.c.id == partner_id)) or 0) + 1
    retry_at = stamp + backoff(failures)
    await connection.execute(
        update(_p).where(_p.c.id == partner_id).values(
            push_failures=failures,
            push_failing_since=func.coalesce(_p.c.push_failing_since, stamp),
            push_backoff_until=retry_at,
            push_last_error=failed[-1].error and failed[-1].error[:1000],
        )
    )
    await connection.execute(
        update(_o)
        .where(_o.c.id.in_([o.entry.id for o in failed]))
        .values(
            # Whatever the partner missed, it gets the current object next time.
            action=case((_o.c.action == PATCH, literal(PUT)), else_=_o.c.action),
            targets="",
            attempts=_o.c.attempts + 1,
            next_attempt_at=retry_at,
            claimed_until=None,
        )
    )


async def release(connection: AsyncConnection, entries: Sequence[Entry]) -> None:
    """Give claimed entries back without an attempt (the worker is stopping)."""
    if entries:
        await connection.execute(
            update(_o).where(_o.c.id.in_([e.id for e in entries])).values(claimed_until=None)
        )


async def push_status(connection: AsyncConnection, partner_id: int) -> dict[str, Any]:
    """Pending count, failing since, last error, last success of one partner."""
    pending = await connection.scalar(
        select(func.count()).select_from(_o).where(_o.c.partner_id == partner_id))
    row = (await connection.execute(select(_p).where(_p.c.id == partner_id))).one()
    return {
        "pending": int(pending or 0),
        "failing_since": row.push_failing_since,
        "consecutive_failures": row.push_failures,
        "retry_at": row.push_backoff_until,
        "last_error": row.push_last_error,
        "last_success": row.push_last_success_at,
    }


async def next_due(connection: AsyncConnection, partner_id: int) -> datetime | None:
    """When the partner's earliest entry becomes due (None when it has none)."""
    ready_at = case(
        (_o.c.claimed_until > _o.c.next_attempt_at, _o.c.claimed_until),
        else_=_o.c.next_attempt_at,
    )
    value = await connection.scalar(
        select(func.min(ready_at)).where(_o.c.partner_id == partner_id))
    return value if isinstance(value, datetime) else None
