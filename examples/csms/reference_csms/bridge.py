"""The bridge: what both OCPP versions share, and the websocket server charge points dial.

`Bridge` owns the sidecar client, the site and the charge points connected now. The version
modules (`ocpp16`, `ocpp201`) turn each OCPP message into the calls below; the calls and the
routing of eMSP commands and charging-profile requests to the right charge point live here,
once.

State kept in memory (a production CSMS keeps it in its database): the commands that were
sent to a charge point and whose transaction has not started yet (remote starts and
reservations), and the AuthorizeToken answers of idTags the charge point asked about.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

import grpc
import websockets
from ocpi_sidecar.v1 import (
    common_pb2,
    ev_driver_pb2,
    locations_pb2,
    smart_charging_pb2,
    transactions_pb2,
)
from websockets.asyncio.server import ServerConnection

from reference_csms.ocpp_common import CommandOutcome, ProfileOutcome, stamp
from reference_csms.sidecar import LOG, Sidecar, key
from reference_csms.site import OcppTarget, Place, Registry, Site

# A handshake offering neither is refused (HTTP 400) before it reaches `accept`.
SUBPROTOCOLS = ["ocpp2.0.1", "ocpp1.6"]
EVSE_INOPERATIVE = ev_driver_pb2.COMMAND_RESULT_TYPE_EVSE_INOPERATIVE
# The contract's answer when the charge point cannot be reached for a profile request.
PROFILE_UNREACHABLE = smart_charging_pb2.CHARGING_PROFILE_RESULT_TYPE_REJECTED


class ChargePointLink(Protocol):
    """A connected charge point, whatever its OCPP version."""

    id: str

    async def start(self) -> None: ...

    async def close(self) -> None: ...

    async def command(self, command: ev_driver_pb2.Command,
                      target: OcppTarget | None) -> CommandOutcome: ...

    async def profile(self, request: smart_charging_pb2.ChargingProfileRequest,
                      target: OcppTarget) -> ProfileOutcome: ...


@dataclass
class Pending:
    """A START_SESSION or RESERVE_NOW the charge point accepted, until its transaction."""

    command_id: str
    token: ev_driver_pb2.Token
    authorization_reference: str
    place: Place | None
    # RESERVE_NOW: when the reservation ends (the time an expiry is reported with).
    expiry_date: Any = None


@dataclass
class Bridge:
    site: Site
    sidecar: Sidecar
    links: dict[str, ChargePointLink] = field(default_factory=dict)
    # Remote starts by (charge point, OCPP 1.6 connectorId or 2.0.1 remoteStartId).
    remote_starts: dict[tuple[str, int], Pending] = field(default_factory=dict)
    # Reservations by the number the sidecar handed out (OCPP reservationId).
    reservations: dict[int, Pending] = field(default_factory=dict)
    # AuthorizeToken answers by (charge point, token uid), for the transaction that follows.
    authorized: dict[tuple[str, str], ev_driver_pb2.AuthorizeTokenResponse] = field(
        default_factory=dict)
    # Open transactions by (charge point, transaction id): where they run.
    transactions: dict[tuple[str, str], Place] = field(default_factory=dict)
    # StartTransaction requests sent, by idempotency key: a repeated OCPP message (its
    # answer was lost) is sent again as the same request, though the command or reservation
    # it used is used up by then.
    started: dict[str, transactions_pb2.StartTransactionRequest] = field(default_factory=dict)
    # Reservations the bridge reports EXPIRED itself (OCPP 1.6), until they are due.
    _timers: set[asyncio.Task[None]] = field(default_factory=set)
    # OCPP 2.0.1 transactionIds by the contract's transaction_id made of them.
    _station_ids: dict[str, str] = field(default_factory=dict)
    # OCPP 1.6 transactionId and 2.0.1 remoteStartId values: integers unique across restarts
    # of this process (seeded from the clock).
    _ocpp_ids: itertools.count[int] = field(
        default_factory=lambda: itertools.count(int(time.time()) % 1_000_000_000))

    @property
    def registry(self) -> Registry:
        return self.site.registry

    def hold_reservation(self, number: int, pending: Pending, *, expire: bool) -> None:
        """A reservation the charge point accepted. `expire`: the charge point will not say
        when it ran out (OCPP 1.6 has no such message), so the bridge reports EXPIRED at its
        expiry date unless a transaction, a cancellation or a newer version came first."""
        self.reservations[number] = pending
        if expire and pending.expiry_date is not None:
            timer = asyncio.create_task(self._expire(number, pending))
            self._timers.add(timer)
            timer.add_done_callback(self._timers.discard)

    async def _expire(self, number: int, pending: Pending) -> None:
        expiry = pending.expiry_date.ToDatetime(tzinfo=UTC)
        await asyncio.sleep(max(0.0, (expiry - datetime.now(UTC)).total_seconds()))
        if self.reservations.get(number) is not pending:
            return  # used, cancelled, or replaced by the eMSP's update
        try:
            await self.sidecar.call(self.sidecar.ev_driver.ReportReservationStatus,
                                    ev_driver_pb2.ReportReservationStatusRequest(
                                        idempotency_key=key(number, "expired",
                                                            pending.expiry_date.seconds),
                                        ocpp_reservation_id=number,
                                        status=ev_driver_pb2.RESERVATION_STATUS_EXPIRED,
                                        timestamp=pending.expiry_date))
        except grpc.aio.AioRpcError as error:
            # FAILED_PRECONDITION: it ended otherwise meanwhile (used, cancelled).
            LOG.warning("reservation %d: EXPIRED not recorded: %s %s", number,
                        error.code().name, error.details())
        if self.reservations.get(number) is pending:
            del self.reservations[number]

    def stop_timers(self) -> None:
        for timer in self._timers:
            timer.cancel()

    def core_transaction_id(self, charge_point_id: str, station_id: str) -> str:
        """The contract's transaction_id of an OCPP 2.0.1 transactionId, which is unique per
        station only: a UUID as it is, else `<charge point id>-<transactionId>`, or a digest
        of that when longer than 36 characters."""
        try:
            uuid.UUID(station_id)
        except ValueError:
            core = f"{charge_point_id}-{station_id}"
            if len(core) > 36:
                core = hashlib.sha256(core.encode()).hexdigest()[:32]
        else:
            core = station_id
        self._station_ids[core] = station_id
        return core

    def station_transaction_id(self, charge_point_id: str, core_id: str) -> str:
        """The station's own transactionId of a contract transaction_id (the inverse)."""
        if core_id in self._station_ids:
            return self._station_ids[core_id]
        prefix = f"{charge_point_id}-"
        return core_id.removeprefix(prefix)

    def places_of(self, charge_point_id: str) -> list[Place]:
        """Every EVSE the charge point serves (connector not named)."""
        return [Place(location_id, evse_uid, "")
                for location_id, evse_uid in self.registry.evses_of(charge_point_id)]

    def next_ocpp_id(self) -> int:
        return next(self._ocpp_ids)

    def ended(self, charge_point_id: str, transaction_id: str) -> None:
        """Forget an ended transaction and the request that started it."""
        self.transactions.pop((charge_point_id, transaction_id), None)
        for sent, request in list(self.started.items()):
            if request.transaction_id == transaction_id:
                del self.started[sent]

    def transaction_at(self, charge_point_id: str, place: Place) -> str | None:
        """The open transaction on a connector, if any."""
        return next((t for (cp, t), p in self.transactions.items()
                     if cp == charge_point_id and p == place), None)

    # --- charge point → sidecar ---------------------------------------------------------

    async def evse_status(self, idempotency_key: str, place: Place, timestamp: Any,
                          **status: Any) -> None:
        """SetEvseStatus of one EVSE; `status` is ocpp16_status=, ocpp201_status= or
        ocpi_status=."""
        await self.sidecar.call(self.sidecar.locations.SetEvseStatus,
                                locations_pb2.SetEvseStatusRequest(
                                    idempotency_key=idempotency_key,
                                    location_id=place.location_id, evse_uid=place.evse_uid,
                                    timestamp=stamp(timestamp), **status))

    async def connector_status(self, idempotency_key: str, place: Place, timestamp: Any,
                               **status: Any) -> None:
        await self.sidecar.call(self.sidecar.locations.SetConnectorStatus,
                                locations_pb2.SetConnectorStatusRequest(
                                    idempotency_key=idempotency_key,
                                    location_id=place.location_id, evse_uid=place.evse_uid,
                                    connector_id=place.connector_id,
                                    timestamp=stamp(timestamp), **status))

    async def offline(self, charge_point_id: str, connection_id: str) -> None:
        """The charge point's websocket closed: each of its EVSEs is UNKNOWN until its next
        StatusNotification."""
        for place in self.places_of(charge_point_id):
            await self.evse_status(
                key(charge_point_id, "offline", connection_id, place.evse_uid), place, None,
                ocpi_status=locations_pb2.EVSE_STATUS_UNKNOWN)

    async def authorize(self, charge_point_id: str, uid: str,
                        token_type: common_pb2.TokenType,
                        places: list[Place]) -> ev_driver_pb2.AuthorizeTokenResponse:
        """AuthorizeToken at the charge point's location, remembered for its transaction."""
        request = ev_driver_pb2.AuthorizeTokenRequest(token_uid=uid, token_type=token_type)
        if places:
            request.location_id = places[0].location_id
            request.evse_uids.extend(sorted({p.evse_uid for p in places
                                             if p.location_id == places[0].location_id}))
        answer: ev_driver_pb2.AuthorizeTokenResponse = await self.sidecar.call(
            self.sidecar.ev_driver.AuthorizeToken, request)
        self.authorized[(charge_point_id, uid)] = answer
        return answer

    def transaction_token(self, charge_point_id: str, uid: str,
                          token_type: common_pb2.TokenType,
                          pending: Pending | None) -> transactions_pb2.TransactionToken:
        """The token of a transaction: a command's token (already authorised by its eMSP),
        the eMSP's answer to AuthorizeToken, or the bare uid (the CPO's own customer)."""
        if pending is not None:
            token = pending.token
            return transactions_pb2.TransactionToken(
                uid=token.uid, type=token.type, contract_id=token.contract_id,
                party=token.party, authorization_reference=pending.authorization_reference)
        answer = self.authorized.get((charge_point_id, uid))
        if answer is not None and answer.result == ev_driver_pb2.AUTHORIZATION_RESULT_ALLOWED:
            return transactions_pb2.TransactionToken(
                uid=uid, type=token_type, contract_id=answer.token.contract_id,
                party=answer.token.party, authorized_by_sidecar=True,
                authorization_reference=answer.authorization_reference)
        return transactions_pb2.TransactionToken(uid=uid, type=token_type, contract_id=uid)

    def reservation_for(self, reservation_id: int | None, uid: str,
                        place: Place) -> tuple[int | None, Pending | None]:
        """The reservation a starting transaction continues: the one the charge point names,
        or else one held for this token on this EVSE."""
        if reservation_id is not None and reservation_id in self.reservations:
            return reservation_id, self.reservations[reservation_id]
        for number, pending in self.reservations.items():
            same_evse = pending.place is None or pending.place.evse_uid == place.evse_uid
            if pending.token.uid.upper() == uid.upper() and same_evse:
                return number, pending
        return reservation_id, None

    # --- sidecar → charge point ---------------------------------------------------------

    async def on_command(self, command: ev_driver_pb2.Command) -> None:
        await self.sidecar.call(self.sidecar.ev_driver.AcknowledgeCommand,
                                ev_driver_pb2.AcknowledgeCommandRequest(
                                    idempotency_key=key(command.command_id, "ack"),
                                    command_id=command.command_id,
                                    consumer_id=self.sidecar.consumer_id))
        outcome = await self._run(command)
        await self.sidecar.call(self.sidecar.ev_driver.ReportCommandResult,
                                ev_driver_pb2.ReportCommandResultRequest(
                                    idempotency_key=key(command.command_id, "result"),
                                    command_id=command.command_id, result=outcome.result,
                                    transaction_id=outcome.transaction_id))

    async def _run(self, command: ev_driver_pb2.Command) -> CommandOutcome:
        payload = getattr(command, command.WhichOneof("payload") or "start_session")
        location_id = payload.location_id
        evse_uid = getattr(payload, "evse_uid", "")
        connector_id = getattr(payload, "connector_id", "")
        try:
            if evse_uid:
                target: OcppTarget | None = self.registry.target(location_id, evse_uid,
                                                                 connector_id)
                charge_point_id = target.charge_point_id if target else ""
            else:
                target = None
                charge_point_id = self.registry.charge_points_of(location_id)[0]
        except (KeyError, IndexError):
            LOG.warning("command %s names no EVSE of this site", command.command_id)
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_REJECTED)
        link = self.links.get(charge_point_id)
        if link is None:
            return CommandOutcome(EVSE_INOPERATIVE)
        return await link.command(command, target)

    async def on_profile(self, request: smart_charging_pb2.ChargingProfileRequest) -> None:
        try:
            target = self.registry.target(request.location_id, request.evse_uid,
                                          request.connector_id)
        except KeyError:
            outcome = ProfileOutcome(PROFILE_UNREACHABLE)
        else:
            link = self.links.get(target.charge_point_id)
            outcome = (await link.profile(request, target) if link is not None
                       else ProfileOutcome(PROFILE_UNREACHABLE))
        report = smart_charging_pb2.ReportChargingProfileResultRequest(
            idempotency_key=key(request.request_id, "result"), request_id=request.request_id,
            result=outcome.result)
        if outcome.active is not None:
            report.active_charging_profile.CopyFrom(outcome.active)
        await self.sidecar.call(self.sidecar.smart_charging.ReportChargingProfileResult, report)

    # --- the websocket server -------------------------------------------------------------

    async def accept(self, connection: ServerConnection,
                     make_link: Callable[[str, ServerConnection], ChargePointLink]) -> None:
        charge_point_id = connection.request.path.rstrip("/").rsplit("/", 1)[-1] \
            if connection.request else ""
        if not self.registry.evses_of(charge_point_id):
            LOG.warning("unknown charge point %r: closing", charge_point_id)
            await connection.close(1008, "unknown charge point")
            return
        link = make_link(charge_point_id, connection)
        replaced = self.links.get(charge_point_id)
        self.links[charge_point_id] = link
        if replaced is not None:
            # The charge point reconnected before its old connection was seen to close.
            await replaced.close()
        connection_id = str(connection.id)
        try:
            await link.start()
        except websockets.ConnectionClosed:
            pass
        finally:
            # A newer connection of the same charge point replaced this one: it is online.
            if self.links.get(charge_point_id) is link:
                del self.links[charge_point_id]
                await self.offline(charge_point_id, connection_id)


