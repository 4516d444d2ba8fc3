"""CDRs end to end: POSTed until accepted, exactly once; listed only to their owner."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from sidecar.store import tables
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.gateway.transaction_e2e import Core, core, listed, register, sent_cdrs, site
from tests.servicers.transaction_builders import T0, end, start, token

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
