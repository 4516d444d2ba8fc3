"""Locations, EVSEs, connectors and statuses from the core: each change computed once, stored
with its outbox entries.

The sidecar stamps `last_updated` itself, at the moment a change is stored, on the changed
object and each of its parents, so a parent is never older than its children and date filters
find every change. Writing what is already stored changes nothing (idempotent upserts): no
row is written and nobody is sent anything. A location, EVSE or connector named in another
case is the stored one, and keeps the id it was created with.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import msgspec
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.domain import keys
from sidecar.domain.parties import cpo_parties, is_ours, require_party
from sidecar.errors import NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.enums import Status
from sidecar.ocpi.locations import EVSE, Connector, Location, find_connector, find_evse
from sidecar.ocpi.types import ci_key, now, utc
from sidecar.store import locations as store
from sidecar.store import outbox
from sidecar.store.audience import location_audience
from sidecar.store.engine import Database
from sidecar.store.groups import WriteGroups
from sidecar.store.locations import StoredLocation
from sidecar.store.tariffs import known_tariff_ids

T = TypeVar("T")

LOCATIONS = "locations"

# When connectors of one EVSE report different statuses, the EVSE shows the first of these.
_EVSE_PRECEDENCE = (
    Status.CHARGING, Status.RESERVED, Status.AVAILABLE, Status.BLOCKED, Status.INOPERATIVE,
    Status.OUTOFORDER, Status.UNKNOWN, Status.PLANNED, Status.REMOVED,
)


@dataclass(frozen=True)
class LocationChange:
    """A stored change: the new location, and whether a PATCH of some EVSEs says it all."""

    location: Location
    # None: partners need the whole location (PUT); else the EVSE uids whose status changed.
    patched_evses: tuple[str, ...] | None
    was_published: bool


async def location_changed(connection: AsyncConnection, change: LocationChange) -> None:
    """Queue a location change: a PATCH of the EVSEs when that says it all, else a PUT."""
    location = change.location
    action = outbox.PUT if change.patched_evses is None else outbox.PATCH
    key = (LOCATIONS, location.country_code, location.party_id, location.id, action)
    if location.publish or change.was_published:
        await outbox.enqueue_registered(connection, *key, change.patched_evses or ())
        return
    audience = await location_audience(
        connection, location.publish, codec.to_builtins(location.publish_allowed_to),
        change.was_published,
    )
    await outbox.enqueue(connection, audience, *key, change.patched_evses or ())


# --- what a change is (pure) ---


def _stamp_connector(new: Connector, old: Connector | None, stamp: datetime) -> Connector:
    if old is not None:
        new = msgspec.structs.replace(new, id=old.id)
    if old is not None and msgspec.structs.replace(new, last_updated=old.last_updated) == old:
        return old
    return msgspec.structs.replace(new, last_updated=stamp)


def _stamp_evse(new: EVSE, old: EVSE | None, stamp: datetime) -> EVSE:
    if old is not None:
        new = msgspec.structs.replace(new, uid=old.uid)
    connectors = [_stamp_connector(c, find_connector(old, c.id) if old else None, stamp)
                  for c in new.connectors]
    candidate = msgspec.structs.replace(new, connectors=connectors)
    if old is not None and msgspec.structs.replace(candidate, last_updated=old.last_updated) == old:
        return old
    newest = max([stamp, *(c.last_updated for c in connectors)])
    return msgspec.structs.replace(candidate, last_updated=newest)


def merge_evses(stored: list[EVSE], listed: list[EVSE], keep: set[str], paths: list[str],
                stamp: datetime) -> list[EVSE]:
    """Stored EVSEs in their order, listed ones in their place, new ones at the end, stamped.

    Keeping the stored order is what lets a repeated upsert store nothing; EVSEs not listed
    stay as they are (OCPI never deletes one: RemoveEvse sets REMOVED). `keep`: uids whose
    input status was UNSPECIFIED, which keep the stored status; `paths`: the proto path of
    each listed EVSE.
    """
    index = {ci_key(evse.uid): i for i, evse in enumerate(listed)}
    merged = []
    for old in stored:
        i = index.pop(ci_key(old.uid), None)
        if i is None:
            merged.append(old)
            continue
        if old.status == Status.REMOVED:
            raise PreconditionFailed(f"{paths[i]}.uid: EVSE {old.uid!r} is REMOVED")
        new = (msgspec.structs.replace(listed[i], status=old.status)
               if listed[i].uid in keep else listed[i])
        merged.append(_stamp_evse(new, old, stamp))
    return merged + [_stamp_evse(listed[i], None, stamp) for i in sorted(index.values())]


def _stamp(stored: StoredLocation | None) -> datetime:
    """Now, but never earlier than what is stored (clocks step back; last_updated must not)."""
    stamp = now()
    if stored is not None and utc(stored.location.last_updated) > stamp:
        return utc(stored.location.last_updated)
    return stamp


def _finish(location: Location, old: Location | None, stamp: datetime) -> Location | None:
    """Stamp the location; None when nothing differs from what is stored."""
    if old is not None and msgspec.structs.replace(location, last_updated=old.last_updated) == old:
        return None
    newest = max([stamp, *(e.last_updated for e in location.evses or [])])
    return msgspec.structs.replace(location, last_updated=newest)


def _evse_status(entry: dict[str, Any]) -> Status:
    reported = {Status(status) for status, _ in entry.get("connectors", {}).values()}
    if entry.get("evse"):
        reported.add(Status(entry["evse"]))
    return next(s for s in _EVSE_PRECEDENCE if s in reported)


def _evse(location: Location, evse_uid: str) -> EVSE:
    evse = find_evse(location, evse_uid)
    if evse is not None:
        return evse
    raise NotFound("evse_uid", f"no EVSE {evse_uid!r} at location {location.id!r}")


def _connector(evse: EVSE, connector_id: str) -> Connector:
    connector = find_connector(evse, connector_id)
    if connector is not None:
        return connector
    raise NotFound("connector_id", f"no connector {connector_id!r} on EVSE {evse.uid!r}")


# --- the writes (in the caller's transaction) ---


async def _commit(
    connection: AsyncConnection, candidate: Location, stored: StoredLocation | None,
    stamp: datetime, patched: tuple[str, ...] | None, statuses: dict[str, Any] | None = None,
) -> LocationChange | None:
    """Store the candidate and queue it; None (and no row written) when it is unchanged."""
    old = stored.location if stored else None
    location = _finish(candidate, old, stamp)
    if location is None:
        if statuses is not None and stored is not None and statuses != stored.statuses:
            await store.save_statuses(connection, candidate, statuses)
        return None
    await store.save_location(connection, location, statuses if statuses is not None else
                              (stored.statuses if stored else {}), exists=stored is not None)
    change = LocationChange(location, patched, bool(old and old.publish))
    await location_changed(connection, change)
    return change


async def _check_tariffs(
    connection: AsyncConnection, owner: Location, connectors: list[Connector], path: str
) -> None:
    """NOT_FOUND for a tariff id the location's party has not upserted."""
    wanted = [t for connector in connectors for t in connector.tariff_ids or []]
    known = await known_tariff_ids(connection, owner.country_code, owner.party_id, wanted)
    for i, connector in enumerate(connectors):
        for j, tariff_id in enumerate(connector.tariff_ids or []):
            if ci_key(tariff_id) not in known:
                raise NotFound(f"{path}[{i}].tariff_ids[{j}]", f"no tariff {tariff_id!r}")


