"""The one interceptor that turns our errors into gRPC status codes (STYLE.md §2.4).

Servicers raise `sidecar.errors`; they never abort for these. Anything else becomes INTERNAL
with a request id that is logged with the traceback; the client never sees exception text.
"""

from __future__ import annotations

import inspect
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError
from grpc.aio import AbortError, ServicerContext

from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed, SidecarError
from sidecar.servicers.handlers import HandlerInterceptor
from sidecar.store.engine import unavailable

log = logging.getLogger(__name__)

# Most specific first: the first class in the error's MRO found here decides the code.
CODES: dict[type[SidecarError], grpc.StatusCode] = {
    InvalidField: grpc.StatusCode.INVALID_ARGUMENT,
    NotFound: grpc.StatusCode.NOT_FOUND,
    PreconditionFailed: grpc.StatusCode.FAILED_PRECONDITION,
    Conflict: grpc.StatusCode.ALREADY_EXISTS,
}


def status_of(error: SidecarError) -> tuple[grpc.StatusCode, str]:
    """The code and details for one of our errors; an unmapped one is INTERNAL."""
    for cls in type(error).__mro__:
        if cls in CODES:
            return CODES[cls], error.message
    return grpc.StatusCode.INTERNAL, error.message


async def _abort(error: Exception, context: ServicerContext[Any, Any], method: str) -> None:
    if unavailable(error):
        # The write was not committed (or its commit is unknown and the idempotency key
        # makes the retry safe): never an acknowledgement, always worth retrying.
        log.warning("%s: the database is unavailable (%s)", method, type(error).__name__)
        await context.abort(grpc.StatusCode.UNAVAILABLE,
                            "the database is unavailable; retry shortly")
    if isinstance(error, SidecarError):
        code, details = status_of(error)
        if code is not grpc.StatusCode.INTERNAL:
            await context.abort(code, details)
    request_id = uuid.uuid4().hex
    log.error("request %s (%s) failed", request_id, method, exc_info=error)
    await context.abort(grpc.StatusCode.INTERNAL, f"internal error (request id {request_id})")


class Undecodable:
    """What a request that is not the method's message decodes to.

    A deserializer has no context to abort with, and grpc answers UNKNOWN for one that
    raises; so it returns this instead, and the handler's wrapper raises InvalidField for
    it: the client gets INVALID_ARGUMENT like for any other bad input.
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _decoding(deserializer: Callable[[bytes], Any] | None) -> Callable[[bytes], Any] | None:
    if deserializer is None:
        return None

    def decode(raw: bytes) -> Any:
        try:
            return deserializer(raw)
        except DecodeError as error:
            return Undecodable(str(error) or "not a valid protobuf message")

    return decode


def _decoded(request: Any) -> Any:
    if isinstance(request, Undecodable):
        raise InvalidField("", f"the request is not the method's message: {request.reason}")
    return request


async def _decoded_stream(requests: AsyncIterator[Any]) -> AsyncIterator[Any]:
    async for request in requests:
        yield _decoded(request)


def _wrap(behavior: Callable[..., Any], method: str, kind: str) -> Callable[..., Any]:
    """The same kind of handler (coroutine or async generator), with errors mapped."""
    streamed = kind.startswith("stream_")

    def decoded(request: Any) -> Any:
        return _decoded_stream(request) if streamed else _decoded(request)

    if inspect.isasyncgenfunction(behavior):

        async def stream(request: Any, context: ServicerContext[Any, Any]) -> AsyncIterator[Any]:
            try:
                async for response in behavior(decoded(request), context):
                    yield response
            except AbortError:
                raise
            except Exception as error:
                await _abort(error, context, method)

        return stream
    if inspect.iscoroutinefunction(behavior):

        async def unary(request: Any, context: ServicerContext[Any, Any]) -> Any:
            try:
                return await behavior(decoded(request), context)
            except AbortError:
                raise
            except Exception as error:
                await _abort(error, context, method)

        return unary
    return behavior  # synchronous handlers are not ours (grpc runs them in a thread)


class StatusInterceptor(HandlerInterceptor):
    """Maps `sidecar.errors` raised by any handler (unary or streaming) to a gRPC status."""

    def replace(self, handler: Any, behavior: Callable[..., Any], method: str,
                kind: str) -> dict[str, Any]:
        return {kind: _wrap(behavior, method, kind),
                "request_deserializer": _decoding(handler.request_deserializer)}
