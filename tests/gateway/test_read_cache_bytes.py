"""The read cache holds at most its bound in bytes, whatever is asked, and keeps what is used."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest

from gateway.cache import ReadCache, weigh
from sidecar.store.engine import Database

pytestmark = pytest.mark.anyio

PAGE = 20_000  # bytes of one page of a hundred locations, roughly


class Computed:
    """Pages of PAGE bytes, counting how often one was computed."""

    def __init__(self) -> None:
        self.calls = 0

    def page(self, number: int) -> Callable[[], Awaitable[tuple[bytes, dict[str, str]]]]:
        async def compute() -> tuple[bytes, dict[str, str]]:
            self.calls += 1
            return b"%06d" % number + b"x" * PAGE, {"X-Total-Count": "100000"}
        return compute


async def test_distinct_pages_never_hold_more_than_the_bound(database: Database) -> None:
    cache = ReadCache(database, max_bytes=1_000_000, ttl=3600)
    computed = Computed()
    for number in range(500):  # 10 MB of distinct pages
        page = await cache.get(("list", number), ("locations",), computed.page(number))
        assert page[0].startswith(b"%06d" % number)
        assert cache.bytes <= cache.max_bytes
    assert computed.calls == 500
    # Nearly full: entries are dropped one by one, oldest first, not all at once.
    one = weigh((("list", 0), database.generation("locations"))) + weigh(
        (b"x" * (PAGE + 6), {"X-Total-Count": "100000"}))
    assert cache.max_bytes - one < cache.bytes
    assert len(cache) == cache.max_bytes // one


async def test_the_most_recently_used_page_stays(database: Database) -> None:
    cache = ReadCache(database, max_bytes=200_000, ttl=3600)
    computed = Computed()
    await cache.get(("list", "hot"), ("locations",), computed.page(0))
    for number in range(1, 100):
        await cache.get(("list", number), ("locations",), computed.page(number))
        await cache.get(("list", "hot"), ("locations",), computed.page(0))
    assert computed.calls == 100  # the hot page once, each other page once


async def test_an_answer_larger_than_the_bound_is_served_and_not_kept(database: Database) -> None:
    cache = ReadCache(database, max_bytes=10_000, ttl=3600)
    computed = Computed()
    for _ in range(2):
        await cache.get(("list", 1), ("locations",), computed.page(1))
    assert computed.calls == 2 and cache.bytes == 0 and len(cache) == 0


async def test_zero_turns_the_cache_off(database: Database) -> None:
    cache = ReadCache(database, max_bytes=0)
    computed = Computed()
    for _ in range(2):
        await cache.get(("list", 1), ("locations",), computed.page(1))
    assert computed.calls == 2
