"""The outbox: what each partner must see next, merged so that it converges (never replays).

One row per (partner, object). A new change merges into an undelivered row: PUT or DELETE
replaces whatever was pending; a PATCH joins a pending PATCH (its targets are added) and is
absorbed by a pending PUT. Bodies are not stored: delivery reads the current object, so an
eMSP that was away gets the current state once.

Claiming a row moves what it holds to `sent_action`/`sent_targets` (in flight) and leaves
`action` SENT, so later changes are recorded as news beside it. The in-flight part is only
dropped when its delivery is recorded: after a crash, a stop or a lost lease the next claim
sends it again as what it was (a CDR POST stays a POST, a DELETE a DELETE), merged with the
news. A failed delivery escalates a PATCH to a PUT of the current object.

Failures are of two kinds. The partner is unreachable (transport error, timeout, HTTP 5xx,
OCPI 3xxx, 401/403/429): the partner backs off, all of its rows wait. The partner refused
this object (OCPI 2xxx, other HTTP 4xx): only that row backs off, and a new change to the
object makes it due at once.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Table, and_, bindparam, case, delete, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.ocpi.enums import ModuleID
from sidecar.ocpi.types import now, utc
from sidecar.store import tables
from sidecar.store.dialect import upsert_for

PUT = "PUT"
PATCH = "PATCH"
DELETE = "DELETE"
POST = "POST"
# A claimed row with nothing new since the claim: what is in flight is the whole of it.
SENT = "SENT"

# Outbox modules are OCPI module ids, and one of our own: an active charging profile the
# core reports, PUT to the eMSP's chargingprofiles endpoint (its results use "commands").
ACTIVE_PROFILES = "activeprofiles"

# Claim order: results the partner waits for (it set a timeout), then CDRs (money), then
# object pushes. Modules not named here are object pushes.
PRIORITIES = {ModuleID.COMMANDS: 0, ACTIVE_PROFILES: 0, ModuleID.CDRS: 1}
OBJECT_PRIORITY = 2

# Refused objects are retried with exponential backoff up to this long (until they change).
REFUSED_RETRY_CAP = 600.0

# Results POSTed to a `response_url` the partner chose: any failure concerns that URL alone
# (it need not be one of the partner's endpoints), so it never backs off the partner. They
# are worth something only within the command's timeout: a few quick tries, then dropped.
RESULT_MODULES = frozenset({ModuleID.COMMANDS})
RESULT_ATTEMPTS = 5
RESULT_RETRY_CAP = 4.0

_o = tables.outbox
_p = tables.partners
_k = tables.hub_clients

# A hub's party in one of these ConnectionStatuses cannot take anything now (PLANNED: not
# connected yet): pushes addressed to it wait, unclaimed and not failing, until the hub
# reports it CONNECTED; they then converge like any others. Pushes to the hub itself
# (broadcasts) and to its other parties go on.
WAITING_STATUSES = ("OFFLINE", "SUSPENDED", "PLANNED")


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
    """A claimed outbox row: `action` and `targets` are what this delivery must send."""

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
    priority: int = OBJECT_PRIORITY
    # The partner refused this object before (its row carries the refusal).
    refused: bool = False
    # The party the push is for (OCPI-to), None for a broadcast.
    recipient: tuple[str, str] | None = None
    # The worker that claimed it ("" for none).
    claimed_by: str = ""


def refuses_object(http_status: int | None, ocpi_status: int | None) -> bool:
    """Whether a failed answer refuses this object only (else: the partner is unreachable).

    OCPI 2xxx is the client-error range: this request (object) was wrong for the partner.
    HTTP 4xx likewise, except the statuses that speak of all our requests: 401/403 (our
    credentials) and 408/429 (the partner is slow or overloaded).
    """
    if http_status in (401, 403, 408, 429) or (http_status or 0) >= 500:
        return False
    if ocpi_status is not None:
        return 2000 <= ocpi_status < 3000
    return http_status is not None and 400 <= http_status < 500


@dataclass(frozen=True)
class Outcome:
    """The result of delivering one entry (error None on success)."""

    entry: Entry
    method: str
    url: str
    http_status: int | None = None
    ocpi_status: int | None = None
    error: str | None = None
    # A session's charging periods the partner holds after this delivery.
    periods: int | None = None
    # The Location header of the answer (a CDR's URL at the partner).
    location: str | None = None
    # Not sent, put back for later (a session PATCH inside its coalescing interval).
    deferred: bool = False
    # The failure concerns this object only, whatever the answer (our own error building it).
    object_failure: bool = False

    @property
    def refused(self) -> bool:
        """The partner answered and refused this object (see `refuses_object`)."""
        return self.error is not None and (
            self.object_failure or self.entry.module in RESULT_MODULES
            or refuses_object(self.http_status, self.ocpi_status))

    @property
    def unreachable(self) -> bool:
        """The delivery failed for a reason that concerns every object of the partner."""
        return self.error is not None and not self.refused


@dataclass
class Recorded:
    """What `record` changed, for the worker's log (one line per state change)."""

    # Objects refused for the first time, and objects accepted after refusals.
    newly_refused: list[Outcome] = field(default_factory=list)
    accepted_after_refusal: list[Outcome] = field(default_factory=list)
    # Results given up on after RESULT_ATTEMPTS tries (the row is gone).
    dropped: list[Outcome] = field(default_factory=list)
    # Partners that started failing (first unreachable outcome), and that recovered.
    newly_failing: list[Outcome] = field(default_factory=list)
    recovered: list[int] = field(default_factory=list)


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
            # A refused object is retried at once when it changes: the change may be the fix.
            "next_attempt_at": case((_o.c.refused_at.is_not(None), new.next_attempt_at),
                                    else_=_o.c.next_attempt_at),
            "to_country_code": new.to_country_code,
            "to_party_id": new.to_party_id,
        },
    )


