"""The CSMS's side of the gRPC contract: stubs, retries with the same request, the streams.

Everything a CSMS must get right once, whatever OCPP version its charge points speak:

- every write is retried on a transient error (UNAVAILABLE, DEADLINE_EXCEEDED, INTERNAL,
  RESOURCE_EXHAUSTED) with the very same request, so its idempotency key makes the retry
  harmless, until the sidecar is back (it may be restarting);
- `WatchCommands` and `WatchChargingProfileRequests` are reopened with back-off whenever they
  end, and items delivered twice (a stream ended before our acknowledgement) are handled once;
- gRPC keepalive pings notice a dead connection while a stream is idle.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message
from ocpi_sidecar.v1 import (
    ev_driver_pb2,
    ev_driver_pb2_grpc,
    locations_pb2,
    locations_pb2_grpc,
    smart_charging_pb2,
    smart_charging_pb2_grpc,
    tariffs_pb2,
    tariffs_pb2_grpc,
    transactions_pb2_grpc,
)

from reference_csms.site import Site

LOG = logging.getLogger("reference_csms")
# Worth retrying with the same request; every other code is an answer.
TRANSIENT = frozenset({grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
                       grpc.StatusCode.INTERNAL, grpc.StatusCode.RESOURCE_EXHAUSTED,
                       grpc.StatusCode.UNKNOWN})
CHANNEL_OPTIONS = [
    # Ping every 20 s, even without calls, so an idle stream to a dead sidecar ends.
    ("grpc.keepalive_time_ms", 20_000),
    ("grpc.keepalive_timeout_ms", 10_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Reconnect quickly after a sidecar restart.
    ("grpc.initial_reconnect_backoff_ms", 200),
    ("grpc.max_reconnect_backoff_ms", 2_000),
]
Reply = TypeVar("Reply", bound=Message)


def key(*parts: object) -> str:
    """An idempotency key from the OCPP message it comes from, e.g. key(cp, message_id)."""
    return ":".join(str(p) for p in parts)


def content_key(kind: str, message: Message) -> str:
    """A key for configuration writes: the same content gives the same key."""
    digest = hashlib.sha256(message.SerializeToString(deterministic=True)).hexdigest()[:24]
    return key("site", kind, digest)


@dataclass
class Backoff:
    first: float = 0.2
    most: float = 5.0
    _next: float = field(init=False, default=0.0)

    def reset(self) -> None:
        self._next = self.first

    async def wait(self) -> None:
        self._next = min(self.most, max(self.first, self._next * 2))
        await asyncio.sleep(self._next)


class Sidecar:
    """One channel to ocpi-sidecar and its five services."""

    def __init__(self, address: str, consumer_id: str, *, retry_for: float = 120.0) -> None:
        self.channel = grpc.aio.insecure_channel(address, options=CHANNEL_OPTIONS)
        self.consumer_id = consumer_id
        self.retry_for = retry_for
        self.locations = locations_pb2_grpc.LocationServiceStub(self.channel)
        self.transactions = transactions_pb2_grpc.TransactionServiceStub(self.channel)
        self.tariffs = tariffs_pb2_grpc.TariffServiceStub(self.channel)
        self.ev_driver = ev_driver_pb2_grpc.EvDriverServiceStub(self.channel)
        self.smart_charging = smart_charging_pb2_grpc.SmartChargingServiceStub(self.channel)

    async def close(self) -> None:
        await self.channel.close()

    async def call(self, method: Callable[..., Any], request: Message,
                   rpc_timeout: float = 10.0) -> Any:
        """`method(request)`, retried with the same request while the error is transient."""
        loop = asyncio.get_running_loop()
        give_up = loop.time() + self.retry_for
        backoff = Backoff()
        while True:
            try:
                return await method(request, timeout=rpc_timeout, wait_for_ready=True)
            except grpc.aio.AioRpcError as error:
                if error.code() not in TRANSIENT or loop.time() > give_up:
                    raise
                LOG.warning("%s: %s, retrying with the same request",
                            type(request).__name__, error.code().name)
                pause = _retry_after(error)
                if pause is not None:
                    await asyncio.sleep(pause)
                else:
                    await backoff.wait()

    async def publish(self, site: Site) -> None:
        """The site's tariffs, then its locations with their EVSEs and connectors."""
        for tariff in site.tariffs:
            await self.call(self.tariffs.UpsertTariff, tariffs_pb2.UpsertTariffRequest(
                idempotency_key=content_key("tariff", tariff), tariff=tariff))
        for location in site.locations:
            await self.call(self.locations.UpsertLocation, locations_pb2.UpsertLocationRequest(
                idempotency_key=content_key("location", location), location=location))

    async def watch_commands(
            self, handle: Callable[[ev_driver_pb2.Command], Awaitable[None]]) -> None:
        await self._watch(
            lambda: self.ev_driver.WatchCommands(
                ev_driver_pb2.WatchCommandsRequest(consumer_id=self.consumer_id)),
            lambda item: item.command, lambda command: command.command_id, handle)

    async def watch_profiles(
            self, handle: Callable[[smart_charging_pb2.ChargingProfileRequest],
                                   Awaitable[None]]) -> None:
        await self._watch(
            lambda: self.smart_charging.WatchChargingProfileRequests(
                smart_charging_pb2.WatchChargingProfileRequestsRequest(
                    consumer_id=self.consumer_id)),
            lambda item: item.request, lambda request: request.request_id, handle)

    async def _watch(self, open_stream: Callable[[], Any], unwrap: Callable[[Any], Any],
                     identify: Callable[[Any], str],
                     handle: Callable[[Any], Awaitable[None]]) -> None:
        """Run forever: open the stream, hand each new item to `handle` in its own task,
        reopen with back-off when the stream ends. An item re-sent while its first delivery
        is still being handled, or after it was handled, is not handled again."""
        seen: set[str] = set()
        tasks: set[asyncio.Task[None]] = set()
        backoff = Backoff()
        while True:
            stream = open_stream()
            try:
                async for item in stream:
                    backoff.reset()
                    payload = unwrap(item)
                    ident = identify(payload)
                    if ident in seen:
                        continue
                    seen.add(ident)
                    task = asyncio.create_task(self._handle(handle, payload, ident, seen))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
            except grpc.aio.AioRpcError as error:
                LOG.info("stream ended (%s), reopening", error.code().name)
            finally:
                stream.cancel()
            await backoff.wait()

    @staticmethod
    async def _handle(handle: Callable[[Any], Awaitable[None]], payload: Any, ident: str,
                      seen: set[str]) -> None:
        try:
            await handle(payload)
        except Exception:
            # The sidecar re-sends an item whose result never arrived, until its deadline:
            # handle that delivery again.
            seen.discard(ident)
            LOG.exception("handling %s %s failed", type(payload).__name__, ident)


def _retry_after(error: grpc.aio.AioRpcError) -> float | None:
    for name, value in error.trailing_metadata() or ():
        if name == "retry-after-ms":
            try:
                return int(value) / 1000
            except ValueError:
                return None
    return None

