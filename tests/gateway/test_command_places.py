"""Where a command must go: CANCEL_RESERVATION names the stored reservation's location and
EVSE, STOP_SESSION the stored session's location, EVSE and connector."""

from __future__ import annotations

import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as pb

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, bodies, command, ev_core, watching
from tests.gateway.test_reservations_flow import report, reserved
from tests.gateway.transaction_e2e import register
from tests.servicers.transaction_builders import T0, start

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]


async def test_cancel_reservation_names_the_reserved_location_and_evse(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    await report(ev_core, "gap:accepted", sent.reserve_now.ocpp_reservation_id,
                 pb.RESERVATION_STATUS_ACCEPTED, T0)
    watcher = await watching(cpo, ev_core, "core-cancel")
    reply = await command(emsp, cpo, "CANCEL_RESERVATION", bodies(emsp)["CANCEL_RESERVATION"])
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await watcher.stop()
    cancel = watcher.commands[0].cancel_reservation
    assert (cancel.reservation_id, cancel.ocpp_reservation_id) == (
        "R1", sent.reserve_now.ocpp_reservation_id)
    assert (cancel.location_id, cancel.evse_uid) == ("LOC1", "EVSE1")


async def test_cancel_of_a_reservation_without_evse_names_only_the_location(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None, evse_uid=None)
    assert sent.reserve_now.evse_uid == ""
    watcher = await watching(cpo, ev_core, "core-cancel-any")
    await command(emsp, cpo, "CANCEL_RESERVATION", bodies(emsp)["CANCEL_RESERVATION"])
    await eventually(lambda: watcher.commands)
    await watcher.stop()
    cancel = watcher.commands[0].cancel_reservation
    assert (cancel.location_id, cancel.evse_uid) == ("LOC1", "")


async def test_stop_session_names_the_sessions_location_evse_and_connector(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start("TX1", connector_id="2"))
    watcher = await watching(cpo, ev_core, "core-stop")
    reply = await command(emsp, cpo, "STOP_SESSION", bodies(emsp)["STOP_SESSION"])
    assert reply["data"]["result"] == "ACCEPTED"
    await eventually(lambda: watcher.commands)
    await watcher.stop()
    stop = watcher.commands[0].stop_session
    assert (stop.session_id, stop.transaction_id) == ("TX1", "TX1")
    assert (stop.location_id, stop.evse_uid, stop.connector_id) == ("LOC1", "EVSE1", "2")
