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
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.types import now
from sidecar.store import tables
from sidecar.store.dialect import upsert_for

PUT = "PUT"
PATCH = "PATCH"
DELETE = "DELETE"
POST = "POST"
# A claimed row with nothing new since the claim: what is in flight is the whole of it.
SENT = "SENT"

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
    # A session's charging periods the partner holds after this delivery.
    periods: int | None = None
    # The Location header of the answer (a CDR's URL at the partner).
    location: str | None = None
    # Not sent, put back for later (a session PATCH inside its coalescing interval).
    deferred: bool = False


def _merge(statement: Any) -> Any:
    """ON CONFLICT clause of an enqueue: merge into the pending row (see the module doc)."""
    new = statement.excluded
    pending_patch = and_(_o.c.action == PATCH, new.action == PATCH)
    return statement.on_conflict_do_update(
        index_elements=["partner_id", "module", "country_code", "party_id", "object_id"],
        set_={
            # A PATCH joins a pending PATCH and is absorbed by a pending PUT/DELETE/POST;
            # anything else replaces what was pending. After SENT only the news counts.
            "action": case((and_(new.action == PATCH, _o.c.action != SENT), _o.c.action),
                           else_=new.action),
            "targets": case((pending_patch, _o.c.targets + literal(";") + new.targets),
                            (_o.c.action == SENT, new.targets), else_=literal("")),
            "generation": _o.c.generation + 1,
        },
    )


_COLUMNS = ["partner_id", "module", "country_code", "party_id", "object_id", "action",
            "targets", "generation", "attempts", "next_attempt_at", "created_at"]


@cache
def _enqueue_statement(dialect: str) -> Any:
    """INSERT … ON CONFLICT merge, built once per dialect (building costs more than running)."""
    return _merge(upsert_for(dialect, _o))


@cache
def _enqueue_registered_statement(dialect: str) -> Any:
    """INSERT … SELECT for every registered partner, with the merge; built once per dialect."""
    values = select(
        _p.c.id, bindparam("q_module"), bindparam("q_country_code"), bindparam("q_party_id"),
        bindparam("q_object_id"), bindparam("q_action"), bindparam("q_targets"), literal(1),
        literal(0), bindparam("q_stamp", type_=_o.c.next_attempt_at.type),
        bindparam("q_created", type_=_o.c.created_at.type),
    ).where(_p.c.status == "REGISTERED")
    return _merge(upsert_for(dialect, _o).from_select(_COLUMNS, values))


async def enqueue_registered(
    connection: AsyncConnection,
    module: str,
    country_code: str,
    party_id: str,
    object_id: str,
    action: str,
    targets: Sequence[str] = (),
) -> None:
    """`enqueue` for every registered partner, in one statement."""
    stamp = now()
    await connection.execute(
        _enqueue_registered_statement(connection.dialect.name),
        {"q_module": module, "q_country_code": country_code.upper(),
         "q_party_id": party_id.upper(), "q_object_id": object_id, "q_action": action,
         "q_targets": ";".join(targets), "q_stamp": stamp, "q_created": stamp},
    )


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
    await connection.execute(_enqueue_statement(connection.dialect.name), rows)


def _entry(row: Any) -> Entry:
    targets = tuple(dict.fromkeys(t for t in row.targets.split(";") if t))
    return Entry(row.id, row.partner_id, row.module, row.country_code, row.party_id,
                 row.object_id, row.action, targets, row.generation, row.attempts)


async def claim(
    connection: AsyncConnection,
    capacity: dict[int, int],
    lease: timedelta,
    documents: dict[str, Table],
) -> list[tuple[Entry, bytes | None]]:
    """Take due entries, at most `capacity[partner]` per partner, for `lease`, each with
    the current document of its object (from the table `documents[module]`).

    Partners backing off are skipped; on PostgreSQL rows another worker holds are skipped.
    """
    wanted = {pid: room for pid, room in capacity.items() if room > 0}
    if not wanted:
        return []
    stamp = now()
    query = _claim_statement(connection.dialect.name, tuple(documents.items()))
    parameters = {"c_partners": list(wanted), "c_stamp": stamp, "c_limit": sum(wanted.values())}
    chosen = []
    for row in await connection.execute(query, parameters):
        if wanted.get(row.partner_id, 0) > 0:
            wanted[row.partner_id] -= 1
            document = bytes(row.document) if row.document is not None else None
            chosen.append((_entry(row), document))
    if chosen:
        # What was claimed is in flight; the row keeps only what changes from now on.
        await connection.execute(
            update(_o).where(_o.c.id.in_([e.id for e, _ in chosen]))
            .values(claimed_until=stamp + lease, action=SENT, targets=""))
    return chosen


@cache
def _claim_statement(dialect: str, documents: tuple[tuple[str, Table], ...]) -> Any:
    """Due entries of the given partners, each with its object's document; built once."""
    stamp = bindparam("c_stamp", type_=_o.c.next_attempt_at.type)
    joined: Any = _o
    bodies = []
    for module, table in documents:
        joined = joined.outerjoin(table, and_(
            _o.c.module == module, table.c.country_code == _o.c.country_code,
            table.c.party_id == _o.c.party_id, table.c.object_id == _o.c.object_id))
        bodies.append(table.c.document)
    body = func.coalesce(*bodies) if len(bodies) > 1 else bodies[0]
    query = (
        select(_o, body.label("document"))
        .select_from(joined)
        .where(
            _o.c.partner_id.in_(bindparam("c_partners", expanding=True)),
            _o.c.next_attempt_at <= stamp,
            or_(_o.c.claimed_until.is_(None), _o.c.claimed_until < stamp),
            _o.c.partner_id.not_in(
                select(_p.c.id).where(_p.c.push_backoff_until > stamp).scalar_subquery()),
        )
        .order_by(_o.c.id)
        .limit(bindparam("c_limit"))
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=_o)
    return query


