"""What both simulated charge points share: the websocket, the message loop, the clock."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar, Self

import websockets


class Simulated:
    """Mixed into an `ocpp` library ChargePoint (1.6 or 2.0.1) of a simulator.

    The clock starts at the real time and only moves forward: `charge` moves it on by the
    time the energy takes, and the real time catches up with it."""

    SUBPROTOCOL: ClassVar[str]
    _connection: Any
    _runner: asyncio.Task[None] | None = None
    clock: datetime

    if TYPE_CHECKING:  # given by the ocpp library's ChargePoint, and by the simulator
        async def start(self) -> None: ...

        async def boot(self) -> None: ...

    @classmethod
    @contextlib.asynccontextmanager
    async def connected(cls, url: str, charge_point_id: str, boot: bool = True,
                        **layout: Any) -> AsyncIterator[Self]:
        """Connected, booted and every connector reported Available; closed on exit.
        `layout` goes to the constructor (connectors=, evses=)."""
        connection = await websockets.connect(f"{url.rstrip('/')}/{charge_point_id}",
                                              subprotocols=[cls.SUBPROTOCOL])  # type: ignore[list-item]
        charge_point = cls(charge_point_id, connection, **layout)  # type: ignore[call-arg]
        charge_point._runner = asyncio.create_task(charge_point._run())
        try:
            if boot:
                await charge_point.boot()
            yield charge_point
        finally:
            await charge_point.go_offline()

    async def _run(self) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            await self.start()

    def now(self) -> str:
        self.clock = max(self.clock, datetime.now(UTC))
        return self.clock.isoformat().replace("+00:00", "Z")

    async def go_offline(self) -> None:
        """Close the websocket, as a charge point losing its network does."""
        await self._connection.close()
        if self._runner is not None:
            await asyncio.gather(self._runner, return_exceptions=True)
