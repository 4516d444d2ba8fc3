"""OCPP 1.6J charge points: each message they send, and each command sent to them.

Idempotency keys are `<charge point id>:<OCPP message id>`: a charge point that repeats a
message after a lost answer repeats its id, and the sidecar answers the first call again.
A 1.6 charge point has no EVSE level: each connectorId is one OCPI EVSE (see the site file).
"""

from __future__ import annotations

from typing import Any

import websockets
from ocpi_sidecar.v1 import (
    common_pb2,
    ev_driver_pb2,
    locations_pb2,
    smart_charging_pb2,
    transactions_pb2,
)
from ocpp.routing import on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import (
    Action,
    AuthorizationStatus,
    ChargingProfileKindType,
    ChargingProfilePurposeType,
    RegistrationStatus,
)

from reference_csms.bridge import Bridge, Pending
from reference_csms.ocpp_common import (
    CommandOutcome,
    ProfileOutcome,
    active_profile,
    command_result,
    enum_value,
    iso,
    meter_values,
    now_iso,
    ocpp_schedule,
    profile_result,
    stamp,
)
from reference_csms.sidecar import LOG, key
from reference_csms.site import OcppTarget, Place

ID_TAG_STATUS = {
    ev_driver_pb2.AUTHORIZATION_RESULT_ALLOWED: AuthorizationStatus.accepted,
    ev_driver_pb2.AUTHORIZATION_RESULT_BLOCKED: AuthorizationStatus.blocked,
    ev_driver_pb2.AUTHORIZATION_RESULT_EXPIRED: AuthorizationStatus.expired,
}
# Connector statuses during a transaction, and the charging state each one means.
CHARGING_STATES = {
    "Charging": transactions_pb2.CHARGING_STATE_CHARGING,
    "SuspendedEV": transactions_pb2.CHARGING_STATE_SUSPENDED_EV,
    "SuspendedEVSE": transactions_pb2.CHARGING_STATE_SUSPENDED_EVSE,
}
RFID = common_pb2.TOKEN_TYPE_RFID
PARENT_ID_TAG_MAX = 20


def id_tag_info(answer: ev_driver_pb2.AuthorizeTokenResponse) -> dict[str, Any]:
    info: dict[str, Any] = {"status": ID_TAG_STATUS.get(answer.result,
                                                        AuthorizationStatus.invalid)}
    group = answer.token.group_id
    if group and len(group) <= PARENT_ID_TAG_MAX:
        info["parent_id_tag"] = group
    return info


