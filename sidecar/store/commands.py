"""Commands from eMSPs: stored until the core acknowledges them, results queued for the eMSP.

Delivery to the core is at least once: a command stays open until the core acknowledges it
(or reports its result), and every new WatchCommands stream gets every open command again.
A result goes out once: the first report (or the TIMEOUT at the deadline) closes the command
and queues a POST of the CommandResult to the eMSP's `response_url` in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import weakref
from collections.abc import AsyncIterator, Callable, Collection, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict
from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import ChargingProfile
from sidecar.ocpi.commands import CommandResult
from sidecar.ocpi.enums import CommandResultType, ModuleID
from sidecar.ocpi.types import URL, now, utc
from sidecar.store import outbox, replicas, tables
from sidecar.store.engine import Database, concerns, touch, unavailable
from sidecar.store.partners import Partner, PartnerRole, get_partner

log = logging.getLogger("ocpi_sidecar.commands")

MODULE = ModuleID.COMMANDS
# The core's other stream: charging-profile requests.
PROFILES = ModuleID.CHARGING_PROFILES
# Charging-profile requests share the table and the result POST (outbox module "commands");
# an active profile the core reports is PUT to the eMSP under this outbox module.
ACTIVE_PROFILES = outbox.ACTIVE_PROFILES
COMMAND_TYPES = ("START_SESSION", "STOP_SESSION", "RESERVE_NOW", "CANCEL_RESERVATION",
                 "UNLOCK_CONNECTOR")
PROFILE_TYPES = ("SET_PROFILE", "GET_ACTIVE_PROFILE", "CLEAR_PROFILE")
ACTIVE_PROFILE = "ACTIVE_PROFILE"
PENDING = "PENDING"
ACKNOWLEDGED = "ACKNOWLEDGED"
DONE = "DONE"
# Statuses of requests still waiting for the core (by the index on status and deadline).
_OPEN = (PENDING, ACKNOWLEDGED)

_c = tables.commands


class _Reservation(msgspec.Struct):
    reservation_id: str


@dataclass(eq=False)
class Stream:
    """One open core stream: what it was given and not yet confirmed, and its wake-up."""

    consumer_id: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    sent: set[str] = field(default_factory=set)
    # Set when a newer stream opened with the same consumer id (here or in another
    # replica): this one must end.
    replaced: bool = False
    # Set when the core's streams changed in another replica: is this one still the one
    # of its consumer id?
    check_owner: bool = False
    # What the stream it replaced here held: the same consumer gets it again, first.
    inherited: set[str] = field(default_factory=set)


class CommandHub:
    """In one process: the open core streams of one kind, and a way to wake them.

    Each open item goes to one stream. Within the process, an item a stream holds (sent,
    not yet confirmed) is not given to another until that stream ends; across replicas the
    item's row says which replica's stream holds it (`held_by`, renewed by its heartbeat),
    so that exactly one stream anywhere has it. The gateway asks `core_connected()` before
    accepting a request; the stream wakes up when a change note names the commands table.
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._streams: dict[str, Stream] = {}
        # Serialises picking items, so that two streams never take the same one.
        self.lock = asyncio.Lock()
        # Expiry timers and releases the gateway started, kept so that they are not
        # garbage collected.
        self.timers: set[asyncio.Task[None]] = set()

    def connected(self) -> bool:
        """Whether at least one core stream is open in this process."""
        return bool(self._streams)

    def watch(self, consumer_id: str) -> Stream:
        """Register a stream; an open one with the same consumer id is told to end."""
        old = self._streams.get(consumer_id)
        stream = Stream(consumer_id)
        if old is not None:
            old.replaced = True
            old.event.set()
            stream.inherited = old.sent | old.inherited
        self._streams[consumer_id] = stream
        return stream

    def unwatch(self, stream: Stream) -> None:
        """The stream ended: what it held goes to the others."""
        if self._streams.get(stream.consumer_id) is stream:
            del self._streams[stream.consumer_id]
        self.notify()

    def watching(self, consumer_id: str) -> bool:
        """Whether a stream with this consumer id is open here."""
        return consumer_id in self._streams

    def held(self) -> set[str]:
        """Ids of items the open streams hold."""
        return {item for stream in self._streams.values()
                for item in stream.sent | stream.inherited}

    def notify(self) -> None:
        """New requests were committed (or released)."""
        for stream in self._streams.values():
            stream.event.set()

    def changed(self, tables_changed: frozenset[str]) -> None:
        """A change note: wake the streams when requests or the core's streams changed."""
        if concerns(tables_changed, _c.name):
            self.notify()
        if concerns(tables_changed, tables.core_streams.name):
            for stream in self._streams.values():
                stream.check_owner = True
                stream.event.set()

    def keep(self, task: asyncio.Task[None]) -> None:
        """Keep a background task of this hub alive until it ends."""
        self.timers.add(task)
        task.add_done_callback(self.timers.discard)