_COLUMNS = ["partner_id", "module", "country_code", "party_id", "object_id", "action",
            "targets", "generation", "attempts", "next_attempt_at", "created_at", "priority",
            "to_country_code", "to_party_id"]


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
        bindparam("q_created", type_=_o.c.created_at.type), bindparam("q_priority"),
        literal(None, _o.c.to_country_code.type), literal(None, _o.c.to_party_id.type),
    ).where(_p.c.status == "REGISTERED").order_by(_p.c.id)
    # In partner order: concurrent fan-outs (replicas) then lock the outbox rows they merge
    # into in one order, so that two of them wait for each other instead of deadlocking.
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
         "q_targets": ";".join(targets), "q_stamp": stamp, "q_created": stamp,
         "q_priority": PRIORITIES.get(module, OBJECT_PRIORITY)},
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
    *,
    recipient: tuple[str, str] | None = None,
) -> None:
    """Record, in the caller's transaction, that these partners must see this change;
    `recipient` is the party it is for (a token's owner, the party that asked), None for
    what goes to the partner as a whole."""
    stamp = now()
    priority = PRIORITIES.get(module, OBJECT_PRIORITY)
    to = (recipient[0].upper(), recipient[1].upper()) if recipient is not None else (None, None)
    rows = [
        {"partner_id": pid, "module": module, "country_code": country_code.upper(),
         "party_id": party_id.upper(), "object_id": object_id, "action": action,
         "targets": ";".join(targets), "generation": 1, "attempts": 0,
         "next_attempt_at": stamp, "created_at": stamp, "priority": priority,
         "to_country_code": to[0], "to_party_id": to[1]}
        for pid in partner_ids
    ]
    if not rows:
        return
    await connection.execute(_enqueue_statement(connection.dialect.name), rows)


