"""OCPP 2.0.1 charge points: each message they send, and each command sent to them.

Idempotency keys are `<charge point id>:<OCPP message id>` for status, and
`<transactionId>:<seqNo>` for TransactionEvent: a charge point that repeats an event after a
lost answer repeats both, and the sidecar answers the first call again. A 2.0.1 `evse.id` is
one OCPI EVSE, its `connectorId` one Connector (see the site file).
"""

from __future__ import annotations

from typing import Any

from ocpi_sidecar.v1 import (
    common_pb2,
    ev_driver_pb2,
    locations_pb2,
    smart_charging_pb2,
    transactions_pb2,
)
from ocpp.routing import on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import (
    Action,
    AuthorizationStatusEnumType,
    ChargingProfileKindEnumType,
    ChargingProfilePurposeEnumType,
    RegistrationStatusEnumType,
)

from reference_csms.bridge import Bridge, Pending
from reference_csms.ocpp_common import (
    CommandOutcome,
    ProfileOutcome,
    active_profile,
    command_result,
    energy_register_wh,
    enum_value,
    iso,
    meter_values,
    now_iso,
    ocpp_schedule,
    profile_id,
    profile_result,
    stamp,
)
from reference_csms.sidecar import LOG, key
from reference_csms.site import OcppTarget, Place, Registry

# idTokenInfo.status for each AuthorizationResult (docs/contract.md, Tokens).
ID_TOKEN_STATUS = {
    ev_driver_pb2.AUTHORIZATION_RESULT_ALLOWED: AuthorizationStatusEnumType.accepted,
    ev_driver_pb2.AUTHORIZATION_RESULT_BLOCKED: AuthorizationStatusEnumType.blocked,
    ev_driver_pb2.AUTHORIZATION_RESULT_EXPIRED: AuthorizationStatusEnumType.expired,
    ev_driver_pb2.AUTHORIZATION_RESULT_NO_CREDIT: AuthorizationStatusEnumType.no_credit,
    ev_driver_pb2.AUTHORIZATION_RESULT_NOT_ALLOWED:
        AuthorizationStatusEnumType.not_at_this_location,
    ev_driver_pb2.AUTHORIZATION_RESULT_UNKNOWN: AuthorizationStatusEnumType.unknown,
}
RFID_TYPES = ("ISO14443", "ISO15693")
ALLOWED = ev_driver_pb2.AUTHORIZATION_RESULT_ALLOWED
ACCEPTED = {"status": AuthorizationStatusEnumType.accepted}


def token_type(id_token: dict[str, Any]) -> common_pb2.TokenType:
    """The contract's TokenType of an OCPP 2.0.1 idToken.type."""
    kind = id_token.get("type")
    if kind in RFID_TYPES:
        return common_pb2.TOKEN_TYPE_RFID
    if kind == "Central":
        return common_pb2.TOKEN_TYPE_APP_USER
    return common_pb2.TOKEN_TYPE_OTHER


def ocpp_id_token(token: ev_driver_pb2.Token) -> dict[str, Any]:
    """The idToken of a command's token: an RFID card as ISO14443, anything else Central."""
    kind = "ISO14443" if token.type == common_pb2.TOKEN_TYPE_RFID else "Central"
    return {"id_token": token.uid, "type": kind}


def group_id_token(group: str) -> dict[str, Any] | None:
    return {"id_token": group, "type": "Central"} if group else None


def id_token_info(answer: ev_driver_pb2.AuthorizeTokenResponse | None) -> dict[str, Any]:
    if answer is None:
        return {"status": AuthorizationStatusEnumType.unknown}
    info: dict[str, Any] = {"status": ID_TOKEN_STATUS.get(answer.result,
                                                          AuthorizationStatusEnumType.invalid)}
    if answer.token.group_id:
        info["group_id_token"] = group_id_token(answer.token.group_id)
    if answer.token.language:
        info["language1"] = answer.token.language
    if answer.info.text:
        message = {"format": "UTF8", "content": answer.info.text}
        if answer.info.language:
            message["language"] = answer.info.language
        info["personal_message"] = message
    return info


