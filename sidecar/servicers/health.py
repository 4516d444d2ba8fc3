"""The gRPC health service, following this replica's readiness.

A core (or its load balancer) that checks gRPC health sees NOT_SERVING while the replica
cannot work (the database out of reach, the schema behind, the push worker stopped), the
same verdict /readyz gives, and SERVING again once it can.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from grpc_health.v1 import health, health_pb2

log = logging.getLogger(__name__)

_SERVING = health_pb2.HealthCheckResponse.SERVING
_NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


class Health:
    """The health servicer and the services it answers for ("" is the whole server)."""

    def __init__(self) -> None:
        self.servicer = health.aio.HealthServicer()
        self.services: list[str] = [""]
        # The server starts only after the database answered (serve checks the schema
        # first): SERVING until the first readiness check says otherwise.
        self.serving = True

    async def add(self, service: str) -> None:
        """Answer for one more service, in the current state."""
        self.services.append(service)
        await self.servicer.set(service, _SERVING if self.serving else _NOT_SERVING)

    async def set_serving(self, serving: bool) -> None:
        """Every service SERVING or NOT_SERVING; a change is logged once."""
        if serving != self.serving:
            log.log(logging.INFO if serving else logging.WARNING,
                    "gRPC health: %s", "SERVING" if serving else "NOT_SERVING (not ready)")
        self.serving = serving
        for service in self.services:
            await self.servicer.set(service, _SERVING if serving else _NOT_SERVING)

    async def follow(self, ready: Callable[[], Awaitable[bool]], stop: asyncio.Event,
                     *, interval: float = 1.0) -> None:
        """Ask `ready` every `interval` seconds until `stop`; the status follows its answer
        (an error asking it counts as not ready)."""
        while not stop.is_set():
            try:
                now_ready = await ready()
            except Exception:
                log.debug("readiness check failed", exc_info=True)
                now_ready = False
            if now_ready != self.serving:
                await self.set_serving(now_ready)
            try:
                await asyncio.wait_for(stop.wait(), interval)
            except TimeoutError:
                pass