def merge_pending(
    sent: str, sent_targets: str, news: str, news_targets: str
) -> tuple[str, str]:
    """What to send when an undelivered `sent` meets the `news` recorded since its claim.

    The rules of the enqueue merge, applied to the two halves of a claimed row.
    """
    if news == SENT:
        return sent, sent_targets
    if news == PATCH:
        if sent == PATCH:
            return PATCH, ";".join(t for t in (sent_targets, news_targets) if t)
        return sent, ""
    return news, news_targets


def _in_flight(row: Any) -> tuple[str, str]:
    """What a claim of `row` sends: its pending action, merged with an interrupted delivery."""
    if row.sent_action is not None:
        return merge_pending(row.sent_action, row.sent_targets or "", row.action, row.targets)
    if row.action == SENT:
        return PUT, ""  # claimed before in-flight parts were kept: send the whole object
    return row.action, row.targets


def _entry(row: Any, action: str, targets: str) -> Entry:
    return Entry(row.id, row.partner_id, row.module, row.country_code, row.party_id,
                 row.object_id, action, tuple(dict.fromkeys(t for t in targets.split(";") if t)),
                 row.generation, row.attempts, row.priority, row.refused_at is not None,
                 (row.to_country_code, row.to_party_id) if row.to_country_code else None)


async def claim(
    connection: AsyncConnection,
    capacity: dict[int, int],
    lease: timedelta,
    documents: dict[str, Table],
    worker: str = "",
) -> list[tuple[Entry, bytes | None]]:
    """Take due entries, at most `capacity[partner]` per partner, for `lease`, each with
    the current document of its object (from the table `documents[module]`).

    Partners backing off are skipped; on PostgreSQL rows another worker holds are skipped.
    The claim is `worker`'s, which renews it (`renew`) while the delivery is under way.
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
            action, targets = _in_flight(row)
            document = bytes(row.document) if row.document is not None else None
            chosen.append((dataclasses.replace(_entry(row, action, targets),
                                               claimed_by=worker), document))
    if chosen and connection.dialect.name == "postgresql":
        # A row locked FOR UPDATE after a writer committed is re-read at its newest version
        # (a newer generation), but the documents joined to it come from the statement's
        # older snapshot: the newest generation would go out with an older document and be
        # acknowledged as sent. A statement of its own sees every commit up to the locks.
        fresh = await connection.execute(_documents_statement(tuple(documents.items())),
                                         {"d_ids": [e.id for e, _ in chosen]})
        current = {row.id: bytes(row.document) if row.document is not None else None
                   for row in fresh}
        chosen = [(entry, current.get(entry.id)) for entry, _ in chosen]
    if chosen:
        # What was claimed is in flight: kept apart, the row records only news from now on.
        await connection.execute(
            update(_o).where(_o.c.id == bindparam("k_id")).values(
                claimed_until=stamp + lease, claimed_by=worker, action=SENT, targets="",
                sent_action=bindparam("k_action"), sent_targets=bindparam("k_targets")),
            [{"k_id": e.id, "k_action": e.action, "k_targets": ";".join(e.targets)}
             for e, _ in chosen])
    return chosen


def _reachable() -> Any:
    """Rows whose recipient party the hub does not report as unable to take them now."""
    return ~(select(_k.c.partner_id).where(
        _k.c.partner_id == _o.c.partner_id, _k.c.country_code == _o.c.to_country_code,
        _k.c.party_id == _o.c.to_party_id, _k.c.status.in_(WAITING_STATUSES),
    ).exists())


def _with_documents(documents: tuple[tuple[str, Table], ...]) -> tuple[Any, Any]:
    """The outbox joined to each module's documents, and the document column of a row."""
    joined: Any = _o
    bodies = []
    for module, table in documents:
        joined = joined.outerjoin(table, and_(
            _o.c.module == module, table.c.country_code == _o.c.country_code,
            table.c.party_id == _o.c.party_id, table.c.object_id == _o.c.object_id))
        bodies.append(table.c.document)
    return joined, func.coalesce(*bodies) if len(bodies) > 1 else bodies[0]


