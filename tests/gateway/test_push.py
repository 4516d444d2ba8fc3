"""The push worker against real fake eMSPs: PUT, PATCH, converge after an outage, isolation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from sqlalchemy import func, select

from sidecar.domain import locations as domain_locations
from sidecar.domain import tariffs as domain_tariffs
from sidecar.ocpi import codec
from sidecar.ocpi.enums import Status
from sidecar.ocpi.locations import Location
from sidecar.ocpi.tariffs import Tariff
from sidecar.store import locations, tables, tariffs
from sidecar.store.seed import demo_location, demo_tariff
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio

KEY = "locations/NL/CPA/LOC1"


def our_location(location_id: str = "LOC1") -> Location:
    seeded = demo_location()
    return msgspec.structs.replace(seeded, country_code="NL", party_id="CPA", id=location_id)


async def register(cpo: Cpo, emsp: FakeEmsp) -> int:
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code == 201, reply.text
    return int(reply.json()["id"])


async def store_location(cpo: Cpo, location: Location) -> None:
    async with cpo.database.write() as connection:
        await domain_locations.put_location(connection, location)
    cpo.wakeup.notify()


async def set_status(cpo: Cpo, evse_uid: str, status: Status, at: datetime) -> None:
    async with cpo.database.write() as connection:
        await domain_locations.record_status(connection, None, "LOC1", evse_uid, status, at)
    cpo.wakeup.notify()


async def outbox_rows(cpo: Cpo) -> int:
    async with cpo.database.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(tables.outbox)) or 0)


def is_empty(cpo: Cpo) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        return await outbox_rows(cpo) == 0
    return check


async def test_new_location_is_put_and_status_is_patched(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await store_location(cpo, our_location())
    await eventually(lambda: KEY in emsp.objects)
    put = next(r for r in emsp.received if r.method == "PUT")
    assert put.path == "/ocpi/2.2.1/locations/NL/CPA/LOC1"
    assert put.headers["ocpi-from-party-id"] == "CPA" and put.headers["ocpi-to-party-id"] == "EMP"
    assert put.headers["authorization"].startswith("Token ")
    assert put.headers["content-type"] == "application/json"
    assert len(put.headers["x-request-id"]) == 36
    assert put.body["evses"][0]["status"] == "AVAILABLE"
    await set_status(cpo, "SDC-LOC1-2", Status.CHARGING, datetime.now(UTC))
    await eventually(lambda: any(r.method == "PATCH" for r in emsp.received))
    patch = next(r for r in emsp.received if r.method == "PATCH")
    assert patch.path == "/ocpi/2.2.1/locations/NL/CPA/LOC1/SDC-LOC1-2"
    assert set(patch.body) == {"status", "last_updated"}
    assert patch.body["status"] == "CHARGING"
    await eventually(lambda: emsp.objects[KEY]["evses"][1]["status"] == "CHARGING")
    await eventually(is_empty(cpo))
    status = (await cpo.admin.get("/partners/1/push-status")).json()
    assert status["last_error"] is None and status["pending"] == 0


async def test_outage_then_one_put_with_the_current_state(cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = await register(cpo, emsp)
    emsp.failure = (503, 3000)
    await store_location(cpo, our_location())
    start = datetime.now(UTC)
    for number in range(100):
        status = (Status.CHARGING, Status.AVAILABLE, Status.RESERVED)[number % 3]
        await set_status(cpo, f"SDC-LOC1-{1 + number % 2}", status,
                         start + timedelta(seconds=number))
    async with cpo.database.write() as connection:
        await tariffs.upsert_tariff(connection, msgspec.structs.replace(
            demo_tariff(), country_code="NL", party_id="CPA"))
        await domain_tariffs.tariff_changed(connection, "NL", "CPA", "TARIFF1")
    cpo.wakeup.notify()
    await eventually(lambda: len(emsp.received) > 3)
    failing = (await cpo.admin.get(f"/partners/{partner}/push-status")).json()
    assert failing["failing_since"] is not None and "3000" in failing["last_error"]
    assert failing["pending"] == 2
    # Back up: a retry is due within the backoff; make it due now rather than wait.
    emsp.failure = None
    before = len(emsp.received)
    async with cpo.database.write() as connection:
        await connection.execute(tables.partners.update().values(push_backoff_until=None))
        await connection.execute(tables.outbox.update().values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    cpo.wakeup.notify()
    await eventually(lambda: KEY in emsp.objects and "tariffs/NL/CPA/TARIFF1" in emsp.objects)
    await eventually(is_empty(cpo))
    after = emsp.received[before:]
    assert sorted((r.method, r.path) for r in after) == [
        ("PUT", "/ocpi/2.2.1/locations/NL/CPA/LOC1"),
        ("PUT", "/ocpi/2.2.1/tariffs/NL/CPA/TARIFF1")]
    async with cpo.database.read() as connection:
        current = await locations.get_location(connection, "NL", "CPA", "LOC1")
        tariff = await tariffs.get_tariff(connection, "NL", "CPA", "TARIFF1")
    assert current is not None and tariff is not None
    assert emsp.objects[KEY] == codec.to_builtins(current)
    assert emsp.objects["tariffs/NL/CPA/TARIFF1"] == codec.to_builtins(tariff)
    ok = (await cpo.admin.get(f"/partners/{partner}/push-status")).json()
    assert ok["pending"] == 0 and ok["failing_since"] is None and ok["last_success"]


async def test_a_hung_emsp_does_not_delay_another(cpo: Cpo, emsp: FakeEmsp,
                                                  second_emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    emsp.failure = "hang"
    await store_location(cpo, our_location())
    await eventually(lambda: KEY in second_emsp.objects)
    start = datetime.now(UTC)
    for number in range(20):
        await set_status(cpo, "SDC-LOC1-1", (Status.CHARGING, Status.AVAILABLE)[number % 2],
                         start + timedelta(seconds=number))
        await eventually(
            lambda n=number: second_emsp.objects[KEY]["evses"][0]["status"]
            == ("CHARGING", "AVAILABLE")[n % 2])
    assert KEY not in emsp.objects


async def test_tariff_delete_is_pushed(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    tariff: Tariff = msgspec.structs.replace(demo_tariff(), country_code="NL", party_id="CPA")
    async with cpo.database.write() as connection:
        await tariffs.upsert_tariff(connection, tariff)
        await domain_tariffs.tariff_changed(connection, "NL", "CPA", tariff.id)
    cpo.wakeup.notify()
    await eventually(lambda: "tariffs/NL/CPA/TARIFF1" in emsp.objects)
    async with cpo.database.write() as connection:
        assert await tariffs.delete_tariff(connection, "NL", "CPA", tariff.id)
        await domain_tariffs.tariff_changed(connection, "NL", "CPA", tariff.id, deleted=True)
    cpo.wakeup.notify()
    await eventually(lambda: "tariffs/NL/CPA/TARIFF1" not in emsp.objects)
    assert [r.method for r in emsp.received if "tariffs" in r.path] == ["PUT", "DELETE"]


async def test_pushes_reach_an_emsp_whose_endpoints_end_in_a_slash(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    emsp.trailing_slash = True
    await register(cpo, emsp)
    await store_location(cpo, our_location())
    await eventually(lambda: KEY in emsp.objects)
    await set_status(cpo, "SDC-LOC1-2", Status.CHARGING, datetime.now(UTC))
    await eventually(lambda: emsp.objects[KEY]["evses"][1]["status"] == "CHARGING")
    paths = {(r.method, r.path) for r in emsp.received if "locations" in r.path}
    assert paths == {("PUT", "/ocpi/2.2.1/locations/NL/CPA/LOC1"),
                     ("PATCH", "/ocpi/2.2.1/locations/NL/CPA/LOC1/SDC-LOC1-2")}


async def partner_row(cpo: Cpo, partner: int) -> Any:
    async with cpo.database.read() as connection:
        return (await connection.execute(
            select(tables.partners).where(tables.partners.c.id == partner))).one()


async def outbox_row(cpo: Cpo, object_id: str) -> Any:
    async with cpo.database.read() as connection:
        return (await connection.execute(
            select(tables.outbox).where(tables.outbox.c.object_id == object_id))).one_or_none()


@pytest.mark.parametrize("refusal", [(400, 2001), (404, 2003), (422, None)])
async def test_a_refused_object_backs_off_alone(
        cpo: Cpo, emsp: FakeEmsp, refusal: tuple[int, int | None]) -> None:
    partner = await register(cpo, emsp)
    http_status, ocpi_status = refusal
    emsp.refusals["locations/NL/CPA/LOC1"] = (http_status, ocpi_status or 2000)
    await store_location(cpo, our_location("LOC1"))
    await store_location(cpo, our_location("LOC2"))
    await eventually(lambda: "locations/NL/CPA/LOC2" in emsp.objects)
    async def refusal_recorded() -> bool:
        row = await outbox_row(cpo, "LOC1")
        return row is not None and row.refused_at is not None
    await eventually(refusal_recorded)
    # The partner answered: it is not backing off, and LOC2's changes keep flowing.
    row = await partner_row(cpo, partner)
    assert row.push_backoff_until is None and row.push_failing_since is None
    start = datetime.now(UTC)
    for number in range(6):
        status = (Status.CHARGING, Status.AVAILABLE)[number % 2]
        async with cpo.database.write() as connection:
            change, _ = await domain_locations.record_status(
                connection, None, "LOC2", "SDC-LOC1-1", status, start + timedelta(seconds=number))
            assert change is not None
        cpo.wakeup.notify()
        await eventually(lambda s=status: emsp.objects["locations/NL/CPA/LOC2"]["evses"][0][
            "status"] == s.value)
    status_view = (await cpo.admin.get(f"/partners/{partner}/push-status")).json()
    assert status_view["failing_since"] is None
    [refused] = status_view["refused"]
    assert (refused["module"], refused["object_id"]) == ("locations", "LOC1")
    assert refused["http_status"] == http_status and refused["attempts"] >= 1
    assert refused["status_code"] == (ocpi_status or 2000)
    assert "refused" in refused["message"]


async def test_a_refused_object_is_sent_again_at_once_when_it_changes(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = await register(cpo, emsp)
    emsp.refusals[KEY] = (400, 2001)
    await store_location(cpo, our_location())
    async def refused() -> bool:
        row = await outbox_row(cpo, "LOC1")
        return row is not None and row.refused_at is not None
    await eventually(refused)
    # As after many refusals: the next retry is far away.
    async with cpo.database.write() as connection:
        await connection.execute(tables.outbox.update().values(
            next_attempt_at=datetime.now(UTC) + timedelta(hours=1)))
    emsp.refusals.clear()
    await set_status(cpo, "SDC-LOC1-2", Status.CHARGING, datetime.now(UTC))
    await eventually(lambda: KEY in emsp.objects)
    # The refused PATCH escalated to a PUT of the whole, current location.
    assert emsp.objects[KEY]["evses"][1]["status"] == "CHARGING"
    await eventually(is_empty(cpo))
    status_view = (await cpo.admin.get(f"/partners/{partner}/push-status")).json()
    assert status_view["refused"] == [] and status_view["pending"] == 0


async def test_an_unreachable_partner_still_backs_off_as_a_whole(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = await register(cpo, emsp)
    emsp.failure = (401, 2000)
    await store_location(cpo, our_location())
    async def backing_off() -> bool:
        return (await partner_row(cpo, partner)).push_backoff_until is not None
    await eventually(backing_off)
    row = await outbox_row(cpo, "LOC1")
    assert row is not None and row.refused_at is None


async def test_a_module_the_partner_does_not_offer_is_not_a_failure(
        cpo: Cpo, emsp: FakeEmsp) -> None:
    emsp.modules = [m for m in emsp.modules if m[0] != "locations"]
    partner = await register(cpo, emsp)
    await store_location(cpo, our_location())
    async with cpo.database.write() as connection:
        await tariffs.upsert_tariff(connection, msgspec.structs.replace(
            demo_tariff(), country_code="NL", party_id="CPA"))
        await domain_tariffs.tariff_changed(connection, "NL", "CPA", "TARIFF1")
    cpo.wakeup.notify()
    await eventually(lambda: "tariffs/NL/CPA/TARIFF1" in emsp.objects)
    await eventually(is_empty(cpo))
    row = await partner_row(cpo, partner)
    assert row.push_backoff_until is None and row.push_last_error is None
    assert not any("locations" in r.path for r in emsp.received)
