"""Commands from eMSPs: stored until the core acknowledges them, results queued for the eMSP.

Delivery to the core is at least once: a command stays open until the core acknowledges it
(or reports its result), and every new WatchCommands stream gets every open command again.
A result goes out once: the first report (or the TIMEOUT at the deadline) closes the command
and queues a POST of the CommandResult to the eMSP's `response_url` in the outbox.
"""

from __future__ import annotations

import asyncio
import dataclasses
import weakref
from collections.abc import AsyncIterator, Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import msgspec
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import Conflict
from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import ChargingProfile
from sidecar.ocpi.commands import CommandResult
from sidecar.ocpi.enums import CommandResultType, ModuleID
from sidecar.ocpi.types import URL, now, utc
from sidecar.store import outbox, tables
from sidecar.store.engine import Database
from sidecar.store.partners import Partner, PartnerRole, get_partner

MODULE = ModuleID.COMMANDS
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

_c = tables.commands


class _Reservation(msgspec.Struct):
    reservation_id: str


@dataclass(eq=False)
class Stream:
    """One open core stream: what it was given and not yet confirmed, and its wake-up."""

    consumer_id: str
    event: asyncio.Event = field(default_factory=asyncio.Event)
    sent: set[str] = field(default_factory=set)
    # Set when a newer stream opened with the same consumer id: this one must end.
    replaced: bool = False


class CommandHub:
    """In one process: the open core streams of one kind, and a way to wake them.

    Each open item goes to one stream: an item a stream holds (sent, not yet confirmed) is
    not given to another until that stream ends; then the next poll gives it out again.
    The gateway asks `connected()` before accepting a request and calls `notify()` after
    storing one.
    """

    def __init__(self) -> None:
        self._streams: dict[str, Stream] = {}
        # Serialises picking items, so that two streams never take the same one.
        self.lock = asyncio.Lock()
        # Expiry timers the gateway started, kept so that they are not garbage collected.
        self.timers: set[asyncio.Task[None]] = set()

    def connected(self) -> bool:
        """Whether at least one core stream is open."""
        return bool(self._streams)

    def watch(self, consumer_id: str) -> Stream:
        """Register a stream; an open one with the same consumer id is told to end."""
        old = self._streams.get(consumer_id)
        if old is not None:
            old.replaced = True
            old.event.set()
        stream = self._streams[consumer_id] = Stream(consumer_id)
        return stream

    def unwatch(self, stream: Stream) -> None:
        """The stream ended: what it held goes to the others."""
        if self._streams.get(stream.consumer_id) is stream:
            del self._streams[stream.consumer_id]
        self.notify()

    def held(self) -> set[str]:
        """Ids of items the open streams hold."""
        return {item for stream in self._streams.values() for item in stream.sent}

    def notify(self) -> None:
        """New requests were committed (or released)."""
        for stream in self._streams.values():
            stream.event.set()


_hubs: weakref.WeakKeyDictionary[Database, dict[str, CommandHub]] = (
    weakref.WeakKeyDictionary())


def hub_for(database: Database, stream: str = MODULE) -> CommandHub:
    """The hub of one stream (`commands` or `chargingprofiles`) of everything in this
    process that uses this database: the gateway and the servicers."""
    hubs = _hubs.setdefault(database, {})
    hub = hubs.get(stream)
    if hub is None:
        hub = hubs[stream] = CommandHub()
    return hub


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


async def open_commands(
    connection: AsyncConnection, exclude: Iterable[str] = (),
    types: Iterable[str] = COMMAND_TYPES,
) -> list[CommandRow]:
    """Commands (of these types) not yet acknowledged nor past their deadline, oldest first."""
    query = (select(_c).where(_c.c.status == PENDING, _c.c.deadline > now(),
                              _c.c.type.in_(list(types)))
             .order_by(_c.c.pk))
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


async def expire_commands(connection: AsyncConnection) -> int:
    """Close every command past its deadline with TIMEOUT; how many.

    A charging-profile request has no TIMEOUT result in OCPI: it is closed without a POST
    (the eMSP stops waiting at the `timeout` it was given).
    """
    overdue = await connection.execute(select(_c).where(_c.c.status != DONE,
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
    database: Database, sent: set[str], types: Iterable[str]
) -> tuple[list[tuple[CommandRow, PartnerRole | None]], int]:
    """For one core stream: close what passed its deadline, and count a delivery of each
    open request (of these types) the stream has not had yet. Returns those requests with
    the eMSP party that asked, and how many were closed (their results are queued)."""
    wanted = list(types)
    async with database.read() as connection:
        deadline = (await connection.execute(
            select(_c.c.deadline).where(_c.c.status != DONE, _c.c.type != ACTIVE_PROFILE)
            .order_by(_c.c.deadline).limit(1))).scalar()
        due = await open_commands(connection, exclude=sent, types=wanted)
    if not due and (deadline is None or utc(deadline) > now()):
        return [], 0
    found = []
    async with database.write() as connection:
        expired = await expire_commands(connection)
        for row in await open_commands(connection, exclude=sent, types=wanted):
            await count_delivery(connection, row.command_id)
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

    Polls every `poll` seconds besides the wake-ups, so that deadlines are kept and requests
    stored by another process are found. `on_expired` runs after requests were closed at
    their deadline (their results are queued).
    """
    wanted = tuple(types)
    while not stream.replaced:
        stream.event.clear()
        async with hub.lock:
            due, expired = await take_due(database, hub.held(), wanted)
            stream.sent.update(row.command_id for row, _ in due)
        if expired:
            on_expired()
        for item in due:
            yield item
        try:
            await asyncio.wait_for(stream.event.wait(), poll)
        except TimeoutError:
            pass


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
