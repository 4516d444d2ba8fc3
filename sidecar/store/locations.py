"""Locations, EVSEs and connectors from the core: stored as one document per location.

The sidecar stamps `last_updated` itself, at the moment a change is stored, on the changed
object and each of its parents, so a parent is never older than its children and date filters
find every change. Writing what is already stored changes nothing (idempotent upserts).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from typing import Any

import msgspec
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar.errors import NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.enums import Status
from sidecar.ocpi.locations import EVSE, Connector, Location, find_connector, find_evse
from sidecar.ocpi.types import ci_key, now, utc
from sidecar.store import tables
from sidecar.store.documents import put_document
from sidecar.store.engine import touch

_t = tables.locations

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


@dataclass(frozen=True)
class _Stored:
    location: Location
    statuses: dict[str, Any]


@cache
def _load_statement(by_party: bool, locking: bool) -> Any:
    # lower(object_id): ids are CiStrings, found in any case on the ix_locations_object_key
    # expression index (documents.id_is); the bound value is ci_key(id).
    query = select(_t.c.document, _t.c.statuses).where(
        func.lower(_t.c.object_id) == bindparam("k_object_id"))
    if by_party:
        query = query.where(_t.c.country_code == bindparam("k_country_code"),
                            _t.c.party_id == bindparam("k_party_id"))
    return query.with_for_update() if locking else query


async def _load(
    connection: AsyncConnection, country_code: str | None, party_id: str | None,
    location_id: str, *, for_update: bool = True,
) -> _Stored | None:
    """The stored location (its id in any case); without a party, the one with this id (ids
    are unique to us)."""
    by_party = country_code is not None and party_id is not None
    # Read-modify-write: on PostgreSQL a concurrent change of this location waits for us.
    locking = for_update and connection.dialect.name == "postgresql"
    parameters = {"k_object_id": ci_key(location_id)}
    if by_party:
        parameters.update(k_country_code=(country_code or "").upper(),
                          k_party_id=(party_id or "").upper())
    row = (await connection.execute(_load_statement(by_party, locking), parameters)).first()
    if row is None:
        return None
    return _Stored(codec.decode(row.document, Location), dict(row.statuses or {}))


async def get_location(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str
) -> Location | None:
    """The stored location, or None."""
    stored = await _load(connection, country_code, party_id, location_id, for_update=False)
    return stored.location if stored else None


_REPLACE = (
    update(_t)
    .where(_t.c.country_code == bindparam("k_country_code"),
           _t.c.party_id == bindparam("k_party_id"),
           _t.c.object_id == bindparam("k_object_id"))
    .values(document=bindparam("document"), last_updated=bindparam("last_updated"),
            publish=bindparam("publish"), publish_allowed_to=bindparam("publish_allowed_to"),
            statuses=bindparam("statuses"))
)


async def _save(
    connection: AsyncConnection, location: Location, statuses: dict[str, Any],
    *, exists: bool = False,
) -> None:
    if exists:
        # The hot path (status changes): one prepared UPDATE, no upsert to build.
        await connection.execute(_REPLACE, {
            "k_country_code": location.country_code.upper(),
            "k_party_id": location.party_id.upper(), "k_object_id": location.id,
            "document": codec.encode(location), "last_updated": location.last_updated,
            "publish": location.publish,
            "publish_allowed_to": codec.to_builtins(location.publish_allowed_to),
            "statuses": statuses})
        touch(connection, _t.name)
        return
    await put_document(
        connection, _t, country_code=location.country_code, party_id=location.party_id,
        object_id=location.id, document=codec.encode(location),
        last_updated=location.last_updated, publish=location.publish,
        publish_allowed_to=codec.to_builtins(location.publish_allowed_to),
        statuses=statuses,
    )


def _stored_connector(evse: EVSE | None, new: Connector) -> Connector | None:
    return find_connector(evse, new.id) if evse is not None else None


def _stamp_connector(new: Connector, old: Connector | None, stamp: datetime) -> Connector:
    if old is not None:
        new = msgspec.structs.replace(new, id=old.id)
    if old is not None and msgspec.structs.replace(new, last_updated=old.last_updated) == old:
        return old
    return msgspec.structs.replace(new, last_updated=stamp)


def _stamp_evse(new: EVSE, old: EVSE | None, stamp: datetime) -> EVSE:
    if old is not None:
        new = msgspec.structs.replace(new, uid=old.uid)
    connectors = [_stamp_connector(c, _stored_connector(old, c), stamp) for c in new.connectors]
    candidate = msgspec.structs.replace(new, connectors=connectors)
    if old is not None and msgspec.structs.replace(candidate, last_updated=old.last_updated) == old:
        return old
    newest = max([stamp, *(c.last_updated for c in connectors)])
    return msgspec.structs.replace(candidate, last_updated=newest)


def _merge_evses(new: list[EVSE], old: list[EVSE], stamp: datetime) -> list[EVSE]:
    """EVSEs in stored order, new ones appended; EVSEs not sent stay as they are.

    OCPI never deletes an EVSE: taking one out is `remove_evse` (status REMOVED).
    """
    sent = {ci_key(e.uid): e for e in new}
    merged = [_stamp_evse(sent.pop(ci_key(e.uid)), e, stamp) if ci_key(e.uid) in sent else e
              for e in old]
    return merged + [_stamp_evse(e, None, stamp) for e in new if ci_key(e.uid) in sent]


def _finish(location: Location, old: Location | None, stamp: datetime) -> Location | None:
    """Stamp the location; None when nothing differs from what is stored."""
    if old is not None and msgspec.structs.replace(location, last_updated=old.last_updated) == old:
        return None
    newest = max([stamp, *(e.last_updated for e in location.evses or [])])
    return msgspec.structs.replace(location, last_updated=newest)


async def upsert_location(connection: AsyncConnection, location: Location) -> LocationChange | None:
    """Create or replace a location (with its EVSEs); None when it is unchanged.

    A location, EVSE or connector named in another case is the stored one, and keeps the id
    it was created with.
    """
    stored = await _load(connection, location.country_code, location.party_id, location.id)
    stamp = _stamp(stored)
    old = stored.location if stored else None
    if old is not None:
        location = msgspec.structs.replace(location, id=old.id)
    evses = _merge_evses(location.evses or [], (old.evses or []) if old else [], stamp)
    candidate = msgspec.structs.replace(location, evses=evses or None)
    return await _commit(connection, candidate, stored, stamp, None)


def _stamp(stored: _Stored | None) -> datetime:
    """Now, but never earlier than what is stored (clocks step back; last_updated must not)."""
    stamp = now()
    if stored is not None and utc(stored.location.last_updated) > stamp:
        return utc(stored.location.last_updated)
    return stamp


async def _commit(
    connection: AsyncConnection,
    candidate: Location,
    stored: _Stored | None,
    stamp: datetime,
    patched: tuple[str, ...] | None,
    statuses: dict[str, Any] | None = None,
) -> LocationChange | None:
    old = stored.location if stored else None
    location = _finish(candidate, old, stamp)
    if location is None:
        if statuses is not None and stored is not None and statuses != stored.statuses:
            await connection.execute(
                update(_t).where(_t.c.country_code == candidate.country_code.upper(),
                                 _t.c.party_id == candidate.party_id.upper(),
                                 _t.c.object_id == candidate.id).values(statuses=statuses))
        return None
    await _save(connection, location, statuses if statuses is not None else
                (stored.statuses if stored else {}), exists=stored is not None)
    return LocationChange(location, patched, bool(old and old.publish))


async def _require(
    connection: AsyncConnection, country_code: str | None, party_id: str | None,
    location_id: str,
) -> _Stored:
    stored = await _load(connection, country_code, party_id, location_id)
    if stored is None:
        raise NotFound("location_id", f"no location {location_id!r}")
    return stored


def _evse(stored: _Stored, evse_uid: str) -> EVSE:
    evse = find_evse(stored.location, evse_uid)
    if evse is not None:
        return evse
    raise NotFound("evse_uid", f"no EVSE {evse_uid!r} at location {stored.location.id!r}")


async def upsert_evse(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str, evse: EVSE
) -> LocationChange | None:
    """Create or replace one EVSE of an existing location."""
    stored = await _require(connection, country_code, party_id, location_id)
    stamp = _stamp(stored)
    evses = _merge_evses([evse], stored.location.evses or [], stamp)
    candidate = msgspec.structs.replace(stored.location, evses=evses)
    return await _commit(connection, candidate, stored, stamp, None)


async def upsert_connector(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str,
    evse_uid: str, connector: Connector,
) -> LocationChange | None:
    """Create or replace one connector of an existing EVSE."""
    stored = await _require(connection, country_code, party_id, location_id)
    evse = _evse(stored, evse_uid)
    old = find_connector(evse, connector.id)
    replaced = [connector if c is old else c for c in evse.connectors]
    connectors = replaced if old is not None else [*evse.connectors, connector]
    return await upsert_evse(connection, country_code, party_id, location_id,
                             msgspec.structs.replace(evse, connectors=connectors))


async def remove_evse(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str,
    evse_uid: str,
) -> LocationChange | None:
    """Take an EVSE out of service for good: it stays, with status REMOVED."""
    stored = await _require(connection, country_code, party_id, location_id)
    evse = _evse(stored, evse_uid)
    return await upsert_evse(connection, country_code, party_id, location_id,
                             msgspec.structs.replace(evse, status=Status.REMOVED))


def _evse_status(entry: dict[str, Any]) -> Status:
    reported = {Status(status) for status, _ in entry.get("connectors", {}).values()}
    if entry.get("evse"):
        reported.add(Status(entry["evse"]))
    return next(s for s in _EVSE_PRECEDENCE if s in reported)


async def set_status(
    connection: AsyncConnection, country_code: str | None, party_id: str | None,
    location_id: str, evse_uid: str, status: Status, at: datetime,
    connector_id: str | None = None,
) -> LocationChange | None:
    """Record an EVSE (or connector) status reported at `at`; older reports are ignored."""
    change, _ = await record_status(connection, country_code, party_id, location_id, evse_uid,
                                    status, at, connector_id)
    return change


async def record_status(
    connection: AsyncConnection, country_code: str | None, party_id: str | None,
    location_id: str, evse_uid: str, status: Status, at: datetime,
    connector_id: str | None = None,
) -> tuple[LocationChange | None, Status]:
    """Like `set_status`, and also the EVSE's status afterwards (changed or not)."""
    stored = await _require(connection, country_code, party_id, location_id)
    evse = _evse(stored, evse_uid)
    if evse.status == Status.REMOVED:
        raise PreconditionFailed(f"evse_uid: EVSE {evse_uid!r} is REMOVED; upsert it first")
    if connector_id is not None:
        connector = find_connector(evse, connector_id)
        if connector is None:
            raise NotFound("connector_id", f"no connector {connector_id!r} on EVSE {evse_uid!r}")
        connector_id = connector.id
    # Statuses are kept under the ids as stored.
    evse_uid = evse.uid
    at_text = utc(at).isoformat()
    statuses = dict(stored.statuses)
    entry = dict(statuses.get(evse_uid, {}))
    if connector_id is None:
        if entry.get("at", "") > at_text:
            return None, evse.status
        entry = {"at": at_text, "evse": status.value, "connectors": {}}
    else:
        connectors = dict(entry.get("connectors", {}))
        if connectors.get(connector_id, ("", ""))[1] > at_text:
            return None, evse.status
        connectors[connector_id] = [status.value, at_text]
        entry = {"at": max(entry.get("at", ""), at_text), "evse": None, "connectors": connectors}
    statuses[evse_uid] = entry
    new_status = _evse_status(entry)
    stamp = _stamp(stored)
    evses = [
        msgspec.structs.replace(e, status=new_status, last_updated=stamp)
        if e.uid == evse_uid and e.status != new_status else e
        for e in stored.location.evses or []
    ]
    candidate = msgspec.structs.replace(stored.location, evses=evses)
    change = await _commit(connection, candidate, stored, stamp, (evse_uid,), statuses)
    return change, new_status


async def set_publish(
    connection: AsyncConnection, country_code: str, party_id: str, location_id: str,
    publish: bool,
) -> LocationChange | None:
    """Publish or unpublish a location (its publish_allowed_to list stays as it is)."""
    stored = await _require(connection, country_code, party_id, location_id)
    stamp = _stamp(stored)
    candidate = msgspec.structs.replace(stored.location, publish=publish)
    return await _commit(connection, candidate, stored, stamp, None)
