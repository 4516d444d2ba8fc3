"""A scriptable OCPP 2.0.1 charging station.

    async with ChargePoint201Sim.connected("ws://127.0.0.1:9000/ocpp", "CP201") as cp:
        await cp.swipe("04A1B2C3")              # AuthorizeRequest → "Accepted"
        await cp.plug_in(1, uid="04A1B2C3")     # TransactionEvent Started (CablePluggedIn)
        await cp.charge(1, kwh=2.5, kw=11)      # Updated with meter values, the clock moves on
        await cp.stop(1)                        # Ended
        await cp.unplug(1)

A transaction starts when the cable is plugged in (TxStartPoint EVConnected), with the token
when the driver showed it first, or without it ("cable first"): then `swipe` authorises and
sends Updated with idToken (triggerReason Authorized). It answers the CSMS's calls as a
well-behaved station does: RequestStartTransaction starts a transaction (on the EVSE named, or
the first free one) and answers its transactionId, RequestStopTransaction stops it,
reservations and charging profiles are held and reported. `answers` overrides the status it
answers per action ("ReserveNow": "Occupied"), `received` records every call it got.
Transaction ids are UUIDs. Its clock starts at the real time and moves on with each `charge`.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import after, on
from ocpp.v201 import ChargePoint, call, call_result
from ocpp.v201.enums import Action

from simulators.link import Simulated


@dataclass
class Transaction201:
    transaction_id: str
    evse_id: int
    connector_id: int
    id_token: dict[str, Any] | None
    charging_state: str
    seq_no: int = 0


class ChargePoint201Sim(Simulated, ChargePoint):
    SUBPROTOCOL = "ocpp2.0.1"

    def __init__(self, charge_point_id: str, connection: Any,
                 evses: dict[int, int] | None = None) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30)
        self.evses = evses or {1: 2}  # evse id → number of connectors
        self.meters = {n: 1_000_000 for n in self.evses}  # Wh registers, per EVSE
        self.transactions: dict[int, Transaction201] = {}  # by evse id
        self.reservations: dict[int, dict[str, Any]] = {}
        self.profiles: dict[int, dict[str, Any]] = {}  # by evse id
        self.answers: dict[str, str] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.id_token_infos: list[dict[str, Any]] = []  # every idTokenInfo answered
        self.sent_events: list[call.TransactionEvent] = []  # every TransactionEvent sent
        self.clock = datetime.now(UTC)
        self._remote: dict[int, str] = {}  # remoteStartId → the transactionId it will get

    async def boot(self) -> None:
        await self.call(call.BootNotification(
            charging_station={"model": "Sim201", "vendor_name": "ocpi-sidecar"},
            reason="PowerUp"))
        for evse, connectors in self.evses.items():
            for connector in range(1, connectors + 1):
                await self.status(evse, connector, "Available")

    # --- the driver's actions -------------------------------------------------------------

    async def status(self, evse: int, connector: int, status: str) -> None:
        await self.call(call.StatusNotification(timestamp=self.now(), connector_status=status,
                                                evse_id=evse, connector_id=connector))

    async def authorize(self, uid: str, kind: str = "ISO14443") -> dict[str, Any]:
        """AuthorizeRequest; the idTokenInfo the CSMS answered."""
        answer = await self.call(call.Authorize(id_token={"id_token": uid, "type": kind}))
        info: dict[str, Any] = answer.id_token_info
        return info

    async def swipe(self, uid: str, evse: int = 1, kind: str = "ISO14443") -> str:
        """The driver shows a card: AuthorizeRequest, and when a transaction without token
        runs on `evse` (cable first), TransactionEvent Updated with the idToken (and the
        reservationId of a reservation held for it, which it uses up). The idTokenInfo
        status the CSMS answered."""
        info = await self.authorize(uid, kind)
        transaction = self.transactions.get(evse)
        if info["status"] == "Accepted" and transaction is not None and \
                transaction.id_token is None:
            transaction.id_token = {"id_token": uid, "type": kind}
            transaction.charging_state = "Charging"
            reservation_id = next((n for n, r in self.reservations.items()
                                   if r["id_token"]["id_token"] == uid), None)
            self.reservations.pop(reservation_id or -1, None)
            await self._event(transaction, "Updated", "Authorized",
                              id_token=transaction.id_token, reservation_id=reservation_id,
                              meter_value=[self._reading(evse, 0, "Sample.Periodic")])
        return str(info["status"])

    async def plug_in(self, evse: int = 1, connector: int = 1, uid: str | None = None,
                      kind: str = "ISO14443", reservation_id: int | None = None,
                      remote_start_id: int | None = None, trigger: str = "CablePluggedIn",
                      transaction_id: str | None = None) -> str:
        """The cable goes in: connector Occupied, TransactionEvent Started (with the token
        when the driver was authorised first, else before authorisation). The transactionId."""
        await self.status(evse, connector, "Occupied")
        id_token = {"id_token": uid, "type": kind} if uid else None
        transaction = Transaction201(transaction_id or str(uuid.uuid4()), evse, connector,
                                     id_token, "Charging" if id_token else "EVConnected")
        self.transactions[evse] = transaction
        extra: dict[str, Any] = {}
        if reservation_id is not None:
            self.reservations.pop(reservation_id, None)
            extra["reservation_id"] = reservation_id
        info: dict[str, Any] = {}
        if remote_start_id is not None:
            info["remote_start_id"] = remote_start_id
        await self._event(transaction, "Started", trigger, id_token=id_token,
                          evse={"id": evse, "connector_id": connector}, info=info,
                          meter_value=[self._reading(evse, 0, "Transaction.Begin")], **extra)
        return transaction.transaction_id

    async def charge(self, evse: int, kwh: float, kw: float, samples: int = 2) -> None:
        """Deliver `kwh` at `kw`: the meter and the clock move on, in `samples` Updated
        events with meter values only."""
        transaction = self.transactions[evse]
        for _ in range(samples):
            self.clock += timedelta(hours=kwh / kw / samples)
            self.meters[evse] += round(kwh * 1000 / samples)
            await self._event(transaction, "Updated", "MeterValuePeriodic",
                              meter_value=[self._reading(evse, kw, "Sample.Periodic")])

    async def charging_state(self, evse: int, state: str) -> None:
        """Updated with a new chargingState (e.g. SuspendedEV)."""
        transaction = self.transactions[evse]
        transaction.charging_state = state
        await self._event(transaction, "Updated", "ChargingStateChanged")

    async def stop(self, evse: int = 1, reason: str = "Local",
                   trigger: str = "StopAuthorized") -> None:
        """TransactionEvent Ended with the Transaction.End register; the cable stays in."""
        transaction = self.transactions.pop(evse)
        transaction.charging_state = "EVConnected"
        await self._event(transaction, "Ended", trigger, stopped_reason=reason,
                          meter_value=[self._reading(evse, 0, "Transaction.End")])

    async def unplug(self, evse: int = 1, connector: int = 1) -> None:
        await self.status(evse, connector, "Available")

    async def reservation_update(self, reservation_id: int, status: str) -> None:
        """ReservationStatusUpdateRequest: "Expired" or "Removed"."""
        self.reservations.pop(reservation_id, None)
        await self.call(call.ReservationStatusUpdate(reservation_id=reservation_id,
                                                     reservation_update_status=status))

    async def _event(self, transaction: Transaction201, event_type: str, trigger: str,
                     info: dict[str, Any] | None = None, stopped_reason: str | None = None,
                     **fields: Any) -> None:
        transaction_info: dict[str, Any] = {"transaction_id": transaction.transaction_id,
                                            "charging_state": transaction.charging_state,
                                            **(info or {})}
        if stopped_reason is not None:
            transaction_info["stopped_reason"] = stopped_reason
        payload = call.TransactionEvent(
            event_type=event_type, timestamp=self.now(), trigger_reason=trigger,
            seq_no=transaction.seq_no, transaction_info=transaction_info,
            **{k: v for k, v in fields.items() if v is not None})
        self.sent_events.append(payload)
        transaction.seq_no += 1
        await self._send_event(payload)

    async def repeat_event(self, index: int = -1) -> dict[str, Any] | None:
        """Send a TransactionEvent again, unchanged, as a station does whose answer was
        lost; the idTokenInfo answered."""
        return await self._send_event(self.sent_events[index])

    async def _send_event(self, payload: call.TransactionEvent) -> dict[str, Any] | None:
        answer = await self.call(payload)
        info: dict[str, Any] | None = answer.id_token_info
        if info is not None:
            self.id_token_infos.append(info)
        return info

    def _reading(self, evse: int, kw: float, context: str) -> dict[str, Any]:
        values = [{"value": self.meters[evse], "context": context,
                   "measurand": "Energy.Active.Import.Register",
                   "unit_of_measure": {"unit": "Wh"}}]
        if kw:
            values.append({"value": round(kw * 1000), "context": context,
                           "measurand": "Power.Active.Import", "unit_of_measure": {"unit": "W"}})
        return {"timestamp": self.now(), "sampled_value": values}

    # --- the CSMS's calls -----------------------------------------------------------------

    def _answer(self, action: str, default: str, payload: dict[str, Any]) -> str:
        self.received.append((action, payload))
        return self.answers.get(action, default)

    def _free_evse(self, evse_id: int | None) -> int:
        return evse_id or next(n for n in self.evses if n not in self.transactions)

    @on(Action.request_start_transaction)
    def on_request_start(self, id_token: dict[str, Any], remote_start_id: int,
                         **rest: Any) -> call_result.RequestStartTransaction:
        status = self._answer("RequestStartTransaction", "Accepted",
                              {"id_token": id_token, "remote_start_id": remote_start_id,
                               **rest})
        if status != "Accepted":
            return call_result.RequestStartTransaction(status=status)
        running = self.transactions.get(self._free_evse(rest.get("evse_id")))
        transaction_id = running.transaction_id if running else str(uuid.uuid4())
        self._remote[remote_start_id] = transaction_id
        return call_result.RequestStartTransaction(status=status, transaction_id=transaction_id)

    @after(Action.request_start_transaction)
    async def after_request_start(self, id_token: dict[str, Any], remote_start_id: int,
                                  evse_id: int | None = None, **_: Any) -> None:
        transaction_id = self._remote.pop(remote_start_id, None)
        if transaction_id is None:
            return
        evse = self._free_evse(evse_id)
        running = self.transactions.get(evse)
        if running is not None and running.id_token is None:
            # The cable was in first: the remote start authorises that transaction.
            running.id_token = id_token
            running.charging_state = "Charging"
            await self._event(running, "Updated", "RemoteStart", id_token=id_token,
                              info={"remote_start_id": remote_start_id})
            return
        await self.plug_in(evse, 1, uid=id_token["id_token"], kind=id_token["type"],
                           remote_start_id=remote_start_id, trigger="RemoteStart",
                           transaction_id=transaction_id)

    @on(Action.request_stop_transaction)
    def on_request_stop(self, transaction_id: str,
                        **_: Any) -> call_result.RequestStopTransaction:
        known = any(t.transaction_id == transaction_id for t in self.transactions.values())
        return call_result.RequestStopTransaction(status=self._answer(
            "RequestStopTransaction", "Accepted" if known else "Rejected",
            {"transaction_id": transaction_id}))

    @after(Action.request_stop_transaction)
    async def after_request_stop(self, transaction_id: str, **_: Any) -> None:
        if self.answers.get("RequestStopTransaction", "Accepted") != "Accepted":
            return
        for evse, transaction in list(self.transactions.items()):
            if transaction.transaction_id == transaction_id:
                await self.stop(evse, reason="Remote", trigger="RemoteStop")

    @on(Action.reserve_now)
    def on_reserve_now(self, id: int, **rest: Any) -> call_result.ReserveNow:
        status = self._answer("ReserveNow", "Accepted", {"id": id, **rest})
        if status == "Accepted":
            self.reservations[id] = rest
        return call_result.ReserveNow(status=status)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int,
                              **_: Any) -> call_result.CancelReservation:
        known = self.reservations.pop(reservation_id, None) is not None
        return call_result.CancelReservation(status=self._answer(
            "CancelReservation", "Accepted" if known else "Rejected",
            {"reservation_id": reservation_id}))

    @on(Action.unlock_connector)
    def on_unlock(self, evse_id: int, connector_id: int,
                  **_: Any) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status=self._answer(
            "UnlockConnector", "Unlocked", {"evse_id": evse_id, "connector_id": connector_id}))

    @on(Action.set_charging_profile)
    def on_set_profile(self, evse_id: int, charging_profile: dict[str, Any],
                       **_: Any) -> call_result.SetChargingProfile:
        status = self._answer("SetChargingProfile", "Accepted",
                              {"evse_id": evse_id, "charging_profile": charging_profile})
        if status == "Accepted":
            self.profiles[evse_id] = charging_profile
        return call_result.SetChargingProfile(status=status)

    @on(Action.get_composite_schedule)
    def on_get_schedule(self, duration: int, evse_id: int,
                        **rest: Any) -> call_result.GetCompositeSchedule:
        profile = self.profiles.get(evse_id)
        status = self._answer("GetCompositeSchedule", "Accepted" if profile else "Rejected",
                              {"duration": duration, "evse_id": evse_id, **rest})
        if status != "Accepted" or profile is None:
            return call_result.GetCompositeSchedule(status=status)
        schedule = profile["charging_schedule"][0]
        return call_result.GetCompositeSchedule(status=status, schedule={
            "evse_id": evse_id, "duration": duration, "schedule_start": self.now(),
            "charging_rate_unit": schedule["charging_rate_unit"],
            "charging_schedule_period": schedule["charging_schedule_period"]})

    @on(Action.clear_charging_profile)
    def on_clear_profile(self, charging_profile_id: int | None = None,
                         **rest: Any) -> call_result.ClearChargingProfile:
        held = next((evse for evse, p in self.profiles.items()
                     if charging_profile_id in (None, p["id"])), None)
        if held is not None:
            del self.profiles[held]
        return call_result.ClearChargingProfile(status=self._answer(
            "ClearChargingProfile", "Accepted" if held is not None else "Unknown",
            {"charging_profile_id": charging_profile_id, **rest}))