_hubs: weakref.WeakKeyDictionary[Database, dict[str, CommandHub]] = (
    weakref.WeakKeyDictionary())


def hub_for(database: Database, stream: str = MODULE) -> CommandHub:
    """The hub of one stream (`commands` or `chargingprofiles`) of everything in this
    process that uses this database: the gateway and the servicers."""
    hubs = _hubs.get(database)
    if hubs is None:
        hubs = _hubs[database] = {}

        def changed(names: frozenset[str], found: dict[str, CommandHub] = hubs) -> None:
            for each in found.values():
                each.changed(names)

        database.on_change(changed)
    hub = hubs.get(stream)
    if hub is None:
        hub = hubs[stream] = CommandHub(stream)
    return hub


def held_here(database: Database) -> set[str]:
    """Ids of the requests this process's core streams hold (their claims to renew)."""
    return {item for hub in _hubs.get(database, {}).values() for item in hub.held()}


async def core_connected(database: Database, kind: str = MODULE) -> bool:
    """Whether the core has a stream of this kind open on some live replica."""
    if hub_for(database, kind).connected():
        return True
    if database.is_sqlite:
        return False
    async with database.read() as connection:
        return await replicas.stream_open(connection, kind)


@dataclass(frozen=True, slots=True)
class CommandRow:
    """A stored command."""

    command_id: str
    country_code: str
    party_id: str
    partner_id: int
    type: str
    status: str
    request: bytes
    response_url: str
    correlation_id: str | None
    deadline: datetime
    delivery_count: int
    created_at: datetime
    # The result once closed (None before, and for a profile request closed at its deadline).
    document: bytes | None = None
    # The party that asked (its result is addressed to it); None: the partner's own party.
    requester: tuple[str, str] | None = None


@dataclass(frozen=True, slots=True)
class NewCommand:
    """What the gateway stores for an accepted command."""

    command_id: str
    country_code: str
    party_id: str
    partner_id: int
    type: str
    request: bytes
    response_url: str
    correlation_id: str | None
    deadline: datetime
    # The party that asked: the request's OCPI-from (through a hub, the party behind it).
    requester: tuple[str, str] | None = None


def _row(r: Any) -> CommandRow:
    return CommandRow(r.object_id, r.country_code, r.party_id, r.partner_id, r.type, r.status,
                      bytes(r.request), r.response_url, r.correlation_id, r.deadline,
                      r.delivery_count, r.created_at,
                      bytes(r.document) if r.document is not None else None,
                      (r.requester_country_code, r.requester_party_id)
                      if r.requester_country_code else None)


async def insert_command(connection: AsyncConnection, command: NewCommand) -> None:
    """Store an accepted command, open (PENDING) until the core acknowledges it."""
    stamp = now()
    await connection.execute(_c.insert().values(
        object_id=command.command_id, country_code=command.country_code.upper(),
        party_id=command.party_id.upper(), partner_id=command.partner_id, type=command.type,
        status=PENDING, request=command.request, response_url=command.response_url,
        correlation_id=command.correlation_id, deadline=command.deadline, delivery_count=0,
        created_at=stamp, last_updated=stamp,
        requester_country_code=command.requester[0].upper() if command.requester else None,
        requester_party_id=command.requester[1].upper() if command.requester else None))
    # Wakes the core streams, here and (by the change note) in every replica.
    touch(connection, _c.name)


async def open_commands(
    connection: AsyncConnection, exclude: Iterable[str] = (),
    types: Iterable[str] = COMMAND_TYPES, *, free: bool = False, lock: bool = False,
    only: Iterable[str] | None = None, held_by: str | None = None,
) -> list[CommandRow]:
    """Commands (of these types) not yet acknowledged nor past their deadline, oldest first;
    `free`: only those no live core stream holds; `lock`: locked until the transaction ends
    (on PostgreSQL, skipping rows another replica is taking now); `only`: of these ids;
    `held_by`: held by this replica."""
    stamp = now()
    query = (select(_c).where(_c.c.status == PENDING, _c.c.deadline > stamp,
                              _c.c.type.in_(list(types)))
             .order_by(_c.c.pk))
    if only is not None:
        query = query.where(_c.c.object_id.in_(list(only)))
    if held_by is not None:
        query = query.where(_c.c.held_by == held_by)
    if free:
        query = query.where(or_(_c.c.held_until.is_(None), _c.c.held_until < stamp))
    if lock and connection.dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    skipped = set(exclude)
    return [_row(r) for r in await connection.execute(query) if r.object_id not in skipped]


