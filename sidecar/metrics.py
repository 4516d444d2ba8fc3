"""The process's Prometheus metrics that code updates as it works (both halves use them).

Everything here lives in REGISTRY, not prometheus_client's global one, so that /metrics shows
exactly these plus what is read at scrape time (gateway/readiness.py), and importing a library
that registers its own metrics changes nothing. Every label takes values from a bounded set:
a route template, a gRPC method we serve, a partner id, an OCPI module, a status code.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

REGISTRY = CollectorRegistry(auto_describe=True)

# Request latencies: from a cached page (~1 ms) to a real-time call to a slow partner.
_LATENCY = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

HTTP_REQUESTS = Counter(
    "ocpi_sidecar_http_requests", "HTTP requests answered, by listener, method, route "
    "template and HTTP status", ["listener", "method", "route", "status"], registry=REGISTRY)
HTTP_DURATION = Histogram(
    "ocpi_sidecar_http_request_duration_seconds", "Time from a request's arrival to the end "
    "of its answer, by listener, method and route template", ["listener", "method", "route"],
    buckets=_LATENCY, registry=REGISTRY)

GRPC_CALLS = Counter(
    "ocpi_sidecar_grpc_calls", "gRPC calls ended, by full method name and status code",
    ["method", "code"], registry=REGISTRY)
GRPC_DURATION = Histogram(
    "ocpi_sidecar_grpc_call_duration_seconds", "Duration of gRPC calls (a stream: until it "
    "ended), by full method name", ["method"], buckets=_LATENCY, registry=REGISTRY)

GRPC_IN_FLIGHT = Gauge(
    "ocpi_sidecar_grpc_in_flight", "Unary and client-streaming core calls in progress (past "
    "--grpc-max-in-flight they are refused with RESOURCE_EXHAUSTED)", registry=REGISTRY)

PUSH_ATTEMPTS = Counter(
    "ocpi_sidecar_push_attempts", "Deliveries of outbox entries to partners, by partner id, "
    "module and outcome: delivered, refused (the partner refused the object) or unreachable",
    ["partner", "module", "outcome"], registry=REGISTRY)

GROUP_COMMIT_SIZE = Histogram(
    "ocpi_sidecar_group_commit_size", "Units of work committed together in one write "
    "transaction, by writer: evse_status (status and location writes), meter_values (events)",
    ["writer"], buckets=(1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024), registry=REGISTRY)

AUTHORIZE_DURATION = Histogram(
    "ocpi_sidecar_realtime_authorize_duration_seconds", "Real-time token authorization at an "
    "eMSP, by outcome: answered (an AuthorizationInfo), unknown (the eMSP does not know the "
    "token), failed (no usable answer), timeout", ["outcome"], buckets=_LATENCY,
    registry=REGISTRY)
