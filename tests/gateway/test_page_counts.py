"""X-Total-Count is counted once per filter and table generation, not on every page: a
partner's first sweep through a large table pays one COUNT, whatever the number of pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import msgspec
import pytest
from sqlalchemy import event

from sidecar.domain import locations as domain_locations
from sidecar.store.engine import Database
from sidecar.store.seed import demo_location
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.test_locations_sender import add_locations, registered

pytestmark = pytest.mark.anyio


@contextmanager
def counts(database: Database) -> Iterator[list[str]]:
    """The COUNT statements run on the database while the block runs."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "count(*)" in statement.lower():
            seen.append(statement)

    engines = {database.writer.sync_engine, database.reader.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", note)


async def _sweep(cpo: Cpo, emsp: FakeEmsp, query: str) -> tuple[list[str], set[str]]:
    """Every page of a list, following Link: the ids seen and the X-Total-Counts."""
    url = f"{cpo.url('locations')}?{query}"
    ids: list[str] = []
    totals: set[str] = set()
    while url:
        reply = await emsp.call_cpo("GET", url)
        assert reply.status_code == 200, reply.text
        ids += [item["id"] for item in reply.json()["data"]]
        totals.add(reply.headers["x-total-count"])
        link = reply.headers.get("link")
        url = link[1:link.index(">")] if link else ""
    return ids, totals


async def test_a_sweep_counts_once_and_a_change_counts_again(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    await add_locations(cpo, 7)
    wanted = ["LOC1", "LOC2", "LOC3", "LOC4", "LOC5", "LOC6"]
    with counts(cpo.database) as seen:
        assert await _sweep(cpo, emsp, "limit=2&date_from=2026-03-02T00:00:00Z") == (
            wanted, {"6"})
    assert len(seen) == 1  # three pages, one count
    with counts(cpo.database) as seen:
        # The same filter in pages of another size: every page new, the count known.
        assert await _sweep(cpo, emsp, "limit=4&date_from=2026-03-02T00:00:00Z") == (
            wanted, {"6"})
        # Another filter is another count.
        assert await _sweep(cpo, emsp, "limit=4&date_from=2026-03-06T00:00:00Z") == (
            ["LOC5", "LOC6"], {"2"})
    assert len(seen) == 1

    # A change of the table: counted again, and the new object is in it.
    async with cpo.database.write() as connection:
        await domain_locations.put_location(connection, msgspec.structs.replace(
            demo_location(), country_code="NL", party_id="CPA", id="LOC-NEW"))
    with counts(cpo.database) as seen:
        ids, totals = await _sweep(cpo, emsp, "limit=3&date_from=2026-03-02T00:00:00Z")
    assert ids == [*wanted, "LOC-NEW"] and totals == {"7"}
    assert len(seen) == 1