async def _ours(connection: AsyncConnection, location_id: str) -> StoredLocation:
    """The stored location with this id under one of our parties, else NOT_FOUND."""
    stored = await store.load_location(connection, None, None, location_id)
    if stored is None or not is_ours(await cpo_parties(connection),
                                     stored.location.country_code, stored.location.party_id):
        raise NotFound("location_id", f"no location {location_id!r}")
    return stored


async def put_location(
    connection: AsyncConnection, location: Location, keep: frozenset[str] = frozenset()
) -> LocationChange | None:
    """Create or replace a location under its party (EVSEs not listed stay); None when
    unchanged. `keep`: uids of listed EVSEs that keep their stored status."""
    stored = await store.load_location(connection, location.country_code, location.party_id,
                                       location.id)
    return await _put(connection, location, stored, keep)


def _merged(location: Location, stored: StoredLocation | None, keep: frozenset[str]
            ) -> tuple[Location, datetime]:
    """The location with its EVSEs merged into the stored ones, and the stamp used."""
    stamp = _stamp(stored)
    old = stored.location if stored else None
    listed = location.evses or []
    paths = [f"location.evses[{i}]" for i in range(len(listed))]
    evses = merge_evses(old.evses or [] if old else [], listed, set(keep), paths, stamp)
    candidate = msgspec.structs.replace(location, id=old.id if old else location.id,
                                        evses=evses or None)
    return candidate, stamp


