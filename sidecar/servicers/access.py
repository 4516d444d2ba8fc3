"""AccessInterceptor: one log line and one count per gRPC call, when it ends.

Outside StatusInterceptor, so the code it sees is the one the core gets. A stream is one
call: its line comes when the stream ends (completed, failed or cancelled by the core).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from grpc.aio import ServicerContext

from sidecar import metrics
from sidecar.servicers.handlers import HandlerInterceptor

log = logging.getLogger("ocpi_sidecar.access")

# Probed every few seconds (orchestrators, our own readiness follower): lines only at DEBUG.
_QUIET = ("/grpc.health.v1.Health/", "/grpc.reflection.")


def _code(context: ServicerContext[Any, Any], error: BaseException | None) -> grpc.StatusCode:
    if isinstance(error, asyncio.CancelledError):
        return grpc.StatusCode.CANCELLED
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code
    if isinstance(code, int):  # set_code with a plain number
        return next((c for c in grpc.StatusCode if c.value[0] == code),
                    grpc.StatusCode.UNKNOWN)
    return grpc.StatusCode.OK if error is None else grpc.StatusCode.UNKNOWN


class _Call:
    """What one call's line and counts need, taken at its start."""

    def __init__(self, method: str, context: ServicerContext[Any, Any]) -> None:
        self.method = method
        self.context = context
        self.start = time.perf_counter()

    def end(self, error: BaseException | None) -> None:
        seconds = time.perf_counter() - self.start
        code = _code(self.context, error).name
        metrics.GRPC_CALLS.labels(self.method, code).inc()
        metrics.GRPC_DURATION.labels(self.method).observe(seconds)
        quiet = self.method.startswith(_QUIET)
        level = logging.DEBUG if quiet and code == "OK" else (
            logging.WARNING if code in ("INTERNAL", "UNKNOWN", "DATA_LOSS") else logging.INFO)
        if not log.isEnabledFor(level):
            return
        peer = self.context.peer()
        milliseconds = round(seconds * 1000, 2)
        log.log(level, "gRPC %s %s %.2f ms peer=%s", self.method, code, milliseconds, peer,
                extra={"fields": {"method": self.method, "code": code,
                                  "duration_ms": milliseconds, "peer": peer}})


def _logged(behavior: Callable[..., Any], method: str) -> Callable[..., Any]:
    """The same kind of handler (coroutine or async generator), logged when it ends."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            call, error = _Call(method, context), None
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as raised:
                error = raised
                raise
            finally:
                call.end(error)

        return stream
    if inspect.iscoroutinefunction(behavior):

        async def unary(request: Any, context: ServicerContext[Any, Any]) -> Any:
            call, error = _Call(method, context), None
            try:
                return await behavior(request, context)
            except BaseException as raised:
                error = raised
                raise
            finally:
                call.end(error)

        return unary
    return behavior  # synchronous handlers are not ours (grpc runs them in a thread)


class AccessInterceptor(HandlerInterceptor):
    """Logs and counts every call of a method we serve."""

    def replace(self, handler: Any, behavior: Callable[..., Any], method: str,
                kind: str) -> dict[str, Any]:
        return {kind: _logged(behavior, method)}