def _retry_action(entry: Entry) -> Any:
    """SQL: the action of a row whose delivery of `entry` did not happen.

    DELETE and POST are sent again as they were; a PUT or PATCH becomes a PUT of the
    current object, unless a newer PUT, DELETE or POST is pending already.
    """
    again = entry.action if entry.action in (DELETE, POST) else PUT
    return case((_o.c.action.in_([SENT, PATCH]), literal(again)), else_=_o.c.action)


def backoff(failures: int, *, base: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff with full jitter: a random delay up to min(cap, base × 2^failures)."""
    return timedelta(seconds=random.uniform(base / 2, min(cap, base * 2 ** min(failures, 20))))


async def record(
    connection: AsyncConnection,
    outcomes: Sequence[Outcome],
    *,
    healthy_news: Callable[[set[int]], set[int]] = lambda partners: partners,
) -> None:
    """Store delivery outcomes (any partners): attempts, acknowledgements, push health.

    `healthy_news` picks, of the partners that only succeeded, those whose health row is
    worth writing now (by default all of them).
    """
    if not outcomes:
        return
    stamp = now()
    await connection.execute(
        tables.push_attempts.insert(),
        [{"partner_id": o.entry.partner_id, "module": o.entry.module,
          "object_id": o.entry.object_id, "method": o.method, "url": o.url[:500], "at": stamp,
          "http_status": o.http_status, "ocpi_status": o.ocpi_status,
          "error": o.error and o.error[:1000],
          "response_location": o.location and o.location[:500]} for o in outcomes],
    )
    delivered = [o.entry for o in outcomes if o.error is None]
    if delivered:
        # Only the generation that was sent is acknowledged; a newer change stays queued.
        deleted = await connection.execute(
            delete(_o).where(_o.c.id == bindparam("b_id"),
                             _o.c.generation == bindparam("b_generation")),
            [{"b_id": e.id, "b_generation": e.generation} for e in delivered],
        )
        if deleted.rowcount != len(delivered):
            # Some changed while in flight: what changed goes out next.
            await connection.execute(update(_o).where(
                _o.c.id.in_([e.id for e in delivered])).values(claimed_until=None))
    failed_by_partner: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.error is not None:
            failed_by_partner.setdefault(outcome.entry.partner_id, []).append(outcome)
    for partner_id, failed in failed_by_partner.items():
        await _failed(connection, partner_id, failed, stamp)
    healthy = healthy_news({e.partner_id for e in delivered} - failed_by_partner.keys())
    if healthy:
        await connection.execute(
            update(_p).where(_p.c.id.in_(sorted(healthy))).values(
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
    for outcome in failed:
        await connection.execute(
            update(_o)
            .where(_o.c.id == outcome.entry.id)
            .values(action=_retry_action(outcome.entry), targets="",
                    attempts=_o.c.attempts + 1, next_attempt_at=retry_at, claimed_until=None)
        )


async def release(
    connection: AsyncConnection, entries: Sequence[Entry], *, not_before: datetime | None = None
) -> None:
    """Give claimed entries back without an attempt (stopping, or deferred to `not_before`)."""
    values: dict[str, Any] = {"claimed_until": None}
    if not_before is not None:
        values["next_attempt_at"] = not_before
    for entry in entries:
        await connection.execute(update(_o).where(_o.c.id == entry.id).values(
            action=_retry_action(entry), targets="", **values))


async def defer(connection: AsyncConnection, entry: Entry, not_before: datetime) -> None:
    """Put a claimed entry back unsent, as it was (merged with what came since), for later."""
    pending_patch = and_(_o.c.action == PATCH, literal(entry.action) == PATCH)
    await connection.execute(
        update(_o).where(_o.c.id == entry.id).values(
            action=case((_o.c.action == SENT, literal(entry.action)),
                        (pending_patch, literal(PATCH)), else_=_o.c.action),
            targets=case((_o.c.action == SENT, literal(";".join(entry.targets))),
                         (pending_patch, literal(";".join(entry.targets)) + literal(";")
                          + _o.c.targets), else_=literal("")),
            claimed_until=None, next_attempt_at=not_before))


async def prune_attempts(connection: AsyncConnection, older_than: timedelta) -> None:
    """Forget delivery attempts older than `older_than`."""
    await connection.execute(
        delete(tables.push_attempts).where(tables.push_attempts.c.at < now() - older_than))


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


async def next_due(connection: AsyncConnection, partner_ids: Sequence[int]) -> datetime | None:
    """When the earliest entry of these partners can be claimed; None when there is none."""
    ready_at = case(
        (_o.c.claimed_until > _o.c.next_attempt_at, _o.c.claimed_until),
        else_=_o.c.next_attempt_at,
    )
    value = await connection.scalar(
        select(func.min(ready_at)).where(_o.c.partner_id.in_(list(partner_ids))))
    return value if isinstance(value, datetime) else None


async def forget_partner(connection: AsyncConnection, partner_id: int) -> None:
    """Drop everything queued for a partner that is no longer registered."""
    await connection.execute(delete(_o).where(_o.c.partner_id == partner_id))