@cache
def _documents_statement(documents: tuple[tuple[str, Table], ...]) -> Any:
    """The current document of each of the given entries; built once."""
    joined, body = _with_documents(documents)
    return (select(_o.c.id, body.label("document")).select_from(joined)
            .where(_o.c.id.in_(bindparam("d_ids", expanding=True))))


@cache
def _claim_statement(dialect: str, documents: tuple[tuple[str, Table], ...]) -> Any:
    """Due entries of the given partners, each with its object's document; built once."""
    stamp = bindparam("c_stamp", type_=_o.c.next_attempt_at.type)
    joined, body = _with_documents(documents)
    query = (
        select(_o, body.label("document"))
        .select_from(joined)
        .where(
            _o.c.partner_id.in_(bindparam("c_partners", expanding=True)),
            _o.c.next_attempt_at <= stamp,
            or_(_o.c.claimed_until.is_(None), _o.c.claimed_until < stamp),
            _o.c.partner_id.not_in(
                select(_p.c.id).where(_p.c.push_backoff_until > stamp).scalar_subquery()),
            _reachable(),
        )
        .order_by(_o.c.priority, _o.c.id)
        .limit(bindparam("c_limit"))
    )
    if dialect == "postgresql":
        query = query.with_for_update(skip_locked=True, of=_o)
    return query


async def renew(connection: AsyncConnection, worker: str, lease: timedelta) -> None:
    """Extend every claim `worker` holds: it is alive and its deliveries are under way."""
    await connection.execute(
        update(_o).where(_o.c.claimed_by == worker, _o.c.claimed_until.is_not(None))
        .values(claimed_until=now() + lease))


async def recover(connection: AsyncConnection) -> int:
    """Make every claim due again at once (the one worker of a database starting up: any
    claim is an interrupted delivery of a process that is gone). Returns how many."""
    result = await connection.execute(
        update(_o).where(_o.c.claimed_until.is_not(None)).values(claimed_until=None,
                                                                 claimed_by=None))
    return int(result.rowcount or 0)


def _put_back(entry: Entry, *, escalate: bool) -> dict[str, Any]:
    """SQL values for a row whose claimed delivery of `entry` did not happen.

    The in-flight part goes back into the pending one, merged with the news (see
    `merge_pending`). With `escalate` (it failed), a PATCH becomes a PUT of the current
    object; DELETE and POST stay what they were.
    """
    action = entry.action
    targets = ";".join(entry.targets)
    if escalate and action == PATCH:
        action, targets = PUT, ""
    news_patch = _o.c.action == PATCH
    if action == PATCH:
        merged_targets: Any = case(
            (_o.c.action == SENT, literal(targets)),
            (news_patch, literal(targets + ";") + _o.c.targets), else_=_o.c.targets)
        merged_action: Any = case((_o.c.action.in_([SENT, PATCH]), literal(PATCH)),
                                  else_=_o.c.action)
    else:
        merged_targets = case((_o.c.action.in_([SENT, PATCH]), literal(targets)),
                              else_=_o.c.targets)
        merged_action = case((_o.c.action.in_([SENT, PATCH]), literal(action)),
                             else_=_o.c.action)
    return {"action": merged_action, "targets": merged_targets, "sent_action": None,
            "sent_targets": None, "claimed_until": None, "claimed_by": None}


def backoff(failures: int, *, base: float = 1.0, cap: float = 300.0) -> timedelta:
    """Exponential backoff with full jitter: a random delay up to min(cap, base × 2^failures)."""
    return timedelta(seconds=random.uniform(base / 2, min(cap, base * 2 ** min(failures, 20))))