async def _put(connection: AsyncConnection, location: Location, stored: StoredLocation | None,
               keep: frozenset[str]) -> LocationChange | None:
    candidate, stamp = _merged(location, stored, keep)
    return await _commit(connection, candidate, stored, stamp, None)


async def upsert_location(connection: AsyncConnection, key: keys.Key, location: Location,
                          keep: frozenset[str]) -> tuple[Location, bool]:
    """UpsertLocation: the location as stored afterwards, and whether it changed."""
    await keys.once(connection, key)
    parties = await require_party(connection, location.country_code, location.party_id,
                                  "location.party")
    stored = await store.load_location(connection, None, None, location.id)
    if stored is not None and not is_ours(parties, stored.location.country_code,
                                          stored.location.party_id):
        stored = None  # not ours: the id is free under our party
    if stored is not None and (stored.location.country_code, stored.location.party_id) != (
        location.country_code.upper(), location.party_id.upper()
    ):
        raise PreconditionFailed(f"location.party: location {location.id!r} belongs to "
                                 f"{stored.location.country_code}/{stored.location.party_id}")
    candidate, stamp = _merged(location, stored, keep)
    await _check_evse_tariffs(connection, location, location.evses or [], "location.evses")
    change = await _commit(connection, candidate, stored, stamp, None)
    if change is not None:
        return change.location, True
    return stored.location if stored else location, False


async def _check_evse_tariffs(connection: AsyncConnection, owner: Location, evses: list[EVSE],
                              path: str) -> None:
    connectors = [c for evse in evses for c in evse.connectors]
    known = await known_tariff_ids(connection, owner.country_code, owner.party_id,
                                   [t for c in connectors for t in c.tariff_ids or []])
    for i, evse in enumerate(evses):
        for j, connector in enumerate(evse.connectors):
            for k, tariff_id in enumerate(connector.tariff_ids or []):
                if ci_key(tariff_id) not in known:
                    raise NotFound(f"{path}[{i}].connectors[{j}].tariff_ids[{k}]",
                                   f"no tariff {tariff_id!r}")


def _with_evse(stored: StoredLocation, evse: EVSE, keep: set[str], path: str
               ) -> tuple[Location, datetime]:
    stamp = _stamp(stored)
    evses = merge_evses(stored.location.evses or [], [evse], keep, [path], stamp)
    return msgspec.structs.replace(stored.location, evses=evses), stamp


async def _replace_evse(connection: AsyncConnection, stored: StoredLocation, evse: EVSE,
                        keep: set[str], path: str) -> LocationChange | None:
    candidate, stamp = _with_evse(stored, evse, keep, path)
    return await _commit(connection, candidate, stored, stamp, None)


async def upsert_evse(connection: AsyncConnection, key: keys.Key, location_id: str,
                      evse: EVSE, keep: bool) -> tuple[EVSE, bool]:
    """UpsertEvse: the EVSE as stored afterwards, and whether the location changed.
    `keep`: the input status was UNSPECIFIED, so a stored EVSE keeps its status."""
    await keys.once(connection, key)
    stored = await _ours(connection, location_id)
    candidate, stamp = _with_evse(stored, evse, {evse.uid} if keep else set(), "evse")
    await _check_tariffs(connection, stored.location, evse.connectors, "evse.connectors")
    change = await _commit(connection, candidate, stored, stamp, None)
    return _evse(change.location if change else stored.location, evse.uid), change is not None


async def upsert_connector(connection: AsyncConnection, key: keys.Key, location_id: str,
                           evse_uid: str, connector: Connector) -> tuple[Connector, bool]:
    """UpsertConnector: the connector as stored afterwards, and whether it changed."""
    await keys.once(connection, key)
    stored = await _ours(connection, location_id)
    evse = _evse(stored.location, evse_uid)
    if evse.status == Status.REMOVED:
        raise PreconditionFailed(f"evse_uid: EVSE {evse.uid!r} is REMOVED")
    await _check_tariffs(connection, stored.location, [connector], "connector")
    old = find_connector(evse, connector.id)
    connectors = ([connector if c is old else c for c in evse.connectors]
                  if old is not None else [*evse.connectors, connector])
    change = await _replace_evse(connection, stored,
                                 msgspec.structs.replace(evse, connectors=connectors), set(),
                                 "evse_uid")
    location = change.location if change else stored.location
    return _connector(_evse(location, evse_uid), connector.id), change is not None


