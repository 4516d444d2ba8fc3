"""Group commit: units of work from concurrent callers share one write transaction.

On SQLite every statement and every BEGIN/COMMIT is a round trip to the database thread, so
a burst of events from the core costs a few transactions instead of one each. A unit must
raise its domain errors (sidecar.errors) before it writes anything; such an error fails only
that unit. Any other error rolls the group back, and its units run again one by one, each
in its own transaction, so that one bad unit never fails another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncConnection

from sidecar import metrics
from sidecar.errors import SidecarError
from sidecar.store.engine import Database

T = TypeVar("T")
Unit = Callable[[AsyncConnection], Awaitable[Any]]


class WriteGroups:
    """Runs each unit in a write transaction shared with the units waiting beside it."""

    def __init__(self, database: Database, *, max_units: int = 128,
                 writer: str = "writes") -> None:
        self.database = database
        self.max_units = max_units
        # The ocpi_sidecar_group_commit_size label of the groups committed here.
        self._sizes = metrics.GROUP_COMMIT_SIZE.labels(writer)
        self._waiting: list[tuple[Unit, asyncio.Future[Any]]] = []
        self._draining: asyncio.Task[None] | None = None

    async def run(self, unit: Callable[[AsyncConnection], Awaitable[T]]) -> T:
        """The unit's result once its transaction committed (or its error)."""
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._waiting.append((unit, future))
        if self._draining is None or self._draining.done():
            self._draining = asyncio.create_task(self._drain())
        return await future

    async def _drain(self) -> None:
        while self._waiting:
            group = self._waiting[: self.max_units]
            del self._waiting[: self.max_units]
            try:
                outcomes = await self._together(group)
            except Exception:
                for unit, future in group:
                    await self._alone(unit, future)
                continue
            for (_, future), (ok, value) in zip(group, outcomes, strict=True):
                if future.done():
                    continue
                if ok:
                    future.set_result(value)
                else:
                    future.set_exception(value)

    async def _together(self, group: list[tuple[Unit, asyncio.Future[Any]]]) -> list[Any]:
        outcomes: list[tuple[bool, Any]] = []
        async with self.database.write() as connection:
            for unit, _ in group:
                try:
                    outcomes.append((True, await unit(connection)))
                except SidecarError as error:
                    outcomes.append((False, error))
        self._sizes.observe(len(group))
        return outcomes

    async def _alone(self, unit: Unit, future: asyncio.Future[Any]) -> None:
        try:
            async with self.database.write() as connection:
                value = await unit(connection)
        except Exception as error:
            if not future.done():
                future.set_exception(error)
        else:
            if not future.done():
                future.set_result(value)
