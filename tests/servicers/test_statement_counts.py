"""What one core event costs in SQL: statements counted on the engines, over a real server.

The counts are the design's budget (an unchanged upsert reads what it must and writes
nothing; a start inserts its session once); they are printed so a change shows in the log.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from ocpi_sidecar.v1 import transactions_pb2_grpc
from sqlalchemy import event

from sidecar.store.engine import Database
from tests.servicers.test_transactions import register
from tests.servicers.transaction_builders import location_request, start, tariff_request

pytestmark = [pytest.mark.anyio, pytest.mark.usefixtures("cpo_parties")]


@contextmanager
def counting(database: Database) -> Iterator[Counter[str]]:
    """Statements run on the database while the block runs, by their first word."""
    seen: Counter[str] = Counter()

    def count(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        seen[statement.split(None, 1)[0].upper()] += 1

    engines = {database.writer.sync_engine, database.reader.sync_engine}
    for engine in engines:
        event.listen(engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        for engine in engines:
            event.remove(engine, "before_cursor_execute", count)


async def test_unchanged_upsert_location_only_reads(
    database: Database, location_stub: Any, tariff_stub: Any
) -> None:
    await tariff_stub.UpsertTariff(tariff_request())
    await location_stub.UpsertLocation(location_request())
    with counting(database) as seen:
        await location_stub.UpsertLocation(location_request())
    print("unchanged UpsertLocation:", dict(seen))
    assert set(seen) <= {"BEGIN", "SELECT"}


async def test_start_transaction_inserts_its_session_once(
    database: Database, grpc_channel: Any, location_stub: Any, tariff_stub: Any
) -> None:
    await register(database)
    await tariff_stub.UpsertTariff(tariff_request())
    await location_stub.UpsertLocation(location_request())
    stub = transactions_pb2_grpc.TransactionServiceStub(grpc_channel)
    with counting(database) as seen:
        await stub.StartTransaction(start())
    print("StartTransaction:", dict(seen))
    assert seen["INSERT"] >= 1