async def remove_evse(connection: AsyncConnection, key: keys.Key, location_id: str,
                      evse_uid: str) -> tuple[EVSE, bool]:
    """RemoveEvse: the EVSE stays, with status REMOVED (once: a removed one stays as is)."""
    await keys.once(connection, key)
    stored = await _ours(connection, location_id)
    evse = _evse(stored.location, evse_uid)
    if evse.status == Status.REMOVED:
        return evse, False
    change = await _replace_evse(connection, stored,
                                 msgspec.structs.replace(evse, status=Status.REMOVED), set(),
                                 "evse_uid")
    return _evse(change.location if change else stored.location, evse_uid), change is not None


def _reported(statuses: dict[str, Any], evse_uid: str, connector_id: str | None,
              status: Status, at: datetime) -> dict[str, Any] | None:
    """The EVSE's status entry with this report; None when the report is older than the
    last one (it is ignored)."""
    at_text = utc(at).isoformat()
    entry = dict(statuses.get(evse_uid, {}))
    if connector_id is None:
        if entry.get("at", "") > at_text:
            return None
        return {"at": at_text, "evse": status.value, "connectors": {}}
    connectors = dict(entry.get("connectors", {}))
    if connectors.get(connector_id, ("", ""))[1] > at_text:
        return None
    connectors[connector_id] = [status.value, at_text]
    return {"at": max(entry.get("at", ""), at_text), "evse": None, "connectors": connectors}


async def record_status(
    connection: AsyncConnection, key: keys.Key | None, location_id: str, evse_uid: str,
    status: Status, at: datetime, connector_id: str | None = None,
) -> tuple[LocationChange | None, Status]:
    """SetEvseStatus / SetConnectorStatus: record a status reported at `at` (older reports
    are ignored); the change (None: none) and the EVSE's status afterwards.

    A unit of a shared transaction: it writes nothing before its checks pass.
    """
    replay = await keys.seen(connection, key) if key is not None else True
    stored = await store.load_location(connection, None, None, location_id)
    if stored is None:
        raise NotFound("location_id", f"no location {location_id!r}")
    evse = _evse(stored.location, evse_uid)
    if evse.status == Status.REMOVED:
        raise PreconditionFailed(f"evse_uid: EVSE {evse_uid!r} is REMOVED; upsert it first")
    if connector_id is not None:
        connector_id = _connector(evse, connector_id).id  # statuses keep the stored ids
    entry = _reported(stored.statuses, evse.uid, connector_id, status, at)
    change = None
    new_status: Status = evse.status
    if entry is not None:
        statuses = {**stored.statuses, evse.uid: entry}
        new_status = _evse_status(entry)
        stamp = _stamp(stored)
        evses = [msgspec.structs.replace(e, status=new_status, last_updated=stamp)
                 if e.uid == evse.uid and e.status != new_status else e
                 for e in stored.location.evses or []]
        candidate = msgspec.structs.replace(stored.location, evses=evses)
        change = await _commit(connection, candidate, stored, stamp, (evse.uid,), statuses)
    if not replay and key is not None:
        await keys.remember(connection, key)
    return change, new_status


async def set_publish(connection: AsyncConnection, country_code: str, party_id: str,
                      location_id: str, publish: bool) -> LocationChange | None:
    """Publish or unpublish a location (its publish_allowed_to list stays as it is)."""
    stored = await store.load_location(connection, country_code, party_id, location_id)
    if stored is None:
        raise NotFound("location_id", f"no location {location_id!r}")
    stamp = _stamp(stored)
    candidate = msgspec.structs.replace(stored.location, publish=publish)
    return await _commit(connection, candidate, stored, stamp, None)


class Locations:
    """The location events in their own transactions; `wakeup` tells the push worker of
    each commit that queued something. Status events come in bursts: they share
    transactions (group commit)."""

    def __init__(self, database: Database, wakeup: outbox.Wakeup) -> None:
        self._database = database
        self._wakeup = wakeup
        self._groups = WriteGroups(database, writer="evse_status")

    async def write(self, work: Callable[[AsyncConnection], Awaitable[tuple[T, bool]]]) -> T:
        """Run one event's work in a write transaction; wake the push worker if it changed."""
        async with self._database.write() as connection:
            result, changed = await work(connection)
        if changed:
            self._wakeup.notify()
        return result

    async def status(self, key: keys.Key, location_id: str, evse_uid: str, status: Status,
                     at: datetime, connector_id: str | None) -> Status:
        """Record a status in a shared transaction; the EVSE's status afterwards."""
        change, now_status = await self._groups.run(
            lambda c: record_status(c, key, location_id, evse_uid, status, at, connector_id))
        if change is not None:
            self._wakeup.notify()
        return now_status
