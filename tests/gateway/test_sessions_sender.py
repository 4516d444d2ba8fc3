"""Sessions end to end: the core over gRPC, our gateway and push worker, fake eMSPs over HTTP."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
from ocpi_sidecar.v1 import locations_pb2 as loc
from ocpi_sidecar.v1 import transactions_pb2 as pb

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.transaction_e2e import Core, core, listed, register, sent_cdrs, site
from tests.servicers.transaction_builders import (
    T0,
    end,
    meter_event,
    meter_value,
    start,
    ten_minutes,
    token,
)

pytestmark = pytest.mark.anyio
__all__ = ["core"]  # the fixture

SESSIONS = "/ocpi/2.2.1/sessions"


def session_requests(emsp: FakeEmsp, session_id: str) -> list[Any]:
    return [r for r in emsp.received
            if r.path.startswith(SESSIONS) and r.path.endswith(f"/{session_id}")]


def as_the_emsp_sees_it(requests: list[Any]) -> dict[str, Any]:
    """PUT replaces the session, PATCH sets fields and appends charging periods (OCPI)."""
    seen: dict[str, Any] = {}
    for request in requests:
        if request.method == "PUT":
            seen = copy.deepcopy(request.body)
        elif request.method == "PATCH":
            for name, value in request.body.items():
                if name == "charging_periods":
                    seen[name] = [*(seen.get(name) or []), *(value or [])]
                else:
                    seen[name] = value
    return {name: value for name, value in seen.items() if value is not None}


async def test_a_whole_transaction_reaches_the_emsp_as_put_patches_and_one_cdr(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    events = ten_minutes()
    await core.run(events[:1])
    await eventually(lambda: any(r.method == "PUT" for r in session_requests(emsp, "TX1")))
    await core.run(events[1:11])  # to 11:05: the first period closes
    await eventually(lambda: any(r.method == "PATCH" and "charging_periods" in r.body
                                 for r in session_requests(emsp, "TX1")))
    await core.run(events[11:])
    await eventually(lambda: len(sent_cdrs(emsp)) == 1)
    await eventually(lambda: as_the_emsp_sees_it(session_requests(emsp, "TX1")).get(
        "status") == "COMPLETED")

    requests = session_requests(emsp, "TX1")
    first = requests[0]
    assert (first.method, first.path) == ("PUT", f"{SESSIONS}/NL/CPA/TX1")
    assert first.body["status"] == "ACTIVE" and first.body["cdr_token"]["party_id"] == "EMP"
    patches = [r for r in requests if r.method == "PATCH"]
    assert patches and all("last_updated" in p.body for p in patches)
    (ours,) = await listed(emsp, cpo, "sessions")
    assert as_the_emsp_sees_it(requests) == ours
    assert [p["start_date_time"] for p in ours["charging_periods"]] == [
        "2026-03-02T11:00:00Z", "2026-03-02T11:05:00Z", "2026-03-02T11:08:00Z"]

    (cdr,) = sent_cdrs(emsp)
    body = cdr.body
    assert cdr.headers["ocpi-from-party-id"] == "CPA" and body["id"] == "TX1"
    # 0.50 flat + 1.6 kWh × 0.25 + 8 min × 1.20/h + 2 min × 6.00/h, each + 10 % VAT.
    assert body["total_cost"] == {"excl_vat": 1.26, "incl_vat": 1.386}
    assert body["total_energy_cost"] == {"excl_vat": 0.4, "incl_vat": 0.44}
    assert body["total_time_cost"] == {"excl_vat": 0.16, "incl_vat": 0.176}
    assert body["total_parking_cost"] == {"excl_vat": 0.2, "incl_vat": 0.22}
    assert body["total_fixed_cost"] == {"excl_vat": 0.5, "incl_vat": 0.55}
    # 10 and 2 minutes in hours, to the 4 decimals an OCPI number carries.
    assert body["total_energy"] == 1.6 and body["total_time"] == 0.1667
    assert body["total_parking_time"] == 0.0333
    assert body["cdr_location"]["evse_id"] == "NL*CPA*E1" and body["tariffs"][0]["id"] == "T1"
    assert await listed(emsp, cpo, "cdrs") == [body]


async def test_another_emsp_never_receives_nor_reads_the_sessions_of_the_first(
    cpo: Cpo, core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    await site(core, capabilities=(loc.CAPABILITY_CHARGING_PREFERENCES_CAPABLE,))
    await core.transactions.StartTransaction(start("TXA"))
    await core.transactions.StartTransaction(start("TXB", token=token(
        "B0B0", party=(second_emsp.country_code, second_emsp.party_id))))
    for name in ("TXA", "TXB"):
        await core.transactions.ReportMeterValues(pb.ReportMeterValuesRequest(events=[
            meter_event(name, f"{name}:mv", meter_value(T0 + timedelta(minutes=6), 12000))]))
        await core.transactions.EndTransaction(end(name, at=T0 + timedelta(minutes=7)))
    await eventually(lambda: len(sent_cdrs(emsp)) == 1 and len(sent_cdrs(second_emsp)) == 1)

    assert {r.path.rsplit("/", 1)[1] for r in emsp.received if "/sessions/" in r.path} == {
        "TXA"}
    assert {r.path.rsplit("/", 1)[1] for r in second_emsp.received
            if "/sessions/" in r.path} == {"TXB"}
    assert [c.body["id"] for c in sent_cdrs(emsp)] == ["TXA"]
    assert [c.body["id"] for c in sent_cdrs(second_emsp)] == ["TXB"]
    for fake, mine in ((emsp, "TXA"), (second_emsp, "TXB")):
        assert [s["id"] for s in await listed(fake, cpo, "sessions")] == [mine]
        assert [c["id"] for c in await listed(fake, cpo, "cdrs")] == [mine]

    preferences = {"profile_type": "FAST", "energy_need": 20}
    url = f"{cpo.url('sessions')}/TXA/charging_preferences"
    own = await emsp.call_cpo("PUT", url, json=preferences)
    assert own.status_code == 200 and own.json()["status_code"] == 1000
    assert own.json()["data"] == "NOT_POSSIBLE"
    for fake, target in ((second_emsp, "TXA"), (emsp, "NOPE")):
        reply = await fake.call_cpo(
            "PUT", f"{cpo.url('sessions')}/{target}/charging_preferences", json=preferences)
        assert reply.status_code == 404 and reply.json()["status_code"] == 2001
    bad = await emsp.call_cpo("PUT", url, json={"profile_type": "SOON"})
    assert bad.json()["status_code"] == 2001
    assert (await emsp.call_cpo("PUT", f"{cpo.url('sessions')}/TXA", json={})).status_code in (
        404, 405)


async def test_preferences_on_an_evse_that_does_not_take_them_are_404_2001(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    reply = await emsp.call_cpo("PUT", f"{cpo.url('sessions')}/TX1/charging_preferences",
                                json={"profile_type": "CHEAP"})
    assert reply.status_code == 404 and reply.json()["status_code"] == 2001


async def test_session_list_pages_and_filters(cpo: Cpo, core: Core, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await site(core)
    for number in range(3):
        await core.transactions.StartTransaction(start(f"TX{number}"))
    first = await emsp.call_cpo("GET", cpo.url("sessions"), params={"limit": "2"})
    assert [s["id"] for s in first.json()["data"]] == ["TX0", "TX1"]
    assert first.headers["x-total-count"] == "3" and "offset=2" in first.headers["link"]
    assert await listed(emsp, cpo, "sessions", date_to="2020-01-01T00:00:00Z") == []
    assert len(await listed(emsp, cpo, "sessions", date_from="2020-01-01T00:00:00Z")) == 3
    details = (await emsp.call_cpo("GET", f"{cpo.settings.details_url}")).json()["data"]
    assert {(e["identifier"], e["role"]) for e in details["endpoints"]} >= {
        ("sessions", "SENDER"), ("cdrs", "SENDER")}