def link_factory(bridge: Bridge) -> Callable[[str, ServerConnection], ChargePointLink]:
    def make(charge_point_id: str, connection: ServerConnection) -> ChargePointLink:
        # Imported here: the version modules import this one.
        if connection.subprotocol == "ocpp1.6":
            from reference_csms.ocpp16 import ChargePoint16

            return ChargePoint16(charge_point_id, connection, bridge)
        from reference_csms.ocpp201 import ChargePoint201

        return ChargePoint201(charge_point_id, connection, bridge)

    return make


async def run(site: Site, host: str, port: int,
              ready: Callable[[int, Bridge], None] | None = None) -> None:
    """Publish the site, consume both streams and accept charge points, until cancelled;
    `ready(port, bridge)` once charge points can connect."""
    sidecar = Sidecar(site.sidecar, site.consumer_id)
    bridge = Bridge(site, sidecar)
    await sidecar.publish(site)
    make = link_factory(bridge)
    watchers = [asyncio.create_task(sidecar.watch_commands(bridge.on_command)),
                asyncio.create_task(sidecar.watch_profiles(bridge.on_profile))]
    try:
        async with websockets.serve(lambda c: bridge.accept(c, make), host, port,
                                    subprotocols=SUBPROTOCOLS) as server:  # type: ignore[arg-type]
            bound = next(iter(server.sockets)).getsockname()[1]
            LOG.info("reference CSMS listening on ws://%s:%d/ocpp/<charge point id>", host,
                     bound)
            if ready is not None:
                ready(bound, bridge)
            await asyncio.Future()
    finally:
        bridge.stop_timers()
        for watcher in watchers:
            watcher.cancel()
        await asyncio.gather(*watchers, return_exceptions=True)
        await sidecar.close()

