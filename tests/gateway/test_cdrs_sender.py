"""CDRs end to end: POSTed until accepted, exactly once; listed only to their owner."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ocpi_sidecar.v1 import transactions_pb2 as pb
from sqlalchemy import func, select

from sidecar.store import tables
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.transaction_e2e import Core, core, listed, register, sent_cdrs, site
from tests.servicers.transaction_builders import (
    T0,
    end,
    location_request,
    meter_event,
    meter_value,
    start,
    token,
)

pytestmark = pytest.mark.anyio

__all__ = ["core"]  # the fixture


async def retry_now(cpo: Cpo) -> None:
    """End the partner's backoff: its entries are due at once (instead of after seconds)."""
    async with cpo.database.write() as connection:
        await connection.execute(tables.partners.update().values(push_backoff_until=None))
        await connection.execute(tables.outbox.update().values(
            next_attempt_at=datetime.now(UTC) - timedelta(seconds=1)))
    cpo.wakeup.notify()


async def pending(cpo: Cpo) -> int:
    async with cpo.database.read() as connection:
        return int(await connection.scalar(select(func.count()).select_from(tables.outbox))
                   or 0)


async def test_a_rejected_cdr_is_posted_again_until_accepted_once(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await eventually(lambda: "sessions/NL/CPA/TX1" in emsp.objects)
    emsp.failure = (500, 3000)
    ended = await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=20),
                                                      meter_stop="15000"))
    assert ended.cdr_id == "TX1"
    await eventually(lambda: len(sent_cdrs(emsp)) == 1)
    emsp.failure = (200, 3000)
    await retry_now(cpo)
    await eventually(lambda: len(sent_cdrs(emsp)) == 2)
    emsp.failure = None
    rejected = len(sent_cdrs(emsp))
    await retry_now(cpo)

    async def delivered() -> bool:
        return await pending(cpo) == 0

    await eventually(delivered)
    posts = sent_cdrs(emsp)
    # Rejected with HTTP 500, then with OCPI 3000; then accepted once, and never sent again.
    assert rejected == 2 and len(posts) == 3 and {p.body["id"] for p in posts} == {"TX1"}
    assert posts[0].body == posts[2].body  # the same, immutable record each time
    # Replaying the end changes nothing and sends nothing more.
    again = await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=20),
                                                      meter_stop="15000"))
    assert again == ended and await pending(cpo) == 0 and len(sent_cdrs(emsp)) == 3
    async with cpo.database.read() as connection:
        assert await connection.scalar(select(func.count()).select_from(tables.cdrs)) == 1


async def test_cdr_list_is_the_callers_paginated(
    cpo: Cpo, core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    await site(core)
    theirs = token("B0B0", party=(second_emsp.country_code, second_emsp.party_id))
    for number in range(4):
        name = f"TX{number}"
        await core.transactions.StartTransaction(start(name, token=theirs if number == 3
                                                       else token()))
        await core.transactions.EndTransaction(end(name, at=T0 + timedelta(minutes=5)))
    page = await emsp.call_cpo("GET", cpo.url("cdrs"), params={"limit": "2"})
    assert [c["id"] for c in page.json()["data"]] == ["TX0", "TX1"]
    assert page.headers["x-total-count"] == "3" and 'rel="next"' in page.headers["link"]
    assert [c["id"] for c in await listed(emsp, cpo, "cdrs", offset="2")] == ["TX2"]
    assert [c["id"] for c in await listed(second_emsp, cpo, "cdrs")] == ["TX3"]
    assert await listed(emsp, cpo, "cdrs", date_to="2020-01-01T00:00:00Z") == []
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    assert (await emsp.call_cpo("GET", cpo.url("cdrs"), token_a)).status_code == 401


def long_decimals(value: Any, path: str = "") -> list[str]:
    """Where a JSON number (kept as its text) has more than 4 decimals."""
    if isinstance(value, dict):
        return [p for name, item in value.items() for p in long_decimals(item, f"{path}.{name}")]
    if isinstance(value, list):
        return [p for i, item in enumerate(value) for p in long_decimals(item, f"{path}[{i}]")]
    if isinstance(value, Number) and "." in value and len(value.split(".")[1]) > 4:
        return [f"{path}={value}"]
    return []


class Number(str):
    """A JSON number's text, as sent."""


async def test_numbers_of_sessions_and_cdrs_carry_at_most_4_decimals(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.locations.UpsertLocation(location_request("LOC2", tariff_ids=()))
    # 17 minutes are 0.28333… hours; 1,001 Wh over three readings make thirds of a kW.
    for name, location_id in (("TX1", "LOC1"), ("TX2", "LOC2")):
        await core.transactions.StartTransaction(start(name, location_id=location_id))
        values = [meter_value(T0 + timedelta(minutes=m), 10000 + 1001 * m // 7,
                              watts=12001 + m, amps=18 + 3 * (m % 2)) for m in (1, 2, 4)]
        await core.transactions.ReportMeterValues(pb.ReportMeterValuesRequest(events=[
            meter_event(name, f"{name}:mv", *values)]))
        await core.transactions.EndTransaction(end(name, at=T0 + timedelta(minutes=17),
                                                   meter_stop="11001"))
    for module in ("sessions", "cdrs"):
        reply = await emsp.call_cpo("GET", cpo.url(module))
        listed = json.loads(reply.text, parse_float=Number, parse_int=Number)["data"]
        assert {item["id"] for item in listed} == {"TX1", "TX2"}
        assert long_decimals(listed) == [], module
        assert {item.get("total_time") for item in listed} - {None} <= {"0.2833"}