async def get_command(connection: AsyncConnection, command_id: str) -> CommandRow | None:
    """One command by id."""
    row = (await connection.execute(select(_c).where(_c.c.object_id == command_id))).first()
    return _row(row) if row is not None else None


async def count_delivery(connection: AsyncConnection, command_id: str) -> None:
    """One more delivery of this command to a core stream."""
    await connection.execute(update(_c).where(_c.c.object_id == command_id).values(
        delivery_count=_c.c.delivery_count + 1))


async def acknowledge(connection: AsyncConnection, command_id: str) -> bool:
    """The core has the command: stop redelivering it. False when there is no such command."""
    found = await get_command(connection, command_id)
    if found is None:
        return False
    await connection.execute(update(_c).where(_c.c.object_id == command_id,
                                              _c.c.status == PENDING)
                             .values(status=ACKNOWLEDGED, last_updated=now()))
    return True


async def close_command(
    connection: AsyncConnection, command: CommandRow, result: msgspec.Struct | None
) -> bool:
    """Record the result and queue its POST to the eMSP, unless the command was closed
    before (a second report, or a report after the TIMEOUT); True when this closed it."""
    closed = await connection.execute(
        update(_c).where(_c.c.object_id == command.command_id, _c.c.status != DONE)
        .values(status=DONE, document=codec.encode(result) if result is not None else None,
                last_updated=now()))
    if closed.rowcount != 1 or result is None:
        return closed.rowcount == 1
    await outbox.enqueue(connection, [command.partner_id], MODULE, command.country_code,
                         command.party_id, command.command_id, outbox.POST,
                         recipient=command.requester)
    return True


async def post_result(connection: AsyncConnection, command: CommandRow,
                      result: msgspec.Struct) -> None:
    """A later result for a closed command (a reservation cancelled by the CPO after it was
    accepted, mod_commands): it replaces the stored one and is POSTed to the same
    `response_url`."""
    await connection.execute(update(_c).where(_c.c.object_id == command.command_id).values(
        status=DONE, document=codec.encode(result), last_updated=now()))
    await outbox.enqueue(connection, [command.partner_id], MODULE, command.country_code,
                         command.party_id, command.command_id, outbox.POST,
                         recipient=command.requester)


async def expire_commands(connection: AsyncConnection) -> int:
    """Close every command past its deadline with TIMEOUT; how many.

    A charging-profile request has no TIMEOUT result in OCPI: it is closed without a POST
    (the eMSP stops waiting at the `timeout` it was given).
    """
    overdue = await connection.execute(select(_c).where(_c.c.status.in_(_OPEN),
                                                        _c.c.deadline <= now()))
    timeout = CommandResult(result=CommandResultType.TIMEOUT)
    count = 0
    for row in list(overdue):
        command = _row(row)
        count += await close_command(connection, command,
                                     timeout if command.type in COMMAND_TYPES else None)
    return count


async def reservation_owner(
    connection: AsyncConnection, partner_id: int, reservation_id: str
) -> bool:
    """Whether this partner made a RESERVE_NOW with this reservation id."""
    rows = await connection.execute(
        select(_c.c.request).where(_c.c.partner_id == partner_id,
                                   _c.c.type == "RESERVE_NOW"))
    return any(codec.decode(bytes(r.request), _Reservation).reservation_id.upper()
               == reservation_id.upper() for r in rows)


async def response_target(
    connection: AsyncConnection, country_code: str, party_id: str, command_id: str
) -> tuple[str, str | None] | None:
    """Where a command's result goes: (response_url, X-Correlation-ID of the request)."""
    row = (await connection.execute(
        select(_c.c.response_url, _c.c.correlation_id).where(
            _c.c.country_code == country_code, _c.c.party_id == party_id,
            _c.c.object_id == command_id))).first()
    return (row.response_url, row.correlation_id) if row is not None else None


