"""Answers read from the store, kept until a table they depend on changes.

A table's generation (bumped after each commit that touched it, in this process or, heard
through PostgreSQL's change notes, in another replica) says exactly when an answer is stale.
While changes of other replicas cannot be heard (Database.coherent is false), entries also
expire after `ttl` seconds.
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any, TypeVar

from sidecar.store.engine import Database

T = TypeVar("T")


class ReadCache:
    """A bounded LRU of computed answers keyed by what was asked and the tables' generations."""

    def __init__(
        self,
        database: Database,
        *,
        size: int = 4096,
        ttl: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.database = database
        self.size = size
        self.ttl = ttl
        self.clock = clock
        self._entries: OrderedDict[Hashable, tuple[float, Any]] = OrderedDict()

    async def get(
        self, key: Hashable, tables: tuple[str, ...], compute: Callable[[], Awaitable[T]]
    ) -> T:
        """The cached answer for `key`, or `compute()` stored under the current generations."""
        if self.size <= 0:
            return await compute()
        full_key = (key, self.database.generation(*tables))
        found = self._entries.get(full_key)
        now = self.clock()
        if found is not None and found[0] > now:
            self._entries.move_to_end(full_key)
            value: T = found[1]
            return value
        value = await compute()
        ttl = self.database.cache_ttl(self.ttl)
        expires = now + ttl if ttl is not None else float("inf")
        self._entries[full_key] = (expires, value)
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
        return value
