"""Pushes per second from the outbox to 1 and to 20 eMSPs, per outbound HTTP client.

    .venv/bin/python -m bench.push [--objects 2000] [--emsps 1 20]
    .venv/bin/python -m bench.push --replicas 2 [--emsps 20]

Every partner gets a PUT of each of `objects` locations; the clock runs from waking the
push worker until the outbox is empty. Prints numbers; asserts nothing.

With `--replicas N`, on PostgreSQL (127.0.0.1:5432, a database of its own), with the
aiohttp transport: first one push worker, then N, each in its own process sharing the
outbox; `received` beyond the pushes would be duplicates.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import socket
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import msgspec
from sqlalchemy import func, select

from bench import _emsp
from gateway.client import OCPIClient, outbound_http
from gateway.push import PushWorker
from sidecar.ocpi import codec
from sidecar.store import outbox, tables
from sidecar.store.engine import Database
from sidecar.store.parties import upsert_party
from sidecar.store.partners import REGISTERED, insert_partner
from sidecar.store.schema import upgrade
from sidecar.store.seed import demo_location


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    for sock in sockets:
        sock.bind(("127.0.0.1", 0))
    ports = [sock.getsockname()[1] for sock in sockets]
    for sock in sockets:
        sock.close()
    return ports


def transports() -> dict[str, Callable[[], Any]]:
    """The product's client first; then httpx (its API is the same for what we call), for
    comparison: its own transport, and on aiohttp's when httpx-aiohttp is installed."""
    limits = httpx.Limits(max_connections=400, max_keepalive_connections=200)
    found: dict[str, Callable[[], Any]] = {
        "aiohttp (outbound_http)": lambda: outbound_http(timeout=10),
        "httpx default": lambda: httpx.AsyncClient(timeout=10, limits=limits)}
    try:
        from httpx_aiohttp import AiohttpTransport
        found["httpx + aiohttp transport"] = lambda: httpx.AsyncClient(
            timeout=10, transport=AiohttpTransport())
    except ImportError:
        pass
    return found


async def prepare(url: str, ports: list[int], objects: int) -> Database:
    database = Database(url)
    await upgrade(database)
    template = msgspec.structs.replace(demo_location(), party_id="CPA")
    base = datetime(2026, 1, 1, tzinfo=UTC)
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "Bench CPO"})
        partner_ids = []
        for port in ports:
            endpoints = [{"identifier": "locations", "role": "RECEIVER",
                          "url": f"http://127.0.0.1:{port}/ocpi/2.2.1/locations"}]
            partner_ids.append(await insert_partner(
                connection, status=REGISTERED, versions_url="http://x/versions",
                endpoints=endpoints, roles=[], outbound_token="bench-token"))
        rows = []
        for number in range(objects):
            location = msgspec.structs.replace(template, id=f"LOC{number:05d}",
                                               last_updated=base + timedelta(seconds=number))
            rows.append({"country_code": "NL", "party_id": "CPA", "object_id": location.id,
                         "document": codec.encode(location), "last_updated": location.last_updated,
                         "publish": True, "statuses": {}})
        await connection.execute(tables.locations.insert(), rows)
        for row in rows:
            await outbox.enqueue(connection, partner_ids, "locations", "NL", "CPA",
                                 str(row["object_id"]), outbox.PUT)
    return database


def _worker_process(url: str, stop: Any) -> None:
    """One replica's push worker, in its own process, until `stop` is set."""
    async def work() -> None:
        database = Database(url)
        async with outbound_http(timeout=10) as http:
            worker = PushWorker(database, OCPIClient(http), poll=0.05)
            done = asyncio.Event()
            task = asyncio.create_task(worker.run(done))
            await asyncio.to_thread(stop.wait)
            done.set()
            await task
        await database.dispose()

    run(work())


