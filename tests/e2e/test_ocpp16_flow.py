"""OCPP 1.6J end to end: simulated charge point → reference CSMS → serve → fake eMSP."""

from __future__ import annotations

import pytest
from simulators.ocpp16 import ChargePoint16Sim

from tests.fixtures.csms import Csms
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio


async def test_status_changes_reach_the_emsp_and_offline_shows_unknown(csms: Csms) -> None:
    async with ChargePoint16Sim.connected(csms.url, "CP16", connectors=2) as cp:
        await eventually(lambda: csms.evse_status("CP16-1") == "AVAILABLE"
                         and csms.evse_status("CP16-2") == "AVAILABLE", within=30)
        await cp.status(2, "Faulted", error_code="GroundFailure")
        await eventually(lambda: csms.evse_status("CP16-2") == "OUTOFORDER", within=30)
        await cp.plug_in(1)
        await eventually(lambda: csms.evse_status("CP16-1") == "CHARGING", within=30)
    await eventually(lambda: csms.evse_status("CP16-1") == "UNKNOWN"
                     and csms.evse_status("CP16-2") == "UNKNOWN", within=30)
    patches = csms.requests("PATCH", "locations/NL/CPA/REF-LOC1")
    assert patches and all(set(p.body) == {"status", "last_updated"} for p in patches)
    # The CP201 EVSE was never connected: no status change for it was sent.
    assert all("CP201" not in p.path for p in patches)