class ChargePoint201(ChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, bridge: Bridge) -> None:
        super().__init__(charge_point_id, connection)
        self.bridge = bridge
        # Per open transaction: its last chargingState, whether it has a token, its
        # connector (known from the Started event or later).
        self.charging_states: dict[str, str | None] = {}
        self.with_token: set[str] = set()
        self.connectors: dict[str, str] = {}

    def place(self, evse: dict[str, Any] | None) -> Place:
        """The OCPI place of an OCPP `evse` {id, connectorId}; connector "" when not named
        (the charge point's only EVSE when not even that)."""
        evses = self.bridge.registry.evses_of(self.id)
        if not evse:
            location_id, evse_uid = evses[0]
            return Place(location_id, evse_uid, "")
        registry: Registry = self.bridge.registry
        if evse.get("connector_id") is not None:
            return registry.place(self.id, evse["id"], evse["connector_id"])
        place = registry.place(self.id, evse["id"], 1)
        return Place(place.location_id, place.evse_uid, "")

    @property
    def places(self) -> list[Place]:
        return self.bridge.places_of(self.id)

    async def close(self) -> None:
        """End the connection (a newer one of this charge point took over)."""
        await self._connection.close()

    # --- charge point → CSMS -----------------------------------------------------------

    @on(Action.boot_notification)
    async def on_boot(self, **_: Any) -> call_result.BootNotification:
        return call_result.BootNotification(current_time=now_iso(), interval=300,
                                            status=RegistrationStatusEnumType.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self, **_: Any) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    async def on_status(self, timestamp: str, connector_status: str, evse_id: int,
                        connector_id: int, call_unique_id: str,
                        **_: Any) -> call_result.StatusNotification:
        place = self.bridge.registry.place(self.id, evse_id, connector_id)
        await self.bridge.connector_status(
            key(self.id, call_unique_id), place, timestamp,
            ocpp201_status=enum_value(locations_pb2.Ocpp201ConnectorStatus,
                                      "OCPP201_CONNECTOR_STATUS", connector_status))
        return call_result.StatusNotification()

    @on(Action.authorize)
    async def on_authorize(self, id_token: dict[str, Any], **_: Any) -> call_result.Authorize:
        answer = await self.bridge.authorize(self.id, id_token["id_token"],
                                             token_type(id_token), self.places)
        return call_result.Authorize(id_token_info=id_token_info(answer))

    @on(Action.transaction_event)
    async def on_transaction_event(self, event_type: str, timestamp: str, trigger_reason: str,
                                   seq_no: int, transaction_info: dict[str, Any],
                                   meter_value: list[dict[str, Any]] | None = None,
                                   offline: bool | None = None,
                                   reservation_id: int | None = None,
                                   evse: dict[str, Any] | None = None,
                                   id_token: dict[str, Any] | None = None,
                                   **_: Any) -> call_result.TransactionEvent:
        transaction_id = self.bridge.core_transaction_id(
            self.id, str(transaction_info["transaction_id"]))
        event = transactions_pb2.OcppEventInfo(
            trigger_reason=enum_value(transactions_pb2.TriggerReason, "TRIGGER_REASON",
                                      trigger_reason),
            seq_no=seq_no, offline=bool(offline))
        idempotency_key = key(transaction_id, seq_no)
        if id_token is not None and id_token.get("type") == "NoAuthorization":
            id_token = None
        if event_type == "Started":
            info = await self._started(idempotency_key, transaction_id, timestamp, event,
                                       transaction_info, meter_value, reservation_id, evse,
                                       id_token)
        elif event_type == "Updated":
            info = await self._updated(idempotency_key, transaction_id, timestamp, event,
                                       transaction_info, meter_value, reservation_id, evse,
                                       id_token)
        else:
            info = await self._ended(idempotency_key, transaction_id, timestamp, event,
                                     transaction_info, meter_value, id_token)
        return call_result.TransactionEvent(id_token_info=info if id_token else None)

    async def _token(self, id_token: dict[str, Any], place: Place, pending: Pending | None
                     ) -> tuple[transactions_pb2.TransactionToken | None, dict[str, Any]]:
        """The transaction's token and the idTokenInfo to answer; no token when the eMSP
        refused it (nothing of a refused token goes to the sidecar)."""
        bridge = self.bridge
        uid, kind = id_token["id_token"], token_type(id_token)
        if pending is not None:
            return bridge.transaction_token(self.id, uid, kind, pending), ACCEPTED
        if (self.id, uid) not in bridge.authorized:
            # Started without AuthorizeRequest (e.g. from the charge point's local list).
            await bridge.authorize(self.id, uid, kind, [place])
        answer = bridge.authorized.get((self.id, uid))
        if answer is None or answer.result != ALLOWED:
            return None, id_token_info(answer)
        return bridge.transaction_token(self.id, uid, kind, None), id_token_info(answer)

    async def _started(self, idempotency_key: str, transaction_id: str, timestamp: str,
                       event: transactions_pb2.OcppEventInfo, info: dict[str, Any],
                       raw_values: list[dict[str, Any]] | None, reservation_id: int | None,
                       evse: dict[str, Any] | None,
                       id_token: dict[str, Any] | None) -> dict[str, Any]:
        bridge = self.bridge
        repeated = bridge.started.get(idempotency_key)
        if repeated is not None:
            await bridge.sidecar.call(bridge.sidecar.transactions.StartTransaction, repeated)
            return ACCEPTED
        place = self.place(evse)
        remote_start_id: int | None = info.get("remote_start_id")
        remote = (bridge.remote_starts.get((self.id, remote_start_id))
                  if remote_start_id is not None else None)
        reservation, reserved = bridge.reservation_for(
            reservation_id, id_token["id_token"] if id_token else "", place)
        pending = remote or reserved
        request = transactions_pb2.StartTransactionRequest(
            idempotency_key=idempotency_key, transaction_id=transaction_id,
            location_id=place.location_id, evse_uid=place.evse_uid,
            connector_id=place.connector_id, started_at=stamp(timestamp),
            meter_start_wh=energy_register_wh(raw_values, "Transaction.Begin"),
            meter_values=meter_values(raw_values),
            charging_state=enum_value(transactions_pb2.ChargingState, "CHARGING_STATE",
                                      info.get("charging_state")),
            ocpp_event=event)
        answer_info = ACCEPTED
        if id_token is not None:
            token, answer_info = await self._token(id_token, place, pending)
            if token is None:
                # Refused: the charge point ends it at once; nothing goes to the sidecar.
                return answer_info
            request.token.CopyFrom(token)
            self.with_token.add(transaction_id)
        elif remote is not None:
            # Started by our RequestStartTransaction before the driver showed a token.
            request.token.CopyFrom(bridge.transaction_token(self.id, remote.token.uid,
                                                            remote.token.type, remote))
            self.with_token.add(transaction_id)
        if remote is not None:
            request.start_command_id = remote.command_id
        if reservation is not None:
            request.reservation_id = reservation
        bridge.started[idempotency_key] = request
        await bridge.sidecar.call(bridge.sidecar.transactions.StartTransaction, request)
        # Stored: only now are the command and the reservation used up.
        if remote is not None and remote_start_id is not None:
            bridge.remote_starts.pop((self.id, remote_start_id), None)
        if reserved is not None and reservation is not None:
            bridge.reservations.pop(reservation, None)
        bridge.transactions[(self.id, transaction_id)] = place
        self.charging_states[transaction_id] = info.get("charging_state")
        self.connectors[transaction_id] = place.connector_id
        return answer_info

    async def _updated(self, idempotency_key: str, transaction_id: str, timestamp: str,
                       event: transactions_pb2.OcppEventInfo, info: dict[str, Any],
                       raw_values: list[dict[str, Any]] | None, reservation_id: int | None,
                       evse: dict[str, Any] | None,
                       id_token: dict[str, Any] | None) -> dict[str, Any]:
        bridge = self.bridge
        place = bridge.transactions.get((self.id, transaction_id))
        if place is None:
            return ACCEPTED
        remote_start_id: int | None = info.get("remote_start_id")
        request = transactions_pb2.UpdateTransactionRequest(
            idempotency_key=idempotency_key, transaction_id=transaction_id,
            timestamp=stamp(timestamp), meter_values=meter_values(raw_values), ocpp_event=event)
        changed = False
        answer_info = ACCEPTED
        remote = reserved = None
        reservation: int | None = None
        if id_token is not None and transaction_id not in self.with_token:
            # Authorised after the start (cable first): by the driver at the station, by our
            # RequestStartTransaction (remoteStartId) or for a reservation (reservationId).
            remote = (bridge.remote_starts.get((self.id, remote_start_id))
                      if remote_start_id is not None else None)
            reservation, reserved = bridge.reservation_for(reservation_id,
                                                           id_token["id_token"], place)
            token, answer_info = await self._token(id_token, place, remote or reserved)
            if token is not None:
                request.token.CopyFrom(token)
                if remote is not None:
                    request.start_command_id = remote.command_id
                if reservation is not None:
                    request.reservation_id = reservation
                changed = True
        state = info.get("charging_state")
        if state is not None and state != self.charging_states.get(transaction_id):
            request.charging_state = enum_value(transactions_pb2.ChargingState,
                                                "CHARGING_STATE", state)
            changed = True
        if evse and evse.get("connector_id") is not None and not self.connectors.get(
                transaction_id):
            request.connector_id = self.place(evse).connector_id
            changed = True
        if changed:
            await bridge.sidecar.call(bridge.sidecar.transactions.UpdateTransaction, request)
            if request.HasField("token"):
                self.with_token.add(transaction_id)
                if remote is not None and remote_start_id is not None:
                    bridge.remote_starts.pop((self.id, remote_start_id), None)
                if reserved is not None and reservation is not None:
                    bridge.reservations.pop(reservation, None)
            if state is not None:
                self.charging_states[transaction_id] = state
            if request.connector_id:
                self.connectors[transaction_id] = request.connector_id
        elif request.meter_values:
            await bridge.sidecar.call(
                bridge.sidecar.transactions.ReportMeterValues,
                transactions_pb2.ReportMeterValuesRequest(events=[
                    transactions_pb2.MeterValuesEvent(
                        idempotency_key=idempotency_key, transaction_id=transaction_id,
                        meter_values=request.meter_values)]))
        return answer_info

    async def _ended(self, idempotency_key: str, transaction_id: str, timestamp: str,
                     event: transactions_pb2.OcppEventInfo, info: dict[str, Any],
                     raw_values: list[dict[str, Any]] | None,
                     id_token: dict[str, Any] | None) -> dict[str, Any]:
        bridge = self.bridge
        if (self.id, transaction_id) not in bridge.transactions:
            return ACCEPTED
        await bridge.sidecar.call(
            bridge.sidecar.transactions.EndTransaction,
            transactions_pb2.EndTransactionRequest(
                idempotency_key=idempotency_key, transaction_id=transaction_id,
                ended_at=stamp(timestamp), meter_stop_wh=energy_register_wh(raw_values),
                stop_reason=enum_value(transactions_pb2.StopReason, "STOP_REASON",
                                       info.get("stopped_reason") or "Local"),
                meter_values=meter_values(raw_values), ocpp_event=event))
        bridge.ended(self.id, transaction_id)
        self.charging_states.pop(transaction_id, None)
        self.with_token.discard(transaction_id)
        self.connectors.pop(transaction_id, None)
        answer = bridge.authorized.get((self.id, id_token["id_token"])) if id_token else None
        return id_token_info(answer) if answer is not None else ACCEPTED

    @on(Action.reservation_status_update)
    async def on_reservation_status(self, reservation_id: int, reservation_update_status: str,
                                    call_unique_id: str,
                                    **_: Any) -> call_result.ReservationStatusUpdate:
        bridge = self.bridge
        pending = bridge.reservations.get(reservation_id)
        if reservation_update_status == "Expired":
            status = ev_driver_pb2.RESERVATION_STATUS_EXPIRED
            # The message has no time: an expiry happened at the expiry time we sent.
            when = pending.expiry_date if pending and pending.expiry_date else None
        else:
            status = ev_driver_pb2.RESERVATION_STATUS_CANCELLED
            when = None
        request = ev_driver_pb2.ReportReservationStatusRequest(
            idempotency_key=key(self.id, call_unique_id), ocpp_reservation_id=reservation_id,
            status=status)
        if when is not None:
            request.timestamp.CopyFrom(when)
        else:
            request.timestamp.CopyFrom(stamp(None))
        await bridge.sidecar.call(bridge.sidecar.ev_driver.ReportReservationStatus, request)
        bridge.reservations.pop(reservation_id, None)
        return call_result.ReservationStatusUpdate()

    # --- CSMS → charge point -----------------------------------------------------------

    async def send(self, payload: Any) -> Any:
        """One call to the charge point; raises TimeoutError or OCPPError (CALLERROR)."""
        return await self.call(payload, suppress=False)

    def _target_place(self, target: OcppTarget | None) -> Place | None:
        if target is None:
            return None
        registry: Registry = self.bridge.registry
        return registry.place(self.id, target.evse_id, target.connector_id)

    async def command(self, command: ev_driver_pb2.Command,
                      target: OcppTarget | None) -> CommandOutcome:
        evse_id = target.evse_id if target is not None else None
        kind = command.WhichOneof("payload")
        try:
            if kind == "start_session":
                start = command.start_session
                remote_start_id = self.bridge.next_ocpp_id()
                # Remembered before the call: the transaction may start before its answer.
                self.bridge.remote_starts[(self.id, remote_start_id)] = Pending(
                    command.command_id, start.token, start.authorization_reference,
                    self._target_place(target))
                answer = await self.send(call.RequestStartTransaction(
                    id_token={"id_token": start.token.uid, "type": "Central"},
                    remote_start_id=remote_start_id, evse_id=evse_id,
                    group_id_token=group_id_token(start.token.group_id)))
                if answer.status != "Accepted":
                    self.bridge.remote_starts.pop((self.id, remote_start_id), None)
                started = (self.bridge.core_transaction_id(self.id, answer.transaction_id)
                           if answer.transaction_id else "")
                return CommandOutcome(command_result(answer.status, {"Accepted": "ACCEPTED"}),
                                      transaction_id=started)
            if kind == "stop_session":
                answer = await self.send(call.RequestStopTransaction(
                    transaction_id=self.bridge.station_transaction_id(
                        self.id, command.stop_session.transaction_id)))
                return CommandOutcome(command_result(answer.status, {"Accepted": "ACCEPTED"}))
            if kind == "reserve_now":
                reserve = command.reserve_now
                answer = await self.send(call.ReserveNow(
                    id=reserve.ocpp_reservation_id, expiry_date_time=iso(reserve.expiry_date),
                    id_token=ocpp_id_token(reserve.token), evse_id=evse_id,
                    group_id_token=group_id_token(reserve.token.group_id)))
                if answer.status == "Accepted":
                    # The station reports the expiry itself (ReservationStatusUpdate).
                    self.bridge.hold_reservation(reserve.ocpp_reservation_id, Pending(
                        command.command_id, reserve.token, reserve.authorization_reference,
                        self._target_place(target), reserve.expiry_date), expire=False)
                return CommandOutcome(command_result(answer.status, {
                    "Accepted": "ACCEPTED", "Occupied": "EVSE_OCCUPIED",
                    "Faulted": "EVSE_INOPERATIVE", "Unavailable": "EVSE_INOPERATIVE"}))
            if kind == "cancel_reservation":
                number = command.cancel_reservation.ocpp_reservation_id
                answer = await self.send(call.CancelReservation(reservation_id=number))
                if answer.status == "Accepted":
                    self.bridge.reservations.pop(number, None)
                return CommandOutcome(command_result(answer.status, {
                    "Accepted": "ACCEPTED", "Rejected": "UNKNOWN_RESERVATION"}))
            if kind == "unlock_connector":
                if target is None or target.evse_id is None:
                    return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_FAILED)
                answer = await self.send(call.UnlockConnector(
                    evse_id=target.evse_id, connector_id=target.connector_id))
                return CommandOutcome(command_result(answer.status, {
                    "Unlocked": "ACCEPTED", "UnlockFailed": "FAILED",
                    "OngoingAuthorizedTransaction": "EVSE_OCCUPIED",
                    "UnknownConnector": "FAILED"}))
        except TimeoutError:
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_TIMEOUT)
        except Exception as error:  # a CALLERROR or a closed connection
            LOG.warning("%s: %s failed: %r", self.id, kind, error)
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_FAILED)
        return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_NOT_SUPPORTED)

    async def profile(self, request: smart_charging_pb2.ChargingProfileRequest,
                      target: OcppTarget) -> ProfileOutcome:
        # One TxProfile per transaction: its id is derived from the transaction's.
        number = profile_id(request.transaction_id)
        evse_id = target.evse_id or 0
        try:
            kind = request.WhichOneof("parameters")
            if kind == "set":
                profile = request.set.charging_profile
                answer = await self.send(call.SetChargingProfile(evse_id=evse_id,
                                                                 charging_profile={
                    "id": number, "stack_level": 0,
                    "charging_profile_purpose": ChargingProfilePurposeEnumType.tx_profile,
                    "charging_profile_kind": (
                        ChargingProfileKindEnumType.absolute
                        if profile.HasField("start_date_time")
                        else ChargingProfileKindEnumType.relative),
                    "transaction_id": self.bridge.station_transaction_id(
                        self.id, request.transaction_id),
                    "charging_schedule": [{"id": number, **ocpp_schedule(profile)}]}))
                return ProfileOutcome(profile_result(answer.status))
            if kind == "get_active":
                answer = await self.send(call.GetCompositeSchedule(
                    duration=request.get_active.duration, evse_id=evse_id))
                if answer.status != "Accepted" or not answer.schedule:
                    # Accepted without a schedule tells the eMSP nothing it can use.
                    return ProfileOutcome(profile_result("Rejected"))
                return ProfileOutcome(profile_result("Accepted"), active_profile(
                    answer.schedule, answer.schedule.get("schedule_start")))
            answer = await self.send(call.ClearChargingProfile(
                charging_profile_id=number, charging_profile_criteria={
                    "evse_id": evse_id,
                    "charging_profile_purpose": ChargingProfilePurposeEnumType.tx_profile}))
            return ProfileOutcome(profile_result(answer.status))
        except Exception as error:
            LOG.warning("%s: charging profile request failed: %r", self.id, error)
            return ProfileOutcome(profile_result("Rejected"))
