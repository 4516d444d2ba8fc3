"""Liveness, readiness and metrics of one replica.

`/healthz` answers while the process serves HTTP. `/readyz` says whether this replica can do
its work now: the database answers, its heartbeat renews its claims, its push worker runs;
it also says whether change notes from the other replicas are heard (when they are not,
caches fall back to expiring after a second: the replica still serves, correctly, so it
stays ready, marked degraded). `/metrics` (admin listener) gives the same in Prometheus'
text format.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import Response

from gateway.admin import check_key
from gateway.push import PushWorker
from gateway.services import services_of
from sidecar.ocpi import codec
from sidecar.store.engine import Database, unavailable
from sidecar.store.replicas import Heartbeat, list_replicas
from sidecar.store.signals import Listener

_PROMETHEUS = "text/plain; version=0.0.4; charset=utf-8"


@dataclass(frozen=True)
class Replica:
    """The parts of `serve` whose state readiness reports."""

    heartbeat: Heartbeat
    listener: Listener
    worker: PushWorker


@dataclass(frozen=True)
class State:
    """What readiness found."""

    database: bool
    change_notes: str
    heartbeat: str
    push_worker: str
    replicas_alive: int | None

    @property
    def ready(self) -> bool:
        return self.database and self.heartbeat == "ok" and self.push_worker == "ok"

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready,
                "status": ("degraded" if self.change_notes == "not heard" else "ok")
                if self.ready else "not ready",
                "database": "ok" if self.database else "unavailable",
                "change_notes": self.change_notes, "heartbeat": self.heartbeat,
                "push_worker": self.push_worker, "replicas_alive": self.replicas_alive}


def _notes(database: Database, replica: Replica | None) -> str:
    if database.is_sqlite:
        return "not needed"
    if replica is None:
        return "not listening"
    return "heard" if replica.listener.connected else "not heard"


async def state_of(database: Database, replica: Replica | None) -> State:
    """Ask the database (bounded to a second) and the parts of `serve`."""
    alive: int | None = None
    try:
        async with asyncio.timeout(1.0), database.read() as connection:
            await connection.execute(text("SELECT 1"))
            alive = sum(r.alive for r in await list_replicas(connection))
        reachable = True
    except Exception as error:
        if not (unavailable(error) or isinstance(error, TimeoutError)):
            raise
        reachable = False
    heartbeat = push = "not running"
    if replica is not None:
        heartbeat = "failing" if replica.heartbeat.failing else "ok"
        push = "waiting for the database" if replica.worker.database_down else "ok"
    return State(reachable, _notes(database, replica), heartbeat, push, alive)


async def get_healthz(_request: Request) -> Response:
    """GET /healthz: the process is alive."""
    return Response(codec.encode({"alive": True}), media_type="application/json")


async def get_readyz(request: Request) -> Response:
    """GET /readyz: 200 when this replica can work, 503 when not; the state either way."""
    services = services_of(request)
    found = await state_of(services.database, services.replica)
    return Response(codec.encode(found.as_json()), status_code=200 if found.ready else 503,
                    media_type="application/json")


class _ReplicaCollector(Collector):
    """Reads the replica's state at scrape time: nothing is counted on hot paths."""

    def __init__(self, database: Database, replica: Replica | None) -> None:
        self.database = database
        self.replica = replica
        self.state: State | None = None

    def collect(self) -> Iterator[Any]:
        state = self.state
        if state is None:
            return
        yield GaugeMetricFamily("ocpi_sidecar_database_available",
                                "1 when the database answered the last readiness check",
                                value=float(state.database))
        yield GaugeMetricFamily("ocpi_sidecar_ready", "1 when this replica is ready",
                                value=float(state.ready))
        yield GaugeMetricFamily(
            "ocpi_sidecar_caches_coherent",
            "1 when every change of every replica reaches this replica's caches at once; 0 "
            "when they fall back to expiring after a second", value=float(
                self.database.coherent))
        if state.replicas_alive is not None:
            yield GaugeMetricFamily("ocpi_sidecar_replicas_alive",
                                    "replicas with a heartbeat within the lease",
                                    value=float(state.replicas_alive))
        if self.replica is not None:
            listener = self.replica.listener
            yield GaugeMetricFamily("ocpi_sidecar_change_listener_connected",
                                    "1 while the LISTEN connection is up",
                                    value=float(listener.connected))
            yield CounterMetricFamily("ocpi_sidecar_change_notes_heard",
                                      "change notes heard from other replicas",
                                      value=float(listener.heard))
            yield CounterMetricFamily("ocpi_sidecar_change_listener_losses",
                                      "times the LISTEN connection was lost",
                                      value=float(listener.losses))
            yield GaugeMetricFamily("ocpi_sidecar_heartbeat_failing",
                                    "1 while heartbeats fail (claims lapse after the lease)",
                                    value=float(self.replica.heartbeat.failing))


async def get_metrics(request: Request) -> Response:
    """GET /metrics (admin listener, admin key): Prometheus text format."""
    check_key(request)
    services = services_of(request)
    registry = CollectorRegistry(auto_describe=False)
    collector = _ReplicaCollector(services.database, services.replica)
    collector.state = await state_of(services.database, services.replica)
    registry.register(collector)
    return Response(generate_latest(registry), media_type=_PROMETHEUS)
