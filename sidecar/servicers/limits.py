"""InFlightLimit: a bounded number of core calls in progress; past it, RESOURCE_EXHAUSTED now.

Without a bound, a core sending faster than the sidecar can commit piles up calls: each
waits longer, acknowledgements come seconds late, and grpc.aio ends some of them CANCELLED
(no answer at all, so the core cannot tell whether the write happened). Refusing at once
is an answer the core can act on: nothing was done, retry the same request (with the same
idempotency key) after the hinted delay. Server streams (WatchCommands, health watches)
stay open for as long as the core likes and do not count; calls to gRPC's own services
(health, reflection) are never refused, so that probes still see the process under load.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

import grpc
from grpc.aio import ServicerContext

from sidecar import metrics
from sidecar.servicers.handlers import HandlerInterceptor

# What the core is told to wait before retrying, in milliseconds (trailing metadata).
RETRY_AFTER_MS = 100
RETRY_AFTER_KEY = "retry-after-ms"
_COUNTED = ("unary_unary", "stream_unary")


class InFlightLimit(HandlerInterceptor):
    """Refuses a unary or client-streaming call while `limit` of them are in progress."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.calls = 0
        metrics.GRPC_IN_FLIGHT.set_function(lambda: self.calls)

    def replace(self, handler: Any, behavior: Callable[..., Any], method: str,
                kind: str) -> dict[str, Any]:
        if kind not in _COUNTED or method.startswith("/grpc.") or self.limit <= 0:
            return {}
        if not inspect.iscoroutinefunction(behavior):
            return {}  # synchronous handlers are not ours (grpc runs them in a thread)

        async def limited(request: Any, context: ServicerContext[Any, Any]) -> Any:
            if self.calls >= self.limit:
                await context.abort(
                    grpc.StatusCode.RESOURCE_EXHAUSTED,
                    f"{self.calls} calls are in progress, the most the sidecar takes at once "
                    f"(--grpc-max-in-flight): nothing was done; retry the same request in "
                    f"{RETRY_AFTER_MS} ms",
                    trailing_metadata=((RETRY_AFTER_KEY, str(RETRY_AFTER_MS)),))
            self.calls += 1
            try:
                return await behavior(request, context)
            finally:
                self.calls -= 1

        return {kind: limited}

