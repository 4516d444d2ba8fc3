"""Meter values per second, durably stored: StreamMeterValues and ReportMeterValues of the
sidecar beside a bare grpc.aio server (a servicer that only counts) fed the same messages.

    .venv/bin/python -m bench.meter_values [--events 40000] [--streams 4] [--per-message 1]
        [--unary-events 8000] [--concurrency 64] [--transactions 200] [--clients 1]
        [--database URL]

The client runs in its own process; both servers run in this one, on one SQLite file (WAL)
unless --database names another. Each event is one OCPP MeterValues.req of a running
transaction: energy register, power, current on three phases and SoC, 30 s of meter time
after the previous one, so that a charging period closes (and the session is priced) every
10th event of a transaction. Prints events/s; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import tempfile
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
from ocpi_sidecar.v1 import locations_pb2_grpc, tariffs_pb2_grpc, transactions_pb2_grpc
from ocpi_sidecar.v1 import transactions_pb2 as pb
from sqlalchemy import func, select

from sidecar.servicers.server import create_server
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.parties import upsert_party
from sidecar.store.partners import REGISTERED, insert_partner
from sidecar.store.schema import upgrade
from tests.servicers.transaction_builders import (
    location_request,
    meter_event,
    meter_value,
    start,
    tariff_request,
)

T0 = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)
STREAM_CLOSE_EVERY = 1000  # events per stream before it is closed and the next one opened


class Counting(transactions_pb2_grpc.TransactionServiceServicer):
    """The bare server: accepts the same messages and only counts the events."""

    async def StreamMeterValues(self, request_iterator: Any, context: Any
                                ) -> pb.StreamMeterValuesResponse:
        count = 0
        async for message in request_iterator:
            count += len(message.events)
        return pb.StreamMeterValuesResponse(stored_event_count=count)

    async def ReportMeterValues(self, request: Any, context: Any) -> pb.ReportMeterValuesResponse:
        return pb.ReportMeterValuesResponse(stored_event_count=len(request.events))


def events(prefix: str, count: int, transactions: range, first_step: int = 1
           ) -> Iterator[pb.MeterValuesEvent]:
    """`count` events round-robin over the transactions, each 30 s after that one's last."""
    for n in range(count):
        number = transactions[n % len(transactions)]
        step = first_step + n // len(transactions)
        at = T0 + timedelta(seconds=30 * step)
        yield meter_event(f"TX{number:05d}", f"{prefix}:{number}:{step}", meter_value(
            at, 10000 + 90 * step, watts=11000 + step % 7, amps=48, soc=min(100, 20 + step // 4)))


def shards(options: dict[str, Any], lanes: int, count: int, prefix: str,
           first_step: int) -> list[list[pb.MeterValuesEvent]]:
    """The events of each lane (stream or caller): its own transactions, in time order,
    as a core sends the messages of its charge points."""
    transactions = options["transactions"]
    return [list(events(prefix, count // lanes, range(lane, transactions, lanes), first_step))
            for lane in range(lanes)]


# --- the client (its own process) ---


async def _stream_phase(port: int, lanes: list[list[list[pb.StreamMeterValuesRequest]]]
                        ) -> tuple[float, int, int]:
    """One stream at a time per lane, each closed after STREAM_CLOSE_EVERY events."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = transactions_pb2_grpc.TransactionServiceStub(channel)
        stored = rejected = 0

        async def sender(chunks: list[list[pb.StreamMeterValuesRequest]]) -> None:
            nonlocal stored, rejected
            for chunk in chunks:

                async def messages(items: list[Any] = chunk) -> AsyncIterator[Any]:
                    for item in items:
                        yield item

                response = await stub.StreamMeterValues(messages())
                stored, rejected = (stored + response.stored_event_count,
                                    rejected + len(response.rejected_events))

        began = time.perf_counter()
        await asyncio.gather(*(sender(chunks) for chunks in lanes))
        return time.perf_counter() - began, stored, rejected


async def _unary_phase(port: int, lanes: list[list[pb.ReportMeterValuesRequest]]
                       ) -> tuple[float, int, int]:
    """One caller per lane, one call at a time."""
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        stub = transactions_pb2_grpc.TransactionServiceStub(channel)
        stored = failed = 0

        async def caller(requests: list[pb.ReportMeterValuesRequest]) -> None:
            nonlocal stored, failed
            for request in requests:
                try:
                    response = await stub.ReportMeterValues(request)
                except grpc.aio.AioRpcError:
                    failed += 1
                else:
                    stored += response.stored_event_count

        began = time.perf_counter()
        await asyncio.gather(*(caller(requests) for requests in lanes))
        return time.perf_counter() - began, stored, failed


def client(kind: str, port: int, prefix: str, options: dict[str, Any], part: int,
           queues: tuple[Any, Any], go: Any) -> None:
    """Build this process's share of the messages, wait for the start, send them."""
    parts = options["clients"]
    ready, results = queues
    if kind == "stream":
        per, streams = options["per_message"], options["streams"]
        lanes = []
        for lane in shards(options, streams, options["events"], prefix, 1)[part::parts]:
            messages = [pb.StreamMeterValuesRequest(events=lane[i:i + per])
                        for i in range(0, len(lane), per)]
            size = max(1, STREAM_CLOSE_EVERY // per)
            lanes.append([messages[i:i + size] for i in range(0, len(messages), size)])
        ready.put(part)
        go.wait()
        outcome = run(_stream_phase(port, lanes))
    else:
        # The unary phase continues each transaction's meter time after the stream phase.
        first_step = options["events"] // options["transactions"] + 1
        lanes_u = [[pb.ReportMeterValuesRequest(events=[e]) for e in lane]
                   for lane in shards(options, options["concurrency"], options["unary_events"],
                                      prefix, first_step)[part::parts]]
        ready.put(part)
        go.wait()
        outcome = run(_unary_phase(port, lanes_u))
    results.put(outcome)


async def run_client(kind: str, port: int, prefix: str, options: dict[str, Any]
                     ) -> tuple[float, int, int]:
    """Run the client processes together; seconds from their start until the last is done."""
    context = multiprocessing.get_context("spawn")
    queues = (context.Queue(), context.Queue())
    go = context.Event()
    processes = [context.Process(target=client,
                                 args=(kind, port, prefix, options, part, queues, go))
                 for part in range(options["clients"])]
    for process in processes:
        process.start()
    for _ in processes:
        await asyncio.to_thread(queues[0].get)
    began = time.perf_counter()
    go.set()
    outcomes = [await asyncio.to_thread(queues[1].get) for _ in processes]
    seconds = time.perf_counter() - began
    for process in processes:
        await asyncio.to_thread(process.join)
    return seconds, sum(o[1] for o in outcomes), sum(o[2] for o in outcomes)


# --- the servers (this process) ---


async def prepare(database: Database, port: int, transactions: int) -> None:
    """Our party, one registered eMSP (so every change is queued), a site, the transactions."""
    await upgrade(database)
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "Bench CPO"})
        await insert_partner(connection, status=REGISTERED, versions_url="http://x/versions",
                             endpoints=[], roles=[{"role": "EMSP", "country_code": "DE",
                                                   "party_id": "EMP",
                                                   "business_details": {"name": "x"}}])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
        await tariffs_pb2_grpc.TariffServiceStub(channel).UpsertTariff(tariff_request())
        await locations_pb2_grpc.LocationServiceStub(channel).UpsertLocation(location_request())
        stub = transactions_pb2_grpc.TransactionServiceStub(channel)
        for number in range(transactions):
            await stub.StartTransaction(start(f"TX{number:05d}", at=T0))


async def stored_rows(database: Database) -> int:
    async with database.read() as connection:
        return int(await connection.scalar(
            select(func.count()).select_from(tables.meter_values)) or 0)


def line(name: str, seconds: float, count: int, extra: str = "") -> float:
    rate = count / seconds if seconds else 0.0
    print(f"  {name:<28} {count:>7} events in {seconds:6.2f} s = {rate:>9,.0f} events/s {extra}")
    return rate


async def main(options: dict[str, Any]) -> dict[str, float]:
    """Prints each phase; returns the rates (events/s) and the WAL's largest size (MB)."""
    folder = tempfile.mkdtemp(prefix="bench-meter-")
    url = options["database"] or f"sqlite+aiosqlite:///{Path(folder) / 'sidecar.db'}"
    database = Database(url)
    # As `serve` runs it: the writer never checkpoints inside a commit, a reader thread does.
    database.serving()
    stop = asyncio.Event()
    checkpoints = asyncio.create_task(database.checkpoint_wal(stop))
    wakeup = Wakeup()
    ours, our_port = await create_server("127.0.0.1:0", database, wakeup)
    bare_services = [(transactions_pb2_grpc.add_TransactionServiceServicer_to_server,
                      Counting(), "ocpi_sidecar.v1.TransactionService")]
    bare, bare_port = await create_server("127.0.0.1:0", database, wakeup,
                                          services=bare_services)
    await ours.start()
    await bare.start()
    try:
        await prepare(database, our_port, options["transactions"])
        print(f"database {database.url}; {options['transactions']} transactions running; "
              f"{options['per_message']} event(s) per stream message, streams of "
              f"{STREAM_CLOSE_EVERY} events, {options['streams']} at a time; "
              f"{options['clients']} client process(es); {os.cpu_count()} CPUs")
        print("StreamMeterValues")
        rates: dict[str, float] = {}
        _WAL_SEEN[0] = 0
        wal = asyncio.create_task(_largest_wal(database, stop))
        seconds, count, _ = await run_client("stream", bare_port, "bare-s", options)
        rates["stream_bare"] = line("bare grpc.aio (counts only)", seconds, count)
        seconds, count, rejected = await run_client("stream", our_port, "ours-s", options)
        rates["stream"] = line("sidecar (committed)", seconds, count,
                               f"({rate_share(seconds, count, rates['stream_bare'])} of bare;"
                               f" rejected {rejected})")
        print(f"ReportMeterValues, 1 event per call, {options['concurrency']} callers")
        seconds, count, _ = await run_client("unary", bare_port, "bare-u", options)
        rates["unary_bare"] = line("bare grpc.aio (counts only)", seconds, count)
        seconds, count, failed = await run_client("unary", our_port, "ours-u", options)
        rates["unary"] = line("sidecar (committed)", seconds, count,
                              f"({rate_share(seconds, count, rates['unary_bare'])} of bare;"
                              f" failed {failed})")
        print(f"meter values stored: {await stored_rows(database)}")
        wal.cancel()
        rates["wal_mb"] = _WAL_SEEN[0] / 1e6
        print(f"largest WAL seen: {rates['wal_mb']:.1f} MB")
        return rates
    finally:
        stop.set()
        await checkpoints
        await ours.stop(grace=None)
        await bare.stop(grace=None)
        await database.dispose()


_WAL_SEEN = [0]


async def _largest_wal(database: Database, stop: asyncio.Event) -> None:
    """The largest size of the SQLite WAL file, sampled every 50 ms (0 on PostgreSQL)."""
    if not database.is_sqlite:
        return
    path = database.url.split("///", 1)[1] + "-wal"
    while not stop.is_set():
        # A stat is microseconds; not worth a thread in a benchmark's sampler.
        with contextlib.suppress(FileNotFoundError):
            _WAL_SEEN[0] = max(_WAL_SEEN[0], os.stat(path).st_size)
        await asyncio.sleep(0.05)


def rate_share(seconds: float, count: int, bare_rate: float) -> str:
    return f"{(count / seconds) / bare_rate:.0%}" if seconds and bare_rate else "n/a"


def arguments() -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=40_000)
    parser.add_argument("--streams", type=int, default=4)
    parser.add_argument("--per-message", type=int, default=1)
    parser.add_argument("--unary-events", type=int, default=8_000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--transactions", type=int, default=200)
    parser.add_argument("--clients", type=int, default=1, help="client processes")
    parser.add_argument("--database", default="")
    return vars(parser.parse_args())


def run(coroutine: Any) -> Any:
    """On uvloop when it is installed (as `serve` runs), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


if __name__ == "__main__":
    run(main(arguments()))