class ChargePoint16(ChargePoint):
    def __init__(self, charge_point_id: str, connection: Any, bridge: Bridge) -> None:
        super().__init__(charge_point_id, connection)
        self.bridge = bridge
        self.connector_states: dict[int, str] = {}

    def place(self, connector_id: int) -> Place:
        return self.bridge.registry.place(self.id, None, connector_id)

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
                                            status=RegistrationStatus.accepted)

    @on(Action.heartbeat)
    async def on_heartbeat(self) -> call_result.Heartbeat:
        return call_result.Heartbeat(current_time=now_iso())

    @on(Action.status_notification)
    async def on_status(self, connector_id: int, status: str, call_unique_id: str,
                        timestamp: str | None = None, **_: Any) -> call_result.StatusNotification:
        ocpp16 = enum_value(locations_pb2.Ocpp16ChargePointStatus, "OCPP16_CHARGE_POINT_STATUS",
                            status)
        if connector_id == 0:
            # The whole charge point: only Unavailable and Faulted say something per EVSE.
            if status in ("Unavailable", "Faulted"):
                for place in self.places:
                    await self.bridge.evse_status(key(self.id, call_unique_id, place.evse_uid),
                                                  place, timestamp, ocpp16_status=ocpp16)
            return call_result.StatusNotification()
        place = self.place(connector_id)
        await self.bridge.evse_status(key(self.id, call_unique_id), place, timestamp,
                                      ocpp16_status=ocpp16)
        await self._charging_state(connector_id, status, call_unique_id, timestamp)
        return call_result.StatusNotification()

    async def _charging_state(self, connector_id: int, status: str, message_id: str,
                              timestamp: str | None) -> None:
        """Charging ↔ SuspendedEV/EVSE during a transaction → UpdateTransaction."""
        previous = self.connector_states.get(connector_id)
        self.connector_states[connector_id] = status
        state = CHARGING_STATES.get(status)
        transaction = self.bridge.transaction_at(self.id, self.place(connector_id))
        if state is None or transaction is None or previous == status:
            return
        await self.bridge.sidecar.call(
            self.bridge.sidecar.transactions.UpdateTransaction,
            transactions_pb2.UpdateTransactionRequest(
                idempotency_key=key(self.id, message_id, "state"),
                transaction_id=transaction, timestamp=stamp(timestamp),
                charging_state=state))

    @on(Action.authorize)
    async def on_authorize(self, id_tag: str, **_: Any) -> call_result.Authorize:
        answer = await self.bridge.authorize(self.id, id_tag, RFID, self.places)
        return call_result.Authorize(id_tag_info=id_tag_info(answer))

    @on(Action.start_transaction)
    async def on_start(self, connector_id: int, id_tag: str, meter_start: int, timestamp: str,
                       call_unique_id: str, reservation_id: int | None = None,
                       **_: Any) -> call_result.StartTransaction:
        bridge = self.bridge
        # A repeated message (its answer was lost) is sent as the same request: the sidecar
        # answers it again, whatever was used up by the first.
        request = bridge.started.get(key(self.id, call_unique_id))
        remote = reserved = None
        if request is None:
            place = self.place(connector_id)
            remote = bridge.remote_starts.get((self.id, connector_id))
            if remote is not None and remote.token.uid.upper() != id_tag.upper():
                remote = None
            reservation, reserved = bridge.reservation_for(reservation_id, id_tag, place)
            pending = remote or reserved
            if pending is None and (self.id, id_tag) not in bridge.authorized:
                # Started without Authorize.req (e.g. from the charge point's local list).
                await bridge.authorize(self.id, id_tag, RFID, [place])
            answer = bridge.authorized.get((self.id, id_tag))
            if pending is None and (answer is None or answer.result !=
                                    ev_driver_pb2.AUTHORIZATION_RESULT_ALLOWED):
                # Not allowed: the charge point ends it at once; the sidecar hears nothing.
                return call_result.StartTransaction(
                    transaction_id=0, id_tag_info=id_tag_info(answer) if answer else
                    {"status": AuthorizationStatus.invalid})
            request = transactions_pb2.StartTransactionRequest(
                idempotency_key=key(self.id, call_unique_id),
                transaction_id=str(bridge.next_ocpp_id()),
                location_id=place.location_id, evse_uid=place.evse_uid,
                connector_id=place.connector_id, started_at=stamp(timestamp),
                token=bridge.transaction_token(self.id, id_tag, RFID, pending),
                meter_start_wh=str(meter_start),
                charging_state=transactions_pb2.CHARGING_STATE_CHARGING)
            if remote is not None:
                request.start_command_id = remote.command_id
            if reservation is not None:
                request.reservation_id = reservation
            bridge.started[request.idempotency_key] = request
        await bridge.sidecar.call(bridge.sidecar.transactions.StartTransaction, request)
        # Stored: only now are the command and the reservation used up.
        if remote is not None:
            bridge.remote_starts.pop((self.id, connector_id), None)
        if request.HasField("reservation_id"):
            bridge.reservations.pop(request.reservation_id, None)
        bridge.transactions[(self.id, request.transaction_id)] = Place(
            request.location_id, request.evse_uid, request.connector_id)
        self.connector_states[connector_id] = "Charging"
        return call_result.StartTransaction(
            transaction_id=int(request.transaction_id),
            id_tag_info={"status": AuthorizationStatus.accepted})

    @on(Action.meter_values)
    async def on_meter_values(self, connector_id: int, meter_value: list[dict[str, Any]],
                              call_unique_id: str, transaction_id: int | None = None,
                              **_: Any) -> call_result.MeterValues:
        values = meter_values(meter_value)
        if (self.id, str(transaction_id)) in self.bridge.transactions and values:
            await self.bridge.sidecar.call(
                self.bridge.sidecar.transactions.ReportMeterValues,
                transactions_pb2.ReportMeterValuesRequest(events=[
                    transactions_pb2.MeterValuesEvent(
                        idempotency_key=key(self.id, call_unique_id),
                        transaction_id=str(transaction_id), meter_values=values)]))
        return call_result.MeterValues()

    @on(Action.stop_transaction)
    async def on_stop(self, meter_stop: int, timestamp: str, transaction_id: int,
                      call_unique_id: str, reason: str | None = None,
                      transaction_data: list[dict[str, Any]] | None = None,
                      **_: Any) -> call_result.StopTransaction:
        if (self.id, str(transaction_id)) in self.bridge.transactions:
            await self.bridge.sidecar.call(
                self.bridge.sidecar.transactions.EndTransaction,
                transactions_pb2.EndTransactionRequest(
                    idempotency_key=key(self.id, call_unique_id),
                    transaction_id=str(transaction_id), ended_at=stamp(timestamp),
                    meter_stop_wh=str(meter_stop),
                    stop_reason=enum_value(transactions_pb2.StopReason, "STOP_REASON",
                                           reason or "Local"),
                    meter_values=meter_values(transaction_data)))
            self.bridge.ended(self.id, str(transaction_id))
        return call_result.StopTransaction(id_tag_info={"status": AuthorizationStatus.accepted})

    # --- CSMS → charge point -----------------------------------------------------------

    async def send(self, payload: Any) -> Any:
        """One call to the charge point; raises TimeoutError or OCPPError (CALLERROR)."""
        return await self.call(payload, suppress=False)

    async def command(self, command: ev_driver_pb2.Command,
                      target: OcppTarget | None) -> CommandOutcome:
        connector = target.connector_id if target is not None else 0
        kind = command.WhichOneof("payload")
        try:
            if kind == "start_session":
                start = command.start_session
                pending = Pending(command.command_id, start.token,
                                  start.authorization_reference,
                                  self.place(connector) if connector else None)
                # Remembered before the call: the transaction may start before its answer.
                self.bridge.remote_starts[(self.id, connector)] = pending
                answer = await self.send(call.RemoteStartTransaction(
                    id_tag=start.token.uid, connector_id=connector or None))
                if answer.status != "Accepted":
                    self.bridge.remote_starts.pop((self.id, connector), None)
                return CommandOutcome(command_result(answer.status, {"Accepted": "ACCEPTED"}))
            if kind == "stop_session":
                answer = await self.send(call.RemoteStopTransaction(
                    transaction_id=int(command.stop_session.transaction_id)))
                return CommandOutcome(command_result(answer.status, {"Accepted": "ACCEPTED"}))
            if kind == "reserve_now":
                reserve = command.reserve_now
                parent = reserve.token.group_id
                answer = await self.send(call.ReserveNow(
                    connector_id=connector, expiry_date=iso(reserve.expiry_date),
                    id_tag=reserve.token.uid, reservation_id=reserve.ocpp_reservation_id,
                    parent_id_tag=parent if parent and len(parent) <= PARENT_ID_TAG_MAX
                    else None))
                if answer.status == "Accepted":
                    self.bridge.hold_reservation(reserve.ocpp_reservation_id, Pending(
                        command.command_id, reserve.token, reserve.authorization_reference,
                        self.place(connector) if connector else None, reserve.expiry_date),
                        expire=True)
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
                answer = await self.send(call.UnlockConnector(connector_id=connector))
                return CommandOutcome(command_result(answer.status, {
                    "Unlocked": "ACCEPTED", "UnlockFailed": "FAILED",
                    "NotSupported": "NOT_SUPPORTED"}))
        except TimeoutError:
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_TIMEOUT)
        except websockets.ConnectionClosed:
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_EVSE_INOPERATIVE)
        except Exception as error:  # a CALLERROR or a closed connection
            LOG.warning("%s: %s failed: %r", self.id, kind, error)
            return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_FAILED)
        return CommandOutcome(ev_driver_pb2.COMMAND_RESULT_TYPE_NOT_SUPPORTED)

    async def profile(self, request: smart_charging_pb2.ChargingProfileRequest,
                      target: OcppTarget) -> ProfileOutcome:
        transaction_id = int(request.transaction_id)
        try:
            kind = request.WhichOneof("parameters")
            if kind == "set":
                profile = request.set.charging_profile
                answer = await self.send(call.SetChargingProfile(
                    connector_id=target.connector_id, cs_charging_profiles={
                        # One TxProfile per transaction: its id is the transaction's.
                        "charging_profile_id": transaction_id, "transaction_id": transaction_id,
                        "stack_level": 0,
                        "charging_profile_purpose": ChargingProfilePurposeType.tx_profile,
                        "charging_profile_kind": (
                            ChargingProfileKindType.absolute
                            if profile.HasField("start_date_time")
                            else ChargingProfileKindType.relative),
                        "charging_schedule": ocpp_schedule(profile)}))
                return ProfileOutcome(profile_result(answer.status))
            if kind == "get_active":
                answer = await self.send(call.GetCompositeSchedule(
                    connector_id=target.connector_id, duration=request.get_active.duration))
                if answer.status != "Accepted" or not answer.charging_schedule:
                    # Accepted without a schedule tells the eMSP nothing it can use.
                    return ProfileOutcome(profile_result("Rejected"))
                return ProfileOutcome(profile_result("Accepted"), active_profile(
                    answer.charging_schedule, answer.schedule_start))
            answer = await self.send(call.ClearChargingProfile(
                id=transaction_id, connector_id=target.connector_id,
                charging_profile_purpose=ChargingProfilePurposeType.tx_profile))
            return ProfileOutcome(profile_result(answer.status))
        except Exception as error:
            LOG.warning("%s: charging profile request failed: %r", self.id, error)
            return ProfileOutcome(profile_result("Rejected"))


