"""Sender lists page in an order that objects changing mid-crawl cannot disturb.

An eMSP reads page after page following `Link`; between two reads the core changes an object
it has already seen (which moves its `last_updated` to now). Every object must still be seen
exactly once.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import msgspec
import pytest
from ocpi_sidecar.v1 import locations_pb2 as loc
from sqlalchemy import Table, select, update

from sidecar.ocpi import codec
from sidecar.ocpi.cdrs import CDR
from sidecar.store import tables
from sidecar.store.cdrs import add_cdr
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.transaction_e2e import Core, core, register
from tests.servicers.transaction_builders import T0, end, location_request, start, tariff_request
from tests.servicers.transaction_builders import ts as timestamp

pytestmark = pytest.mark.anyio
__all__ = ["core"]  # the fixture

COUNT = 12
LIMIT = 5


async def crawl(emsp: FakeEmsp, url: str, between: Callable[[list[str]], Awaitable[None]]
                ) -> list[str]:
    """Every id on every page, following Link; `between(page ids)` runs after each page."""
    seen: list[str] = []
    url = f"{url}?limit={LIMIT}"
    while url:
        reply = await emsp.call_cpo("GET", url)
        assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text
        page = [item["id"] for item in reply.json()["data"]]
        seen += page
        link = reply.headers.get("link", "")
        url = link[1:link.index(">")] if link else ""
        if url:
            await between(page)
    return seen


async def made_over_days(cpo: Cpo, table: Table) -> None:
    """Objects made over the last days, one a day in creation order (the sidecar stamps
    last_updated in whole seconds, so objects made within one test would all tie)."""
    async with cpo.database.write() as connection:
        for number, pk in enumerate(await connection.scalars(select(table.c.pk)
                                                             .order_by(table.c.pk))):
            await connection.execute(update(table).where(table.c.pk == pk).values(
                last_updated=datetime(2026, 1, 1, tzinfo=UTC) + timedelta(days=number)))


def once_each(seen: list[str], expected: set[str]) -> None:
    assert sorted(seen) == sorted(expected), seen


async def test_locations_changed_mid_crawl_are_listed_once(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await core.tariffs.UpsertTariff(tariff_request())
    ids = [f"LOC{n:02d}" for n in range(COUNT)]
    for location_id in ids:
        await core.locations.UpsertLocation(location_request(location_id))
    await made_over_days(cpo, tables.locations)

    async def status_changes(page: list[str]) -> None:
        # One EVSE of an object on the page just read changes status.
        await core.locations.SetEvseStatus(loc.SetEvseStatusRequest(
            idempotency_key=uuid.uuid4().hex, location_id=page[2], evse_uid="EVSE1",
            timestamp=timestamp(datetime.now(UTC)), ocpi_status=loc.EVSE_STATUS_CHARGING))

    once_each(await crawl(emsp, cpo.url("locations"), status_changes), set(ids))


async def test_tariffs_changed_mid_crawl_are_listed_once(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    ids = [f"T{n:02d}" for n in range(COUNT)]
    for tariff_id in ids:
        await core.tariffs.UpsertTariff(tariff_request(tariff_id))
    await made_over_days(cpo, tables.tariffs)

    async def price_changes(page: list[str]) -> None:
        changed = tariff_request(page[0])
        changed.idempotency_key = uuid.uuid4().hex
        changed.tariff.currency = "USD"
        await core.tariffs.UpsertTariff(changed)

    once_each(await crawl(emsp, cpo.url("tariffs"), price_changes), set(ids))


async def test_sessions_changed_mid_crawl_are_listed_once(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await core.tariffs.UpsertTariff(tariff_request())
    await core.locations.UpsertLocation(location_request())
    ids = [f"TX{n:02d}" for n in range(COUNT)]
    for transaction_id in ids:
        await core.transactions.StartTransaction(start(transaction_id))
    await made_over_days(cpo, tables.sessions)

    async def one_ends(page: list[str]) -> None:
        await core.transactions.EndTransaction(end(page[1], at=T0 + timedelta(minutes=5)))

    once_each(await crawl(emsp, cpo.url("sessions"), one_ends), set(ids))


async def test_cdrs_stored_mid_crawl_with_an_older_stamp_disturb_nothing(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await core.tariffs.UpsertTariff(tariff_request())
    await core.locations.UpsertLocation(location_request())
    ids = [f"TX{n:02d}" for n in range(COUNT)]
    for transaction_id in ids:
        await core.transactions.StartTransaction(start(transaction_id))
        await core.transactions.EndTransaction(end(transaction_id, at=T0 + timedelta(minutes=5)))
    await made_over_days(cpo, tables.cdrs)
    async with cpo.database.read() as connection:
        row = (await connection.execute(tables.cdrs.select().limit(1))).first()
    assert row is not None
    template = codec.decode(bytes(row.document), CDR)
    late: list[str] = []

    async def a_late_cdr(_page: list[str]) -> None:
        # A CDR stamped by a replica whose clock is behind: older than those listed so far.
        cdr_id = f"LATE{len(late)}"
        late.append(cdr_id)
        cdr = msgspec.structs.replace(template, id=cdr_id, session_id=cdr_id,
                                      last_updated=datetime(2025, 1, 1, tzinfo=UTC))
        async with cpo.database.write() as connection:
            await add_cdr(connection, cdr, transaction_id=cdr_id, partner_id=row.partner_id)

    once_each(await crawl(emsp, cpo.url("cdrs"), a_late_cdr), {*ids, *late})