async def record(
    connection: AsyncConnection,
    outcomes: Sequence[Outcome],
    *,
    healthy_news: Callable[[set[int]], set[int]] = lambda partners: partners,
) -> Recorded:
    """Store delivery outcomes (any partners): attempts, acknowledgements, push health.

    `healthy_news` picks, of the partners that only succeeded, those whose health row is
    worth writing now (by default all of them). A refusal counts as the partner answering.
    """
    recorded = Recorded()
    if not outcomes:
        return recorded
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
    recorded.accepted_after_refusal = [o for o in outcomes if o.error is None and o.entry.refused]
    if delivered:
        # Only the generation that was sent is acknowledged; a newer change stays queued.
        deleted = await connection.execute(
            delete(_o).where(_o.c.id == bindparam("b_id"),
                             _o.c.generation == bindparam("b_generation")),
            [{"b_id": e.id, "b_generation": e.generation} for e in delivered],
        )
        if deleted.rowcount != len(delivered):
            # Some changed while in flight: what changed goes out next, and only that.
            await connection.execute(update(_o).where(
                _o.c.id.in_([e.id for e in delivered])).values(
                    claimed_until=None, claimed_by=None, sent_action=None, sent_targets=None,
                    refused_at=None, attempts=0))
    refused = [o for o in outcomes if o.refused]
    if refused:
        recorded.dropped = [o for o in refused if o.entry.module in RESULT_MODULES
                            and o.entry.attempts + 1 >= RESULT_ATTEMPTS]
        recorded.newly_refused = [o for o in refused
                                  if not o.entry.refused and o not in recorded.dropped]
        await _refused(connection, refused, stamp)
    failed_by_partner: dict[int, list[Outcome]] = {}
    for outcome in outcomes:
        if outcome.unreachable:
            failed_by_partner.setdefault(outcome.entry.partner_id, []).append(outcome)
    for partner_id, failed in failed_by_partner.items():
        if await _failed(connection, partner_id, failed, stamp) == 1:
            recorded.newly_failing.append(failed[-1])
    answered = {o.entry.partner_id for o in outcomes if not o.unreachable}
    healthy = healthy_news(answered - failed_by_partner.keys())
    if healthy:
        values = {"push_failures": 0, "push_failing_since": None, "push_backoff_until": None,
                  "push_last_success_at": stamp}
        recovering = await connection.execute(
            update(_p).where(_p.c.id.in_(sorted(healthy)), _p.c.push_failures > 0)
            .values(**values).returning(_p.c.id))
        recorded.recovered = sorted(recovering.scalars())
        await connection.execute(
            update(_p).where(_p.c.id.in_(sorted(healthy)), _p.c.push_failures == 0)
            .values(push_last_success_at=stamp))
    return recorded


async def _refused(connection: AsyncConnection, refused: Sequence[Outcome],
                   stamp: datetime) -> None:
    """Back off each refused object alone; its partner's other objects go on. A result
    that failed RESULT_ATTEMPTS times is dropped (unless something newer came meanwhile)."""
    for outcome in refused:
        entry = outcome.entry
        result = entry.module in RESULT_MODULES
        if result and entry.attempts + 1 >= RESULT_ATTEMPTS:
            gone = await connection.execute(delete(_o).where(
                _o.c.id == entry.id, _o.c.generation == entry.generation))
            if gone.rowcount:
                continue
        cap = RESULT_RETRY_CAP if result else REFUSED_RETRY_CAP
        retry_at = stamp + backoff(entry.attempts + 1, base=0.5 if result else 1.0, cap=cap)
        await connection.execute(
            update(_o).where(_o.c.id == entry.id).values(
                **_put_back(entry, escalate=True), attempts=_o.c.attempts + 1,
                next_attempt_at=retry_at,
                refused_at=func.coalesce(_o.c.refused_at, stamp),
                last_http_status=outcome.http_status, last_ocpi_status=outcome.ocpi_status,
                last_error=outcome.error and outcome.error[:1000]))


async def _failed(
    connection: AsyncConnection, partner_id: int, failed: Sequence[Outcome], stamp: datetime
) -> int:
    """Back off the partner; returns its count of consecutive failures."""
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
            .values(**_put_back(outcome.entry, escalate=True), attempts=_o.c.attempts + 1,
                    next_attempt_at=retry_at))
    return failures


