"""EVSE status change over gRPC until the eMSP has the PATCH: p50 and p99 at a steady rate.

    .venv/bin/python -m bench.status_latency [--rate 200] [--seconds 10] [--refusing]
    .venv/bin/python -m bench.status_latency --emsps 20
    .venv/bin/python -m bench.status_latency --replicas 2

Three processes: the real `ocpi-sidecar serve` (SQLite), a fake eMSP that stamps each
request on arrival, and this one playing the core. Prints numbers; asserts nothing.

With `--replicas N` the runs are on PostgreSQL (127.0.0.1:5432, a database of its own):
first one `serve`, then N, the core's calls spread over them in turn; it also prints the
PATCHes per second the eMSP received.

With `--emsps N` every change goes to N eMSPs (N partners with a Receiver each, served by the
one fake process on paths of their own): call -> PATCH is measured at every eMSP, and the
`serve` process's CPU time per change and per push is printed.

With `--refusing` it runs twice and prints both rows: as above, then with a second location
that the eMSP refuses (HTTP 400, OCPI 2001) taking every tenth status change; the latency
is of the accepted location's changes.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2, locations_pb2, locations_pb2_grpc

from bench import _emsp
from bench.push import free_ports
from sidecar.store.engine import Database
from sidecar.store.parties import upsert_party
from sidecar.store.partners import REGISTERED, insert_partner
from sidecar.store.schema import upgrade

EVSES = 20


BENCH_PG = "postgresql://postgres@127.0.0.1:5432/ocpi_sidecar_bench"


async def fresh_postgres(url: str) -> None:
    """Drop and create the bench's own PostgreSQL database."""
    from sqlalchemy import text
    from sqlalchemy.engine import make_url
    from sqlalchemy.ext.asyncio import create_async_engine

    parsed = make_url(url)
    admin = create_async_engine(parsed.set(drivername="postgresql+asyncpg",
                                           database="postgres"), isolation_level="AUTOCOMMIT")
    async with admin.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{parsed.database}" '
                                      "WITH (FORCE)"))
        await connection.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    await admin.dispose()


async def prepare(url: str, emsp_port: int, emsps: int = 1) -> None:
    """The database with our party and `emsps` partners; partner n's Receiver is at
    /ocpi/2.2.1/e<n>/locations of the fake eMSP."""
    if url.startswith("postgresql"):
        await fresh_postgres(url)
    database = Database(url)
    await upgrade(database)
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "Bench CPO"})
        for number in range(emsps):
            await insert_partner(
                connection, status=REGISTERED, versions_url="http://x/versions",
                endpoints=[{"identifier": "locations", "role": "RECEIVER",
                            "url": f"http://127.0.0.1:{emsp_port}/ocpi/2.2.1/e{number}/"
                                   "locations"}],
                roles=[{"role": "EMSP", "country_code": "DE", "party_id": f"E{number:02d}",
                        "business_details": {"name": f"Fake {number}"}}],
                outbound_token=f"bench-token-{number}")
    await database.dispose()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def location(location_id: str = "LOC1", evses: int = EVSES) -> locations_pb2.Location:
    connector = locations_pb2.Connector(
        id="1", standard=locations_pb2.CONNECTOR_TYPE_IEC_62196_T2,
        format=locations_pb2.CONNECTOR_FORMAT_SOCKET,
        power_type=locations_pb2.POWER_TYPE_AC_3_PHASE,
        max_voltage=230, max_amperage=32)
    return locations_pb2.Location(
        id=location_id, party=common_pb2.PartyRef(country_code="NL", party_id="CPA"),
        publish=True,
        address="Oudegracht 1", city="Utrecht", country="NLD",
        coordinates=common_pb2.GeoLocation(latitude="52.09074", longitude="5.12142"),
        time_zone="Europe/Amsterdam",
        evses=[locations_pb2.Evse(uid=f"EVSE{n}", connectors=[connector])
               for n in range(evses)])


