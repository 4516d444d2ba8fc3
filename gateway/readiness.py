"""Liveness, readiness and metrics of one replica.

`/healthz` answers while the process serves HTTP. `/readyz` says whether this replica can do
its work now: the database answers, its schema is current (no migration pending), its
heartbeat renews its claims, its push worker runs;
it also says whether change notes from the other replicas are heard (when they are not,
caches fall back to expiring after a second: the replica still serves, correctly, so it
stays ready, marked degraded). `/metrics` (admin listener) gives the same in Prometheus'
text format, with the counters of sidecar/metrics.py and the outbox per partner.
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
from sidecar import metrics
from sidecar.ocpi import codec
from sidecar.ocpi.types import now
from sidecar.store import migrations, outbox
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
    # "current", "N migration(s) pending", or "unknown" while the database is away.
    schema: str
    change_notes: str
    heartbeat: str
    push_worker: str
    replicas_alive: int | None

    @property
    def ready(self) -> bool:
        return (self.database and self.schema == "current" and self.heartbeat == "ok"
                and self.push_worker == "ok")

    def as_json(self) -> dict[str, Any]:
        return {"ready": self.ready,
                "status": ("degraded" if self.change_notes == "not heard" else "ok")
                if self.ready else "not ready",
                "database": "ok" if self.database else "unavailable", "schema": self.schema,
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
    schema = "unknown"
    try:
        async with asyncio.timeout(1.0), database.read() as connection:
            await connection.execute(text("SELECT 1"))
            alive = sum(r.alive for r in await list_replicas(connection))
            # A replica of a newer release may migrate the database under this one: what
            # this code knows must all be there.
            waiting = len(await connection.run_sync(migrations.pending))
            schema = f"{waiting} migration(s) pending" if waiting else "current"
        reachable = True
    except Exception as error:
        if not (unavailable(error) or isinstance(error, TimeoutError)):
            raise
        reachable = False
    heartbeat = push = "not running"
    if replica is not None:
        heartbeat = "failing" if replica.heartbeat.failing else "ok"
        push = "waiting for the database" if replica.worker.database_down else "ok"
    return State(reachable, schema, _notes(database, replica), heartbeat, push, alive)


async def is_ready(database: Database, replica: Replica | None) -> bool:
    """Whether /readyz would answer 200 now (the gRPC health service follows it)."""
    return (await state_of(database, replica)).ready


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
        # (partner id, pending entries, oldest queued) read for this scrape; None: not read.
        self.outbox: list[tuple[int, int, Any]] | None = None

    def collect(self) -> Iterator[Any]:
        state = self.state
        if state is None:
            return
        yield GaugeMetricFamily("ocpi_sidecar_database_available",
                                "1 when the database answered the last readiness check",
                                value=float(state.database))
        yield GaugeMetricFamily("ocpi_sidecar_ready", "1 when this replica is ready",
                                value=float(state.ready))
        yield GaugeMetricFamily("ocpi_sidecar_schema_current",
                                "1 when no migration this release knows is pending",
                                value=float(state.schema == "current"))
        if self.outbox is not None:
            yield from _outbox_families(self.outbox)
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


def _outbox_families(rows: list[tuple[int, int, Any]]) -> Iterator[Any]:
    depth = GaugeMetricFamily("ocpi_sidecar_outbox_pending",
                              "outbox entries not delivered yet, by partner id",
                              labels=["partner"])
    age = GaugeMetricFamily("ocpi_sidecar_outbox_oldest_pending_age_seconds",
                            "age of the oldest undelivered outbox entry, by partner id",
                            labels=["partner"])
    stamp = now()
    for partner_id, count, oldest in rows:
        depth.add_metric([str(partner_id)], float(count))
        age.add_metric([str(partner_id)], max(0.0, (stamp - oldest).total_seconds()))
    yield depth
    yield age


class _Counted(Collector):
    """What the code counts as it works (sidecar/metrics.py), in the same exposition."""

    def collect(self) -> Iterator[Any]:
        yield from metrics.REGISTRY.collect()


async def _outbox_depth(database: Database) -> list[tuple[int, int, Any]] | None:
    try:
        async with asyncio.timeout(1.0), database.read() as connection:
            return await outbox.depth_by_partner(connection)
    except Exception as error:
        if not (unavailable(error) or isinstance(error, TimeoutError)):
            raise
        return None


async def get_metrics(request: Request) -> Response:
    """GET /metrics (admin listener, admin key): Prometheus text format."""
    check_key(request)
    services = services_of(request)
    registry = CollectorRegistry(auto_describe=False)
    collector = _ReplicaCollector(services.database, services.replica)
    collector.state = await state_of(services.database, services.replica)
    if collector.state.database:
        collector.outbox = await _outbox_depth(services.database)
    registry.register(collector)
    registry.register(_Counted())
    return Response(generate_latest(registry), media_type=_PROMETHEUS)
