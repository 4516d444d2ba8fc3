"""auth_method COMMAND for sessions a command started: a transaction that continues a
RESERVE_NOW's reservation, and one whose START_SESSION becomes known only in
UpdateTransaction (OCPP 2.0.1 remoteStartId after the cable was plugged in)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import ev_driver_pb2 as pb
from ocpi_sidecar.v1 import transactions_pb2 as tx

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.test_commands_receiver import Core, ev_core
from tests.gateway.test_reservations_flow import RESERVER, report, reserved
from tests.gateway.transaction_e2e import register
from tests.servicers.transaction_builders import T0, start, token, ts, update

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]


def session_of(emsp: FakeEmsp, session_id: str) -> dict[str, Any]:
    return dict(emsp.objects.get(f"sessions/NL/CPA/{session_id}", {}))


@pytest.mark.parametrize("named", [True, False], ids=["by-number", "by-token-and-evse"])
async def test_a_transaction_that_continues_a_reservation_is_authorized_by_command(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, named: bool
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    number = sent.reserve_now.ocpp_reservation_id
    session_id = sent.command_id
    await report(ev_core, "gap:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    await eventually(lambda: session_of(emsp, session_id).get("status") == "RESERVATION")
    started = await ev_core.transactions.StartTransaction(start(
        "TX9", at=T0 + timedelta(minutes=5), token=token(RESERVER),
        reservation_id=number if named else None))
    assert started.session_id == session_id
    await eventually(lambda: session_of(emsp, session_id).get("status") == "ACTIVE")
    assert session_of(emsp, session_id)["auth_method"] == "COMMAND"


async def test_the_cores_auth_method_wins_over_the_reservation(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    sent = await reserved(cpo, ev_core, emsp, None)
    number = sent.reserve_now.ocpp_reservation_id
    await report(ev_core, "gap:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    await ev_core.transactions.StartTransaction(start(
        "TX9", at=T0 + timedelta(minutes=5), token=token(RESERVER), reservation_id=number,
        auth_method=tx.AUTH_METHOD_WHITELIST))
    await eventually(lambda: session_of(emsp, sent.command_id).get("status") == "ACTIVE")
    assert session_of(emsp, sent.command_id)["auth_method"] == "WHITELIST"


async def test_update_transaction_ties_a_late_token_to_its_start_session(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    # OCPP 2.0.1: the cable was plugged in first; remoteStartId and idToken come later.
    await ev_core.transactions.StartTransaction(start("TX5", token=None, connector_id="1"))
    await ev_core.transactions.UpdateTransaction(update(
        "TX5", "TX5:authorized", T0 + timedelta(minutes=1), token=token(),
        start_command_id="CMD-START-1"))
    await eventually(lambda: session_of(emsp, "TX5").get("status") == "ACTIVE")
    assert session_of(emsp, "TX5")["auth_method"] == "COMMAND"


async def test_update_transaction_without_start_command_id_derives_as_before(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start("TX6", token=None, connector_id="1"))
    await ev_core.transactions.UpdateTransaction(update(
        "TX6", "TX6:authorized", T0 + timedelta(minutes=1), token=token()))
    await eventually(lambda: session_of(emsp, "TX6").get("status") == "ACTIVE")
    assert session_of(emsp, "TX6")["auth_method"] == "WHITELIST"


@pytest.mark.parametrize("bad", ["x" * 300, "naïve"], ids=["too-long", "not-ascii"])
async def test_update_transaction_checks_start_command_id_as_start_does(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, bad: str
) -> None:
    await ev_core.site()
    await ev_core.transactions.StartTransaction(start("TX7", token=None, connector_id="1"))
    with pytest.raises(grpc.aio.AioRpcError) as started:
        await ev_core.transactions.StartTransaction(start(
            "TX8", connector_id="1", start_command_id=bad))
    with pytest.raises(grpc.aio.AioRpcError) as updated:
        await ev_core.transactions.UpdateTransaction(update(
            "TX7", "TX7:bad", T0, token=token(), start_command_id=bad))
    errors = [(e.value.code(), "start_command_id" in (e.value.details() or ""))
              for e in (started, updated)]
    assert errors == [(grpc.StatusCode.INVALID_ARGUMENT, True)] * 2


@pytest.mark.parametrize("named", [True, False], ids=["by-number", "by-token-and-evse"])
async def test_a_token_arriving_later_continues_the_reservation(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, named: bool
) -> None:
    """OCPP 2.0.1, cable first on the reserved EVSE: the transaction starts without a token
    (PENDING, private); the reserving token (and reservationId) arrive in UpdateTransaction,
    and the transaction continues the reservation's Session instead of getting its own."""
    sent = await reserved(cpo, ev_core, emsp, None)
    number = sent.reserve_now.ocpp_reservation_id
    session_id = sent.command_id
    await report(ev_core, "late:accepted", number, pb.RESERVATION_STATUS_ACCEPTED, T0)
    await eventually(lambda: session_of(emsp, session_id).get("status") == "RESERVATION")
    evse = sent.reserve_now.evse_uid or "EVSE1"
    pending = await ev_core.transactions.StartTransaction(start(
        "TX7", at=T0 + timedelta(minutes=5), token=None, evse_uid=evse, connector_id="1"))
    assert pending.session_id == "TX7"
    updated = await ev_core.transactions.UpdateTransaction(update(
        "TX7", "TX7:authorized", T0 + timedelta(minutes=6), token=token(RESERVER),
        reservation_id=number if named else None))
    assert updated.session_id == session_id
    await eventually(lambda: session_of(emsp, session_id).get("status") == "ACTIVE")
    assert session_of(emsp, session_id)["auth_method"] == "COMMAND"
    # The transaction's own session was never shown, and never will be.
    assert not [r for r in emsp.received if r.path.endswith("/sessions/NL/CPA/TX7")]
    # Later events of the transaction go to the reservation's Session; it ends with a CDR.
    ended = await ev_core.transactions.EndTransaction(tx.EndTransactionRequest(
        idempotency_key="TX7:end", transaction_id="TX7",
        ended_at=ts(T0 + timedelta(minutes=30)), meter_stop_wh="12000"))
    assert ended.session_id == session_id and ended.cdr_id
    await eventually(lambda: session_of(emsp, session_id).get("status") == "COMPLETED")
    assert session_of(emsp, session_id)["kwh"] == pytest.approx(2.0)
