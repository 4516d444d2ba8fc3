"""A bounded HTTP load loop (aiohttp client, in its own process): requests/s and latencies."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import aiohttp


@dataclass(frozen=True)
class Result:
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds


# `distinct` requests differ in a date_to far in the future: the same page, never cached.
_FAR = datetime(2099, 1, 1, tzinfo=UTC)


async def load(url: str, headers: dict[str, str], *, seconds: float = 3.0,
               concurrency: int = 16, distinct: bool = False, sweep: int = 0) -> Result:
    """GET `url` from `concurrency` loops for `seconds`; count answers and their latencies.
    `distinct`: every request asks a query no request asked before (a read cache misses),
    by a date_to of its own; `sweep`: every request asks the next page (offset + `sweep`),
    as a partner's first pass through a table does."""
    latencies: list[float] = []
    errors = 0
    sent = itertools.count()
    joiner = "&" if "?" in url else "?"
    deadline = time.perf_counter() + seconds
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, headers=headers) as session:

        async def worker() -> None:
            nonlocal errors
            while time.perf_counter() < deadline:
                target = url
                if distinct:
                    moment = _FAR + timedelta(seconds=next(sent))
                    target = f"{url}{joiner}date_to={moment:%Y-%m-%dT%H:%M:%SZ}"
                elif sweep:
                    target = f"{url}{joiner}offset={next(sent) * sweep}"
                started = time.perf_counter()
                async with session.get(target) as response:
                    await response.read()
                    if response.status != 200:
                        errors += 1
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    latencies.sort()
    return Result(len(latencies), elapsed, statistics.median(latencies) * 1000,
                  latencies[int(len(latencies) * 0.99) - 1] * 1000, errors)
