"""GET /locations pages against a bare Starlette endpoint serving the same bytes, same server.

    .venv/bin/python -m bench.locations_get [--sizes 1000 100000] [--seconds 3]

Prints requests/s and latency per case; asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import multiprocessing
import os
import tempfile
from datetime import UTC, datetime, timedelta

import msgspec
from starlette.responses import Response
from starlette.routing import Route

from bench._load import Result, load
from gateway.app import create_apps
from gateway.client import OCPIClient, outbound_http
from sidecar.ocpi import codec
from sidecar.settings import Settings
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.parties import upsert_party
from sidecar.store.partners import REGISTERED, insert_partner
from sidecar.store.schema import upgrade
from sidecar.store.secrets import token_hash
from sidecar.store.seed import demo_location

TOKEN = "bench-token"


async def fill(url: str, count: int) -> None:
    """`count` locations (the seeded one, renamed), inserted in batches."""
    database = Database(url)
    await upgrade(database)
    base = datetime(2026, 1, 1, tzinfo=UTC)
    template = msgspec.structs.replace(demo_location(), party_id="CPA")
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "Bench CPO"})
        await insert_partner(connection, status=REGISTERED, versions_url="http://x/versions",
                             endpoints=[], roles=[{"role": "EMSP", "country_code": "DE",
                                                   "party_id": "EMP",
                                                   "business_details": {"name": "x"}}],
                             inbound_token_hash=token_hash(TOKEN))
    for start in range(0, count, 5000):
        rows = []
        for number in range(start, min(count, start + 5000)):
            stamp = base + timedelta(seconds=number)
            location = msgspec.structs.replace(template, id=f"LOC{number:06d}",
                                               last_updated=stamp)
            rows.append({"country_code": "NL", "party_id": "CPA", "object_id": location.id,
                         "document": codec.encode(location), "last_updated": stamp,
                         "publish": True, "statuses": {}})
        async with database.write() as connection:
            await connection.execute(tables.locations.insert(), rows)
    await database.dispose()


def serve(url: str, port: int, bare_body: bytes, ready: multiprocessing.Event) -> None:  # type: ignore[valid-type]
    """Our app plus a bare route returning `bare_body`, on Hypercorn in this process."""
    from hypercorn.asyncio import serve as hypercorn_serve
    from hypercorn.config import Config

    async def bare(_request: object) -> Response:
        return Response(bare_body, media_type="application/json")

    async def main() -> None:
        database = Database(url)
        settings = Settings(http=f"127.0.0.1:{port}", database=url)
        async with outbound_http() as http:
            app = create_apps(settings, database, OCPIClient(http)).ocpi
            app.router.routes.append(Route("/bare", bare))
            config = Config()
            config.bind = [f"127.0.0.1:{port}"]
            config.accesslog = None
            ready.set()  # type: ignore[attr-defined]
            await hypercorn_serve(app, config)  # type: ignore[arg-type]

    asyncio.run(main())


async def first_body(url: str) -> bytes:
    import httpx
    async with httpx.AsyncClient() as client:
        for _ in range(100):
            try:
                return (await client.get(url, headers=auth())).content
            except httpx.HTTPError:
                await asyncio.sleep(0.1)
    raise RuntimeError("server did not answer")


def auth() -> dict[str, str]:
    return {"Authorization": "Token " + base64.b64encode(TOKEN.encode()).decode()}


def run_case(size: int, seconds: float, port: int, limits: tuple[int, ...] = (10, 50)
             ) -> list[tuple[int, str, Result]]:
    """Each case's (stored, name, result), printed as it is measured. Cached cases repeat
    one URL (the read cache answers); uncached ones ask a new query every time."""
    found: list[tuple[int, str, Result]] = []
    folder = tempfile.mkdtemp(prefix="bench-locations-")
    url = f"sqlite+aiosqlite:///{os.path.join(folder, 'bench.db')}"
    asyncio.run(fill(url, size))
    base = f"http://127.0.0.1:{port}/ocpi/cpo/2.2.1/locations"
    for limit in limits:
        probe = multiprocessing.get_context("spawn")
        ready = probe.Event()
        # The bare route must return the very bytes of a real page: fetch one first.
        server = probe.Process(target=serve, args=(url, port, b"", ready), daemon=True)
        server.start()
        ready.wait(30)
        body = asyncio.run(first_body(f"{base}?limit={limit}"))
        server.terminate()
        server.join()
        ready = probe.Event()
        server = probe.Process(target=serve, args=(url, port, body, ready), daemon=True)
        server.start()
        ready.wait(30)
        asyncio.run(first_body(f"{base}?limit={limit}"))
        cases = [("bare endpoint, same bytes", f"http://127.0.0.1:{port}/bare", False, 0),
                 (f"limit={limit} offset=0", f"{base}?limit={limit}", False, 0),
                 (f"limit={limit} offset=0 uncached", f"{base}?limit={limit}", True, 0),
                 (f"limit={limit} sweep from offset 0", f"{base}?limit={limit}", False, limit)]
        if size > 1000:
            deep = size - 1000
            cases += [(f"limit={limit} offset={deep}", f"{base}?limit={limit}&offset={deep}",
                       False, 0),
                      (f"limit={limit} offset={deep} uncached",
                       f"{base}?limit={limit}&offset={deep}", True, 0)]
        for name, target, distinct, sweep in cases:
            result = asyncio.run(load(target, auth(), seconds=seconds, distinct=distinct,
                                      sweep=sweep))
            found.append((size, name, result))
            print(f"{size:>7} stored | {name:<40} | {result.rate:8.0f} req/s | "
                  f"p50 {result.p50_ms:6.2f} ms | p99 {result.p99_ms:6.2f} ms | "
                  f"errors {result.errors}", flush=True)
        server.terminate()
        server.join()
    return found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100000])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--port", type=int, default=18181)
    arguments = parser.parse_args()
    for size in arguments.sizes:
        run_case(size, arguments.seconds, arguments.port)


if __name__ == "__main__":
    main()