class ProfileRequest(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """What is stored of a charging-profile request (GET, PUT or DELETE) for the core."""

    session_id: str
    response_url: URL
    duration: int | None = None
    charging_profile: ChargingProfile | None = None


class _Result(msgspec.Struct):
    result: str


async def profile_setters(connection: AsyncConnection, session_id: str) -> list[int]:
    """Partners that successfully set a charging profile on this session (they get its
    active profile whenever it changes; nobody else does)."""
    rows = await connection.execute(
        select(_c.c.partner_id, _c.c.request, _c.c.document).where(
            _c.c.type == "SET_PROFILE", _c.c.status == DONE, _c.c.document.is_not(None)))
    return sorted({
        r.partner_id for r in rows
        if codec.decode(bytes(r.request), ProfileRequest).session_id == session_id
        and codec.decode(bytes(r.document), _Result).result == "ACCEPTED"})


async def put_active_profile(
    connection: AsyncConnection, country_code: str, party_id: str, session_id: str,
    document: bytes, partner_ids: list[int], recipient: tuple[str, str] | None = None,
) -> None:
    """Keep the session's active profile and queue its PUT to these partners (converging:
    an undelivered older profile is replaced by the newer one), for `recipient` (the
    session's token owner)."""
    stamp = now()
    key = [_c.c.country_code == country_code, _c.c.party_id == party_id,
           _c.c.object_id == session_id, _c.c.type == ACTIVE_PROFILE]
    found = (await connection.execute(select(_c.c.pk).where(*key))).first()
    if found is not None:
        await connection.execute(update(_c).where(_c.c.pk == found.pk).values(
            document=document, last_updated=stamp))
    else:
        await connection.execute(_c.insert().values(
            object_id=session_id, country_code=country_code, party_id=party_id,
            partner_id=partner_ids[0], type=ACTIVE_PROFILE, status=DONE, request=b"{}",
            response_url="", deadline=stamp, delivery_count=0, document=document,
            created_at=stamp, last_updated=stamp))
    await outbox.enqueue(connection, partner_ids, ACTIVE_PROFILES, country_code, party_id,
                         session_id, outbox.PUT, recipient=recipient)


async def take_due(
    database: Database, sent: set[str], types: Iterable[str],
    inherited: Collection[str] = frozenset(),
) -> tuple[list[tuple[CommandRow, PartnerRole | None]], int]:
    """For one core stream: close what passed its deadline, and hold for this replica each
    open request (of these types) no stream holds, and those `inherited` from the stream it
    replaced, counting a delivery. Returns those requests with the eMSP party that asked,
    and how many were closed (their results are queued)."""
    wanted = list(types)
    async with database.read() as connection:
        deadline = (await connection.execute(
            select(_c.c.deadline).where(_c.c.status.in_(_OPEN))
            .order_by(_c.c.deadline).limit(1))).scalar()
        due = await open_commands(connection, exclude=sent, types=wanted, free=True)
    if not due and not inherited and (deadline is None or utc(deadline) > now()):
        return [], 0
    found = []
    async with database.write() as connection:
        expired = await expire_commands(connection)
        rows = await open_commands(connection, exclude=sent, types=wanted, free=True,
                                   lock=True)
        if inherited:
            again = await open_commands(connection, types=wanted, only=inherited,
                                        held_by=database.replica_id)
            rows = sorted({r.command_id: r for r in [*again, *rows]}.values(),
                          key=lambda r: (r.created_at, r.command_id))
        if rows:
            await connection.execute(update(_c).where(
                _c.c.object_id.in_([row.command_id for row in rows]),
                _c.c.type.in_(wanted)).values(
                    held_by=database.replica_id, held_until=now() + replicas.LEASE,
                    delivery_count=_c.c.delivery_count + 1))
        for row in rows:
            partner = await get_partner(connection, row.partner_id)
            counted = dataclasses.replace(row, delivery_count=row.delivery_count + 1)
            found.append((counted, requester_of(counted, partner)))
    return found, expired


def requester_of(command: CommandRow, partner: Partner | None) -> PartnerRole | None:
    """The party that asked the command: the stored one, else the partner's own party."""
    if command.requester is not None:
        return PartnerRole("EMSP", command.requester[0], command.requester[1], {})
    return partner.broadcast_party() if partner is not None else None


async def stream_due(
    database: Database, hub: CommandHub, stream: Stream, types: Iterable[str],
    on_expired: Callable[[], None], *, poll: float = 1.0,
) -> AsyncIterator[tuple[CommandRow, PartnerRole | None]]:
    """The requests a core stream must get, as they come, until it is replaced.

    Polls every `poll` seconds besides the wake-ups, so that deadlines are kept even when a
    change note is missed. `on_expired` runs after requests were closed at their deadline
    (their results are queued). While the database is unavailable the stream stays open
    and waits: the core keeps its stream, and gets what is due once it is back.
    """
    wanted = tuple(types)
    while not stream.replaced:
        stream.event.clear()
        try:
            if stream.check_owner:
                stream.check_owner = False
                async with database.read() as connection:
                    owners = await replicas.stream_owners(connection, hub.kind,
                                                          [stream.consumer_id])
                if owners.get(stream.consumer_id, database.replica_id) != database.replica_id:
                    stream.replaced = True
                    break
            async with hub.lock:
                due, expired = await take_due(database, hub.held(), wanted, stream.inherited)
                stream.sent.update(row.command_id for row, _ in due)
                stream.inherited.clear()
        except Exception as error:
            if not unavailable(error):
                raise
            due, expired = [], 0
        if expired:
            on_expired()
        for item in due:
            yield item
        try:
            await asyncio.wait_for(stream.event.wait(), poll)
        except TimeoutError:
            pass


async def watch(
    database: Database, kind: str, consumer_id: str, types: Iterable[str],
    on_expired: Callable[[], None], *, poll: float = 1.0,
) -> AsyncIterator[tuple[CommandRow, PartnerRole | None]]:
    """A core stream of this kind, from its opening (recorded for every replica: a stream
    with the same consumer id elsewhere ends) until it is replaced or the core leaves;
    then what it held and the core did not acknowledge goes to the other streams."""
    hub = hub_for(database, kind)
    stream = hub.watch(consumer_id)
    try:
        async with database.write() as connection:
            await replicas.open_stream(connection, database.replica_id, kind, consumer_id)
        async for item in stream_due(database, hub, stream, types, on_expired, poll=poll):
            yield item
    finally:
        hub.unwatch(stream)
        # In the background: the core may have gone (the call is being cancelled).
        hub.keep(asyncio.get_running_loop().create_task(_release(database, kind, stream)))


def heartbeat(database: Database, on_expired: Callable[[], None]) -> replicas.Heartbeat:
    """The replica's heartbeat: it renews what this process's core streams hold, and closes
    requests past their deadline even when the replica that took them is gone."""
    return replicas.Heartbeat(database, held=lambda: held_here(database),
                              on_beat=expire_commands, on_news=on_expired)


async def _release(database: Database, kind: str, stream: Stream) -> None:
    hub = hub_for(database, kind)
    try:
        async with database.write() as connection:
            await replicas.close_stream(connection, database.replica_id, kind,
                                        stream.consumer_id, stream.sent - hub.held(),
                                        still_open=hub.watching(stream.consumer_id))
    except Exception as error:
        # The holds lapse with the lease, and the stream row goes with this replica.
        log.warning("could not give back what a core stream held (%s); it is given to the "
                    "other streams within %g s", type(error).__name__,
                    replicas.LEASE.total_seconds())


def repeated_report(command: CommandRow, result: msgspec.Struct) -> bool:
    """For a report on a command closed before: True when it came after the deadline (the
    eMSP got TIMEOUT, or gave up on a profile request); False for the same result again.
    Raises Conflict for a different result."""
    if command.document is None or (
            command.type in COMMAND_TYPES
            and codec.decode(command.document, _Result).result == CommandResultType.TIMEOUT):
        return True
    if command.document != codec.encode(result):
        raise Conflict("result: a different result was reported for this request already")
    return False


class _Started(msgspec.Struct):
    token: dict[str, Any]
    location_id: str
    authorization_reference: str | None = None


async def recent_start(
    connection: AsyncConnection, uid: str, token_type: str, location_id: str | None,
    since: datetime,
) -> tuple[int, bytes, str | None] | None:
    """The newest START_SESSION or RESERVE_NOW since `since` for this token (at this
    location, when given): (partner id, token JSON, authorization_reference), or None.

    mod_commands: the eMSP authorised such a token already, so the charger's own authorize
    for it must not be sent to the eMSP again within 15 minutes.
    """
    rows = await connection.execute(
        select(_c.c.partner_id, _c.c.request).where(
            _c.c.type.in_(["START_SESSION", "RESERVE_NOW"]), _c.c.created_at >= since)
        .order_by(_c.c.pk.desc()))
    for row in rows:
        started = codec.decode(bytes(row.request), _Started)
        token = started.token
        if (str(token.get("uid", "")).upper() == uid.upper()
                and token.get("type") == token_type
                and (location_id is None or started.location_id.upper() == location_id.upper())):
            return row.partner_id, codec.encode(token), started.authorization_reference
    return None