def drain_replicas(url: str, replicas: int) -> float:
    """Seconds until N worker processes empty the outbox."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    processes = [context.Process(target=_worker_process, args=(url, stop))
                 for _ in range(replicas)]

    async def wait_empty() -> float:
        database = Database(url)
        began = time.perf_counter()
        for process in processes:
            process.start()
        while True:
            async with database.read() as connection:
                left = await connection.scalar(select(func.count()).select_from(tables.outbox))
            if not left:
                break
            await asyncio.sleep(0.02)
        await database.dispose()
        return time.perf_counter() - began

    elapsed = asyncio.run(wait_empty())
    stop.set()
    for process in processes:
        process.join(30)
    return elapsed


def replicas_main(count: int, replicas: int, objects: int) -> None:
    from bench.status_latency import BENCH_PG, fresh_postgres

    context = multiprocessing.get_context("spawn")
    for workers in sorted({1, replicas}):
        ports = free_ports(count)
        ours, theirs = context.Pipe()
        server = context.Process(target=_emsp.run, args=(ports, theirs), daemon=True)
        server.start()
        assert ours.recv() == "ready"
        asyncio.run(fresh_postgres(BENCH_PG))
        database = asyncio.run(prepare(BENCH_PG, ports, objects))
        asyncio.run(database.dispose())
        elapsed = drain_replicas(BENCH_PG, workers)
        ours.send("stop")
        received = len(ours.recv())
        server.join()
        total = objects * count
        print(f"{count:>2} eMSP(s) | PostgreSQL, {workers} replica(s) | {total:>6} pushes in "
              f"{elapsed:6.2f} s (incl. process start) | {total / elapsed:7.0f} pushes/s | "
              f"received {received}", flush=True)


async def drain(database: Database, make_client: Callable[[], Any]) -> float:
    async with make_client() as http:
        worker = PushWorker(database, OCPIClient(http), poll=0.05)
        stop = asyncio.Event()
        started = time.perf_counter()
        task = asyncio.create_task(worker.run(stop))
        while True:
            async with database.read() as connection:
                left = await connection.scalar(select(func.count()).select_from(tables.outbox))
            if not left:
                break
            await asyncio.sleep(0.02)
        elapsed = time.perf_counter() - started
        stop.set()
        await task
    return elapsed


def run(coroutine: Any) -> Any:
    """Run on uvloop when it is installed (as `serve` does), else on asyncio's loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coroutine)
    return uvloop.run(coroutine)


async def client_ceiling(ports: list[int], make_client: Callable[[], Any],
                         count: int = 4000) -> float:
    """The same client with no outbox and no database: PUTs/s it can send at all."""
    body = codec.encode(demo_location())
    headers = {"Authorization": "Token abc", "Content-Type": "application/json",
               "X-Request-ID": "r", "X-Correlation-ID": "c", "OCPI-from-country-code": "NL",
               "OCPI-from-party-id": "CPA", "OCPI-to-country-code": "DE",
               "OCPI-to-party-id": "EMP"}
    limit = asyncio.Semaphore(8 * len(ports))
    async with make_client() as http:
        async def one(number: int) -> None:
            async with limit:
                port = ports[number % len(ports)]
                await http.request(
                    "PUT", f"http://127.0.0.1:{port}/ocpi/2.2.1/locations/NL/CPA/L{number}",
                    content=body, headers=headers)

        started = time.perf_counter()
        await asyncio.gather(*(one(n) for n in range(count)))
        return count / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--emsps", type=int, nargs="+", default=[1, 20])
    parser.add_argument("--replicas", type=int, default=0,
                        help="on PostgreSQL: one push worker, then this many processes")
    arguments = parser.parse_args()
    if arguments.replicas:
        for count in arguments.emsps:
            replicas_main(count, arguments.replicas,
                          max(arguments.objects // count, 200) if count > 1
                          else arguments.objects)
        return
    for count in arguments.emsps:
        objects = max(arguments.objects // count, 200) if count > 1 else arguments.objects
        for name, make_client in transports().items():
            measure(count, objects, name, make_client)


def measure(count: int, objects: int, name: str = "aiohttp (outbound_http)",
            make_client: Callable[[], Any] | None = None) -> tuple[float, float]:
    """(pushes/s from the outbox, PUT/s of the same client alone) to `count` eMSPs, each
    getting `objects` locations; printed as one line."""
    make_client = make_client or transports()[name]
    context = multiprocessing.get_context("spawn")
    ports = free_ports(count)
    ours, theirs = context.Pipe()
    server = context.Process(target=_emsp.run, args=(ports, theirs), daemon=True)
    server.start()
    assert ours.recv() == "ready"
    folder = tempfile.mkdtemp(prefix="bench-push-")
    database = asyncio.run(prepare(f"sqlite+aiosqlite:///{folder}/b.db", ports, objects))
    elapsed = run(drain(database, make_client))
    ceiling = run(client_ceiling(ports, make_client))
    asyncio.run(database.dispose())
    ours.send("stop")
    received = len(ours.recv())
    server.join()
    total = objects * count
    print(f"{count:>2} eMSP(s) | {name:<26} | {total:>6} pushes in {elapsed:6.2f} s | "
          f"{total / elapsed:7.0f} pushes/s | same client, no outbox: "
          f"{ceiling:5.0f} PUT/s | received {received - 4000}", flush=True)
    return total / elapsed, ceiling

if __name__ == "__main__":
    main()
