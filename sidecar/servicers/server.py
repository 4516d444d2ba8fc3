"""The gRPC server: our services, the standard health service, and reflection."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from sidecar.servicers.access import AccessInterceptor
from sidecar.servicers.ev_driver import EvDriverServicer
from sidecar.servicers.health import Health
from sidecar.servicers.limits import InFlightLimit
from sidecar.servicers.locations import LocationServicer
from sidecar.servicers.ports import RealTimeAuthorizer
from sidecar.servicers.smart_charging import SmartChargingServicer
from sidecar.servicers.status import StatusInterceptor
from sidecar.servicers.tariffs import TariffServicer
from sidecar.servicers.transactions import TransactionServicer
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup

# (the generated add_…_to_server function, the servicer instance, the full service name)
Registration = tuple[Callable[[Any, grpc.aio.Server], None], Any, str]


@dataclass(frozen=True)
class ServerTls:
    """TLS of the gRPC listener: our certificate chain and key (PEM), and, for mutual TLS,
    the CA certificates that must have issued each caller's certificate."""

    certificate_chain: bytes
    private_key: bytes
    client_ca: bytes | None = None

    @classmethod
    def from_files(cls, certificate: str, key: str, client_ca: str = "") -> ServerTls:
        """Read the PEM files (client_ca "" for TLS without client certificates)."""
        return cls(Path(certificate).read_bytes(), Path(key).read_bytes(),
                   Path(client_ca).read_bytes() if client_ca else None)

    def credentials(self) -> grpc.ServerCredentials:
        """With a client CA, a caller without a certificate it issued is refused in the
        handshake, before any servicer runs."""
        return grpc.ssl_server_credentials(
            [(self.private_key, self.certificate_chain)], root_certificates=self.client_ca,
            require_client_auth=self.client_ca is not None)


def registrations(
    database: Database,
    wakeup: Wakeup,
    authorizer: RealTimeAuthorizer | None = None,
    authorize_timeout: float = 3.0,
    currency: str = "EUR",
) -> list[Registration]:
    """Every service of the contract with its servicer (base classes answer UNIMPLEMENTED).

    `authorizer` asks eMSPs about tokens in real time (None: the token cache only).
    """
    from ocpi_sidecar.v1 import (
        ev_driver_pb2,
        ev_driver_pb2_grpc,
        locations_pb2,
        locations_pb2_grpc,
        smart_charging_pb2,
        smart_charging_pb2_grpc,
        tariffs_pb2,
        tariffs_pb2_grpc,
        transactions_pb2,
        transactions_pb2_grpc,
    )

    ours: dict[str, Any] = {
        "LocationService": LocationServicer(database, wakeup),
        "TariffService": TariffServicer(database, wakeup),
        "TransactionService": TransactionServicer(database, wakeup, currency=currency),
        "EvDriverService": EvDriverServicer(database, wakeup, authorizer,
                                            authorize_timeout=authorize_timeout,
                                            currency=currency),
        "SmartChargingService": SmartChargingServicer(database, wakeup),
    }
    found: list[Registration] = []
    for pb2, grpc_module, name in (
        (locations_pb2, locations_pb2_grpc, "LocationService"),
        (transactions_pb2, transactions_pb2_grpc, "TransactionService"),
        (tariffs_pb2, tariffs_pb2_grpc, "TariffService"),
        (ev_driver_pb2, ev_driver_pb2_grpc, "EvDriverService"),
        (smart_charging_pb2, smart_charging_pb2_grpc, "SmartChargingService"),
    ):
        servicer = ours.get(name) or getattr(grpc_module, f"{name}Servicer")()
        add = getattr(grpc_module, f"add_{name}Servicer_to_server")
        full_name = pb2.DESCRIPTOR.services_by_name[name].full_name
        found.append((add, servicer, full_name))
    return found


def server_options(min_client_ping_interval_ms: int = 5_000) -> list[tuple[str, int]]:
    """The gRPC server's channel options.

    Keepalive: cores may ping as often as every `min_client_ping_interval_ms` (the guide
    recommends every 10 to 30 s, so the default leaves room), also while no call is open;
    gRPC's defaults (5 minutes, only with calls) answer the third such ping with GOAWAY
    too_many_pings, which ends every stream of the connection. The server pings too, every
    30 s, and drops a connection whose ping stays unanswered for 10 s.
    """
    # Not grpcio's default SO_REUSEPORT: a second process on the same port must fail to start,
    # not quietly take half of the calls.
    return [("grpc.so_reuseport", 0),
            ("grpc.keepalive_time_ms", 30_000),
            ("grpc.keepalive_timeout_ms", 10_000),
            ("grpc.keepalive_permit_without_calls", 1),
            # gRPC core's GRPC_ARG_HTTP2_MIN_RECV_PING_INTERVAL_WITHOUT_DATA_MS (the string
            # has no "recv"; an unknown option name would be ignored without a word).
            ("grpc.http2.min_ping_interval_without_data_ms", min_client_ping_interval_ms),
            # Our own pings go out on idle streams too (a WatchCommands stream is idle most of
            # the time): no limit on pings without data.
            ("grpc.http2.max_pings_without_data", 0)]


async def create_server(
    address: str,
    database: Database,
    wakeup: Wakeup,
    *,
    services: Sequence[Registration] | None = None,
    authorizer: RealTimeAuthorizer | None = None,
    authorize_timeout: float = 3.0,
    currency: str = "EUR",
    tls: ServerTls | None = None,
    health: Health | None = None,
    max_in_flight: int = 256,
    min_client_ping_interval_ms: int = 5_000,
) -> tuple[grpc.aio.Server, int]:
    """A started-later server bound to `address` (port 0 picks one); returns it and its port.

    `wakeup` is notified after every commit that queued pushes; `services` replaces the
    default registrations (tests). Every handler's errors pass through StatusInterceptor.
    `tls` None listens in plaintext (fine on loopback, see README). `health` is the health
    service to answer with (serve has it follow readiness); by default one always SERVING.
    Past `max_in_flight` unary calls in progress, the next is refused (0: no bound).
    Clients may send keepalive pings every `min_client_ping_interval_ms` (see server_options).
    """
    # AccessInterceptor first, so outermost: it logs the code the others decided; a refused
    # call never reaches StatusInterceptor's decoding.
    server = grpc.aio.server(
        interceptors=[AccessInterceptor(), InFlightLimit(max_in_flight), StatusInterceptor()],
        options=server_options(min_client_ping_interval_ms))
    wanted = list(services) if services is not None else registrations(
        database, wakeup, authorizer, authorize_timeout, currency)
    health = health or Health()
    health_pb2_grpc.add_HealthServicer_to_server(health.servicer, server)
    await health.set_serving(health.serving)
    for add, servicer, full_name in wanted:
        add(servicer, server)
        await health.add(full_name)
    names = [full_name for _, _, full_name in wanted]
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
         reflection.SERVICE_NAME],
        server,
    )
    if tls is None:
        return server, server.add_insecure_port(address)
    return server, server.add_secure_port(address, tls.credentials())
