"""Answers read from the store, kept until a table they depend on changes.

A table's generation (bumped after each commit that touched it, in this process or, heard
through PostgreSQL's change notes, in another replica) says exactly when an answer is stale.
While changes of other replicas cannot be heard (Database.coherent is false), entries also
expire after `ttl` seconds.
"""

from __future__ import annotations

import sys
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sidecar.store.engine import Database

T = TypeVar("T")

MIB = 1024 * 1024


def weigh(value: Any) -> int:
    """Roughly the bytes `value` holds: what the cache counts against its bound. Exact for
    the bytes of a page (what matters); containers count their items, anything else its own
    size."""
    if isinstance(value, bytes | str):
        return sys.getsizeof(value)
    if isinstance(value, tuple | list | frozenset | set):
        return sys.getsizeof(value) + sum(weigh(item) for item in value)
    if isinstance(value, dict):
        return sys.getsizeof(value) + sum(weigh(k) + weigh(v) for k, v in value.items())
    return sys.getsizeof(value)


class ReadCache:
    """An LRU of computed answers keyed by what was asked and the tables' generations,
    bounded by the bytes it holds (entries count as `weigh` of key and value): a bound in
    entries let a few thousand distinct pages of 100 take half a gigabyte."""

    def __init__(
        self,
        database: Database,
        *,
        max_bytes: int = 64 * MIB,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.max_bytes = max_bytes
        self.ttl = ttl
        self.clock = clock
        # What the entries weigh, kept at most max_bytes.
        self.bytes = 0
        self._entries: OrderedDict[Hashable, tuple[float, Any, int]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._entries)

    async def get(
        self, key: Hashable, tables: tuple[str, ...], compute: Callable[[], Awaitable[T]]
    ) -> T:
        """The cached answer for `key`, or `compute()` stored under the current generations."""
        if self.max_bytes <= 0:
            return await compute()
        full_key = (key, self.database.generation(*tables))
        found = self._entries.get(full_key)
        now = self.clock()
        if found is not None and found[0] > now:
            self._entries.move_to_end(full_key)
            value: T = found[1]
            return value
        value = await compute()
        weight = weigh(full_key) + weigh(value)
        if weight > self.max_bytes:
            return value
        ttl = self.database.cache_ttl(self.ttl)
        expires = now + ttl if ttl is not None else float("inf")
        replaced = self._entries.pop(full_key, None)
        if replaced is not None:
            self.bytes -= replaced[2]
        self._entries[full_key] = (expires, value, weight)
        self.bytes += weight
        while self.bytes > self.max_bytes:
            _, (_, _, dropped) = self._entries.popitem(last=False)
            self.bytes -= dropped
        return value
