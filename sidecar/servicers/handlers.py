"""HandlerInterceptor: the one way our interceptors put a wrapper around a method's handler."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import grpc

# The fields of grpc.RpcMethodHandler that hold the behaviour; exactly one is set.
KINDS = ("unary_unary", "unary_stream", "stream_unary", "stream_stream")


class HandlerInterceptor(grpc.aio.ServerInterceptor):
    """Finds the behaviour of each method we serve and replaces the handler's fields by what
    `replace` gives (unknown methods get no handler, and stay unknown)."""

    def replace(self, handler: Any, behavior: Callable[..., Any], method: str,
                kind: str) -> dict[str, Any]:
        raise NotImplementedError

    async def intercept_service(
        self,
        continuation: Callable[
            [grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler[Any, Any] | None]
        ],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler[Any, Any] | None:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        for kind in KINDS:
            behavior = getattr(handler, kind)
            if behavior is not None:
                return handler._replace(  # type: ignore[attr-defined, no-any-return]
                    **self.replace(handler, behavior, handler_call_details.method, kind))
        return handler