async def release(
    connection: AsyncConnection, entries: Sequence[Entry], *, not_before: datetime | None = None
) -> None:
    """Give claimed entries back unsent, as they were (merged with what came since): the
    worker is stopping, or the entry waits until `not_before` (a coalescing interval).

    An entry whose claim lapsed and was taken by another worker is that worker's now: it
    is left alone."""
    for entry in entries:
        values = _put_back(entry, escalate=False)
        if not_before is not None:
            values["next_attempt_at"] = not_before
        await connection.execute(update(_o).where(
            _o.c.id == entry.id, _o.c.claimed_by == entry.claimed_by).values(**values))


async def defer(connection: AsyncConnection, entry: Entry, not_before: datetime) -> None:
    """Put a claimed entry back unsent, as it was (merged with what came since), for later."""
    await release(connection, [entry], not_before=not_before)


async def prune_attempts(connection: AsyncConnection, older_than: timedelta) -> None:
    """Forget delivery attempts older than `older_than`."""
    await connection.execute(
        delete(tables.push_attempts).where(tables.push_attempts.c.at < now() - older_than))


async def push_status(connection: AsyncConnection, partner_id: int) -> dict[str, Any]:
    """Pending count, failing since, last error, last success, refused objects of one partner."""
    pending = await connection.scalar(
        select(func.count()).select_from(_o).where(_o.c.partner_id == partner_id))
    row = (await connection.execute(select(_p).where(_p.c.id == partner_id))).one()
    refused = await connection.execute(
        select(_o.c.module, _o.c.country_code, _o.c.party_id, _o.c.object_id, _o.c.attempts,
               _o.c.refused_at, _o.c.next_attempt_at, _o.c.last_http_status,
               _o.c.last_ocpi_status, _o.c.last_error)
        .where(_o.c.partner_id == partner_id, _o.c.refused_at.is_not(None))
        .order_by(_o.c.refused_at, _o.c.id).limit(100))
    return {
        "pending": int(pending or 0),
        "failing_since": row.push_failing_since,
        "consecutive_failures": row.push_failures,
        "retry_at": row.push_backoff_until,
        "last_error": row.push_last_error,
        "last_success": row.push_last_success_at,
        "refused": [
            {"module": r.module, "country_code": r.country_code, "party_id": r.party_id,
             "object_id": r.object_id, "attempts": r.attempts, "refused_since": r.refused_at,
             "retry_at": r.next_attempt_at, "http_status": r.last_http_status,
             "status_code": r.last_ocpi_status, "message": r.last_error}
            for r in refused],
    }


async def next_due(connection: AsyncConnection, partner_ids: Sequence[int]) -> datetime | None:
    """When the earliest entry of these partners can be claimed; None when there is none."""
    ready_at = case(
        (_o.c.claimed_until > _o.c.next_attempt_at, _o.c.claimed_until),
        else_=_o.c.next_attempt_at,
    )
    value = await connection.scalar(
        select(func.min(ready_at)).where(_o.c.partner_id.in_(list(partner_ids)), _reachable()))
    return value if isinstance(value, datetime) else None


async def forget_partner(connection: AsyncConnection, partner_id: int) -> None:
    """Drop everything queued for a partner that is no longer registered."""
    await connection.execute(delete(_o).where(_o.c.partner_id == partner_id))


async def depth_by_partner(connection: AsyncConnection) -> list[tuple[int, int, datetime]]:
    """(partner id, pending entries, when the oldest was queued) per partner with any, in
    one query (metrics read it at scrape time)."""
    rows = await connection.execute(
        select(_o.c.partner_id, func.count(), func.min(_o.c.created_at))
        .group_by(_o.c.partner_id).order_by(_o.c.partner_id))
    return [(partner_id, count, utc(oldest)) for partner_id, count, oldest in rows]
