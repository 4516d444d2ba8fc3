"""A scriptable OCPP 1.6J charge point.

    async with ChargePoint16Sim.connected("ws://127.0.0.1:9000/ocpp", "CP16", connectors=2) as cp:
        await cp.plug_in(1)
        await cp.swipe("04A1B2C3")            # Authorize.req → "Accepted"
        await cp.start_transaction(1, "04A1B2C3")
        await cp.charge(1, kwh=2.5, kw=11)     # MeterValues.req, the clock moves on
        await cp.stop_transaction(1)
        await cp.unplug(1)

It answers the CSMS's calls as a well-behaved charge point does: RemoteStartTransaction starts
a transaction (on the connector named, or the first free one), RemoteStopTransaction stops
it, reservations and charging profiles are held and reported. `answers` overrides the status
it answers per action ("ReserveNow": "Occupied"), `received` records every call it got.
Its clock starts at the real time and moves on with each `charge`, so energy and time agree.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from ocpp.routing import after, on
from ocpp.v16 import ChargePoint, call, call_result
from ocpp.v16.enums import Action

from simulators.link import Simulated


@dataclass
class Transaction16:
    transaction_id: int
    id_tag: str
    meter_start_wh: int


class ChargePoint16Sim(Simulated, ChargePoint):
    SUBPROTOCOL = "ocpp1.6"

    def __init__(self, charge_point_id: str, connection: Any, connectors: int = 1) -> None:
        super().__init__(charge_point_id, connection, response_timeout=30)
        self.connectors = connectors
        self.meters = {n: 1_000_000 for n in range(1, connectors + 1)}  # Wh registers
        self.transactions: dict[int, Transaction16] = {}
        self.reservations: dict[int, dict[str, Any]] = {}
        self.profiles: dict[int, dict[str, Any]] = {}
        self.answers: dict[str, str] = {}
        self.received: list[tuple[str, dict[str, Any]]] = []
        self.sent: dict[str, Any] = {}
        self.clock = datetime.now(UTC)
        self.started = asyncio.Event()

    async def boot(self) -> None:
        await self.call(call.BootNotification(charge_point_model="Sim16",
                                              charge_point_vendor="ocpi-sidecar"))
        for connector in range(1, self.connectors + 1):
            await self.status(connector, "Available")

    # --- the driver's actions -------------------------------------------------------------

    async def status(self, connector: int, status: str, error_code: str = "NoError") -> None:
        await self.call(call.StatusNotification(connector_id=connector, error_code=error_code,
                                                status=status, timestamp=self.now()))

    async def plug_in(self, connector: int) -> None:
        await self.status(connector, "Preparing")

    async def unplug(self, connector: int) -> None:
        await self.status(connector, "Available")

    async def swipe(self, id_tag: str) -> str:
        """Authorize.req; the idTagInfo status the CSMS answered."""
        answer = await self.call(call.Authorize(id_tag=id_tag))
        return str(answer.id_tag_info["status"])

    async def start_transaction(self, connector: int, id_tag: str,
                                reservation_id: int | None = None,
                                message_id: str | None = None) -> int:
        """StartTransaction.req; `message_id` repeats an earlier message, as a charge point
        does that got no answer to it."""
        payload = self.sent.get(message_id or "") or call.StartTransaction(
            connector_id=connector, id_tag=id_tag, meter_start=self.meters[connector],
            timestamp=self.now(), reservation_id=reservation_id)
        if message_id:
            self.sent[message_id] = payload
        answer = await self.call(payload, unique_id=message_id)
        if answer.id_tag_info["status"] != "Accepted":
            return 0
        self.reservations.pop(reservation_id or -1, None)
        self.transactions[connector] = Transaction16(answer.transaction_id, id_tag,
                                                     self.meters[connector])
        self.started.set()
        await self.status(connector, "Charging")
        return int(answer.transaction_id)

    async def charge(self, connector: int, kwh: float, kw: float, samples: int = 2) -> None:
        """Deliver `kwh` at `kw`: the meter and the clock move on, in `samples` MeterValues."""
        transaction = self.transactions[connector]
        for _ in range(samples):
            self.clock += timedelta(hours=kwh / kw / samples)
            self.meters[connector] += round(kwh * 1000 / samples)
            await self.call(call.MeterValues(
                connector_id=connector, transaction_id=transaction.transaction_id,
                meter_value=[self._reading(connector, kw, "Sample.Periodic")]))

    def _reading(self, connector: int, kw: float, context: str) -> dict[str, Any]:
        return {"timestamp": self.now(), "sampled_value": [
            {"value": str(self.meters[connector]), "context": context,
             "measurand": "Energy.Active.Import.Register", "unit": "Wh"},
            {"value": str(round(kw * 1000)), "context": context,
             "measurand": "Power.Active.Import", "unit": "W"}]}

    async def stop_transaction(self, connector: int, reason: str = "Local") -> None:
        transaction = self.transactions.pop(connector)
        await self.status(connector, "Finishing")
        await self.call(call.StopTransaction(
            meter_stop=self.meters[connector], timestamp=self.now(),
            transaction_id=transaction.transaction_id, reason=reason,
            transaction_data=[self._reading(connector, 0, "Transaction.End")]))

    # --- the CSMS's calls -----------------------------------------------------------------

    def _answer(self, action: str, default: str, payload: dict[str, Any]) -> str:
        self.received.append((action, payload))
        return self.answers.get(action, default)

    @on(Action.remote_start_transaction)
    def on_remote_start(self, id_tag: str, **rest: Any) -> call_result.RemoteStartTransaction:
        return call_result.RemoteStartTransaction(
            status=self._answer("RemoteStartTransaction", "Accepted", {"id_tag": id_tag, **rest}))

    @after(Action.remote_start_transaction)
    async def after_remote_start(self, id_tag: str, connector_id: int | None = None,
                                 **_: Any) -> None:
        if self.answers.get("RemoteStartTransaction", "Accepted") != "Accepted":
            return
        connector = connector_id or next(
            n for n in range(1, self.connectors + 1) if n not in self.transactions)
        await self.plug_in(connector)
        await self.start_transaction(connector, id_tag)

    @on(Action.remote_stop_transaction)
    def on_remote_stop(self, transaction_id: int) -> call_result.RemoteStopTransaction:
        known = any(t.transaction_id == transaction_id for t in self.transactions.values())
        return call_result.RemoteStopTransaction(status=self._answer(
            "RemoteStopTransaction", "Accepted" if known else "Rejected",
            {"transaction_id": transaction_id}))

    @after(Action.remote_stop_transaction)
    async def after_remote_stop(self, transaction_id: int) -> None:
        for connector, transaction in list(self.transactions.items()):
            if transaction.transaction_id == transaction_id:
                await self.stop_transaction(connector, reason="Remote")

    @on(Action.reserve_now)
    def on_reserve_now(self, reservation_id: int, **rest: Any) -> call_result.ReserveNow:
        status = self._answer("ReserveNow", "Accepted", {"reservation_id": reservation_id,
                                                         **rest})
        if status == "Accepted":
            self.reservations[reservation_id] = rest
        return call_result.ReserveNow(status=status)

    @on(Action.cancel_reservation)
    def on_cancel_reservation(self, reservation_id: int) -> call_result.CancelReservation:
        known = self.reservations.pop(reservation_id, None) is not None
        return call_result.CancelReservation(status=self._answer(
            "CancelReservation", "Accepted" if known else "Rejected",
            {"reservation_id": reservation_id}))

    @on(Action.unlock_connector)
    def on_unlock(self, connector_id: int) -> call_result.UnlockConnector:
        return call_result.UnlockConnector(status=self._answer(
            "UnlockConnector", "Unlocked", {"connector_id": connector_id}))

    @on(Action.set_charging_profile)
    def on_set_profile(self, connector_id: int, cs_charging_profiles: dict[str, Any]
                       ) -> call_result.SetChargingProfile:
        status = self._answer("SetChargingProfile", "Accepted",
                              {"connector_id": connector_id,
                               "cs_charging_profiles": cs_charging_profiles})
        if status == "Accepted":
            # The ocpp library hands numbers over as Decimal, which it cannot send back.
            self.profiles[connector_id] = json.loads(json.dumps(cs_charging_profiles,
                                                                default=float))
        return call_result.SetChargingProfile(status=status)

    @on(Action.get_composite_schedule)
    def on_get_schedule(self, connector_id: int, duration: int,
                        **rest: Any) -> call_result.GetCompositeSchedule:
        profile = self.profiles.get(connector_id)
        status = self._answer("GetCompositeSchedule", "Accepted" if profile else "Rejected",
                              {"connector_id": connector_id, "duration": duration, **rest})
        if status != "Accepted" or profile is None:
            return call_result.GetCompositeSchedule(status=status)
        schedule = dict(profile["charging_schedule"])
        schedule["duration"] = duration
        schedule.pop("start_schedule", None)
        return call_result.GetCompositeSchedule(
            status=status, connector_id=connector_id, schedule_start=self.now(),
            charging_schedule=schedule)

    @on(Action.clear_charging_profile)
    def on_clear_profile(self, connector_id: int | None = None,
                         **rest: Any) -> call_result.ClearChargingProfile:
        known = connector_id is not None and self.profiles.pop(connector_id, None) is not None
        return call_result.ClearChargingProfile(status=self._answer(
            "ClearChargingProfile", "Accepted" if known else "Unknown",
            {"connector_id": connector_id, **rest}))