async def drive(
    grpc_addresses: list[str], rate: float, seconds: float, refusing: bool = False,
    failed: list[str] | None = None,
) -> tuple[list[tuple[float, str, str]], list[float]]:
    """Send status changes at `rate`/s, spread over the replicas in turn; (sent at, evse
    uid, OCPI status) of LOC1's changes and ack times (ms). `refusing`: every tenth change
    goes to the refused location. Calls that fail add their status code to `failed`."""
    sent: list[tuple[float, str, str]] = []
    acks: list[float] = []
    failures = failed if failed is not None else []

    async def call(stub: Any, request: Any) -> None:
        started = time.perf_counter()
        try:
            await stub.SetEvseStatus(request)
        except grpc.aio.AioRpcError as error:
            failures.append(error.code().name)
            return
        acks.append((time.perf_counter() - started) * 1000)

    channels = [grpc.aio.insecure_channel(address) for address in grpc_addresses]
    try:
        stubs = [locations_pb2_grpc.LocationServiceStub(channel) for channel in channels]
        stub = stubs[0]
        await stub.UpsertLocation(locations_pb2.UpsertLocationRequest(
            idempotency_key="setup", location=location()))
        if refusing:
            await stub.UpsertLocation(locations_pb2.UpsertLocationRequest(
                idempotency_key="setup-refused", location=location("REFUSED", 1)))
        await asyncio.sleep(1.0)
        statuses = [("OCPP16_CHARGE_POINT_STATUS_CHARGING", "CHARGING"),
                    ("OCPP16_CHARGE_POINT_STATUS_AVAILABLE", "AVAILABLE")]
        start = time.perf_counter()
        pending = []
        for number in range(int(rate * seconds)):
            target = start + number / rate
            delay = target - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            uid = f"EVSE{number % EVSES}"
            name, ocpi = statuses[(number // EVSES) % 2]
            stamp = Timestamp()
            stamp.FromDatetime(datetime.now(UTC))
            to_refused = refusing and number % 10 == 0
            request = locations_pb2.SetEvseStatusRequest(
                idempotency_key=f"s{number}", location_id="REFUSED" if to_refused else "LOC1",
                evse_uid="EVSE0" if to_refused else uid, timestamp=stamp,
                ocpp16_status=getattr(locations_pb2, name))
            if not to_refused:
                sent.append((time.time(), uid, ocpi))
            pending.append(asyncio.ensure_future(call(stubs[number % len(stubs)], request)))
        await asyncio.gather(*pending)
        await asyncio.sleep(2.0)
    finally:
        for channel in channels:
            await channel.close()
    return sent, acks


def measure(rate: float, seconds: float, refusing: bool, replicas: int = 0,
            emsps: int = 1) -> dict[str, float]:
    """One run; `replicas` 0: one `serve` on SQLite, else that many on PostgreSQL. Prints
    the numbers and returns them by name."""
    count = max(1, replicas)
    emsp_port, *ports = free_ports(1 + 2 * count)
    folder = tempfile.mkdtemp(prefix="bench-status-")
    url = (BENCH_PG if replicas else
           f"sqlite+aiosqlite:///{os.path.join(folder, 'bench.db')}")
    asyncio.run(prepare(url, emsp_port, emsps))
    context = multiprocessing.get_context("spawn")
    ours, theirs = context.Pipe()
    refuse = b"/REFUSED" if refusing else None
    fake = context.Process(target=_emsp.run, args=([emsp_port], theirs, refuse), daemon=True)
    fake.start()
    assert ours.recv() == "ready"
    servers = [subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--database", url,
         "--http", f"127.0.0.1:{ports[2 * n]}", "--grpc", f"127.0.0.1:{ports[2 * n + 1]}",
         "--admin-key", "bench"], cwd=folder, stderr=subprocess.DEVNULL) for n in range(count)]
    failed: list[str] = []
    try:
        time.sleep(3)
        cpu_before = sum(cpu_seconds(server.pid) for server in servers)
        sent, acks = asyncio.run(drive([f"127.0.0.1:{ports[2 * n + 1]}" for n in range(count)],
                                       rate, seconds, refusing, failed))
        cpu = sum(cpu_seconds(server.pid) for server in servers) - cpu_before
    finally:
        for server in servers:
            server.terminate()
        for server in servers:
            server.wait(20)
        ours.send("stop")
        log = ours.recv()
        fake.join()
    # (eMSP, EVSE uid, status) -> arrival times of such PATCHes.
    arrivals: dict[tuple[str, str, str], list[float]] = {}
    refusals = 0
    for at, line in log:
        if not line.startswith(b"PATCH") and not line.startswith(b"PUT"):
            continue
        if b"/REFUSED" in line:
            refusals += 1
            continue
        if not line.startswith(b"PATCH"):
            continue
        path = line.split(b" ")[1].decode()
        partner = path.split("/")[3]
        uid = path.rsplit("/", 1)[-1]
        status = json.loads(line.split(b" ", 3)[3])["status"]
        arrivals.setdefault((partner, uid, status), []).append(at)
    for times in arrivals.values():
        times.sort()
    latencies = []
    missing = 0
    for at, uid, status in sent:
        for number in range(emsps):
            times = arrivals.get((f"e{number}", uid, status), [])
            later = bisect.bisect_left(times, at)
            if later < len(times):
                latencies.append((times[later] - at) * 1000)
            else:
                missing += 1
    latencies.sort()
    label = (f"with a refused location taking every 10th change ({refusals} refused requests)"
             if refusing else "all accepted")
    where = (f"PostgreSQL, {count} serve process(es), calls spread over them" if replicas
             else "SQLite, serve in its own process")
    patches = [at for at, line in log if line.startswith(b"PATCH")]
    span = (max(patches) - min(patches)) if len(patches) > 1 else 0.0
    acks.sort()
    numbers = {
        "patch_p50": statistics.median(latencies) if latencies else float("nan"),
        "patch_p99": latencies[int(len(latencies) * 0.99) - 1] if latencies else float("nan"),
        "patch_max": latencies[-1] if latencies else float("nan"),
        "ack_p50": statistics.median(acks) if acks else float("nan"),
        "ack_p99": acks[int(len(acks) * 0.99) - 1] if acks else float("nan"),
        "failed": len(failed), "missing": missing,
        "pushes_per_s": len(patches) / span if span else 0.0,
        "cpu_ms_per_change": cpu * 1000 / max(1, len(sent)),
        "cpu_ms_per_push": cpu * 1000 / max(1, len(patches)),
    }
    print(f"{label}: {len(sent)} status changes at {rate:.0f}/s over {EVSES} EVSEs to "
          f"{emsps} eMSP(s) ({where}): gRPC call -> PATCH at each eMSP "
          f"p50 {numbers['patch_p50']:.1f} ms, p99 {numbers['patch_p99']:.1f} ms, "
          f"max {numbers['patch_max']:.1f} ms; changes not seen as their own PATCH: {missing}; "
          f"{numbers['pushes_per_s']:.0f} PATCHes/s received")
    print(f"  of which the gRPC call until acknowledged (committed): "
          f"p50 {numbers['ack_p50']:.1f} ms, p99 {numbers['ack_p99']:.1f} ms; failed calls: "
          f"{len(failed)} {sorted(set(failed)) if failed else ''}")
    print(f"  serve CPU: {numbers['cpu_ms_per_change']:.2f} ms per change, "
          f"{numbers['cpu_ms_per_push']:.3f} ms per push")
    return numbers


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rate", type=float, default=200)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--refusing", action="store_true",
                        help="also run with one location the eMSP refuses")
    parser.add_argument("--replicas", type=int, default=0,
                        help="on PostgreSQL: one serve, then this many")
    parser.add_argument("--emsps", type=int, default=1,
                        help="every change goes to this many eMSPs")
    arguments = parser.parse_args()
    if arguments.replicas:
        measure(arguments.rate, arguments.seconds, refusing=False, replicas=1)
        measure(arguments.rate, arguments.seconds, refusing=False,
                replicas=arguments.replicas)
        return
    measure(arguments.rate, arguments.seconds, refusing=False, emsps=arguments.emsps)
    if arguments.refusing:
        measure(arguments.rate, arguments.seconds, refusing=True)


if __name__ == "__main__":
    main()
