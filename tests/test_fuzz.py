"""Property-based fuzzing of every HTTP route and every gRPC method, on the real servers.

The gateway (Hypercorn) and the gRPC server run over one real SQLite file in a thread of
their own, with a registered eMSP whose endpoints refuse connections, our demo data, and an
admin key. Hypothesis sends random paths, queries, headers and bodies (HTTP) and random
messages or random bytes (gRPC). Whatever comes: no HTTP 5xx, no gRPC INTERNAL or UNKNOWN,
an OCPI envelope on every OCPI path, an admin error on every failed admin call, and a
rejected request leaves every table's row count as it was.

Derandomized and bounded per route, so a run is the same every time and takes seconds.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote, urlencode

import grpc
import httpx
import pytest
from google.protobuf import descriptor as pb_descriptor
from google.protobuf import message_factory
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from ocpi_sidecar.v1 import (
    ev_driver_pb2,
    locations_pb2,
    smart_charging_pb2,
    tariffs_pb2,
    transactions_pb2,
)
from starlette.routing import Route

from gateway.app import admin_routes, ocpi_routes
from tests.fixtures.threaded import ADMIN_KEY, TOKEN, Served, serving_in_thread

FUZZ = settings(max_examples=30, deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """Both servers in a thread with its own event loop, for the whole module."""
    with serving_in_thread(tmp_path_factory.mktemp("fuzz") / "sidecar.db") as state:
        yield state


# --- HTTP --------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def http() -> Iterator[httpx.Client]:
    # A connection per request: the answer to each input is what is checked. A reused
    # connection can fail for a reason that is no answer of ours: the server timing it out
    # at that instant (5 s idle).
    with httpx.Client(timeout=30, limits=httpx.Limits(max_keepalive_connections=0)) as client:
        yield client


# Header values as an HTTP client can send them (h11 refuses surrounding whitespace).
PRINTABLE = st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=40).map(
    str.strip)
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20)
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                               max_size=3),
    max_leaves=8)
# Field names our bodies have, so that random objects reach the checks past "unknown key".
FIELDS = ["versions_url", "token", "token_base64", "business_details", "name", "full",
          "module", "id", "partner", "country_code", "party_id", "uid", "type",
          "last_updated", "valid", "whitelist", "contract_id", "issuer", "location_id",
          "evse_uid", "connector_id", "response_url", "charging_profile", "session_id",
          "reservation_id", "expiry_date", "url", "roles", "role", "start_date_time",
          "charging_rate_unit", "min_charging_rate", "charging_profile_period",
          "departure_time", "energy_need", "authorization_reference", "visual_number"]
SHAPED = st.dictionaries(st.sampled_from(FIELDS), JSON_VALUES, max_size=6)
BODIES = st.one_of(
    st.none(), st.binary(max_size=80),
    (JSON_VALUES | SHAPED).map(lambda value: json.dumps(value).encode()))
QUERY_KEYS = ["offset", "limit", "date_from", "date_to", "type", "country_code", "party_id",
              "full", "x"]
QUERIES = st.dictionaries(st.sampled_from(QUERY_KEYS), st.text(max_size=24), max_size=3)


def authorizations() -> st.SearchStrategy[str | None]:
    encoded = base64.b64encode(TOKEN.encode()).decode()
    return st.one_of(
        st.none(), st.just(f"Token {encoded}"), st.just(f"Token {TOKEN}"),
        st.just(f"Bearer {ADMIN_KEY}"), st.just(f"bearer  {ADMIN_KEY}"),
        PRINTABLE.map(lambda text: f"Token {text}".strip()),
        PRINTABLE.map(lambda text: f"Bearer {text}".strip()), PRINTABLE)


HEADERS = st.fixed_dictionaries({}, optional={
    "OCPI-from-country-code": PRINTABLE, "OCPI-from-party-id": PRINTABLE,
    "OCPI-to-country-code": PRINTABLE, "OCPI-to-party-id": PRINTABLE,
    "Content-Type": st.sampled_from(["application/json", "text/plain", "", "x/y; a=b"]),
    "X-Request-ID": PRINTABLE, "Accept": PRINTABLE,
})


def route_methods() -> list[tuple[str, str, str]]:
    """(listener, method, path) of every route of both listeners."""
    found = []
    for listener, routes in (("ocpi", ocpi_routes()), ("admin", admin_routes())):
        for route in routes:
            assert isinstance(route, Route)
            found += [(listener, method, route.path) for method in sorted(route.methods or ())
                      if method != "HEAD"]
    return found


def path_values(served: Served) -> st.SearchStrategy[str]:
    """Random path segments, never the one partner's id (an accepted DELETE would end it)."""
    def not_our_partner(text: str) -> bool:
        return not (text.strip().isascii() and text.strip().isdigit()
                    and int(text.strip()) == served.partner_id)

    known = st.sampled_from(["NL", "MSP", "SDC", "LOC1", "1", "START_SESSION", "0", "x" * 300])
    return (st.text(max_size=20) | known).filter(not_our_partner)


def fill(path: str, values: list[str]) -> str:
    parts = path.split("/")
    names = [p for p in parts if p.startswith("{")]
    for name, value in zip(names, values, strict=False):
        parts[parts.index(name)] = quote(value, safe="")
    return "/".join(parts)


def is_envelope(body: Any) -> bool:
    return isinstance(body, dict) and "status_code" in body and "timestamp" in body


@pytest.mark.parametrize(("listener", "method", "path"), route_methods())
def test_http_route_never_fails_and_rejects_cleanly(
    served: Served, http: httpx.Client, listener: str, method: str, path: str
) -> None:
    segments = st.lists(path_values(served), min_size=path.count("{"),
                        max_size=path.count("{"))

    @FUZZ
    @given(segments=segments, query=QUERIES, body=BODIES, authorization=authorizations(),
           headers=HEADERS)
    def check(segments: list[str], query: dict[str, str], body: bytes | None,
              authorization: str | None, headers: dict[str, str]) -> None:
        sent = dict(headers)
        if authorization is not None:
            sent["Authorization"] = authorization
        base = served.base_url if listener == "ocpi" else served.admin_url
        url = base + fill(path, segments) + (f"?{urlencode(query)}" if query else "")
        before = served.counts()
        reply = http.request(method, url, content=body, headers=sent)
        if path == "/readyz" and reply.status_code == 503:
            # Not ready (this app runs without a push worker nor heartbeat) is the
            # readiness check's own answer, not a failure of the server.
            assert reply.json()["ready"] is False, reply.text
            return
        assert reply.status_code < 500, (method, url, reply.status_code, reply.text)
        try:
            answer = reply.json()
        except ValueError:
            answer = None
        if path.startswith("/ocpi"):
            assert is_envelope(answer), (method, url, reply.status_code, reply.text)
            rejected = reply.status_code >= 400 or answer["status_code"] != 1000
        elif path.startswith("/admin/ui"):
            # The console answers in HTML; without its session cookie, with a redirect to
            # its log-in page. A path no route matches gets the admin app's JSON 404.
            rejected = reply.status_code >= 400 or reply.status_code == 303
            if reply.status_code >= 400:
                assert (reply.headers["content-type"].startswith("text/html")
                        or (isinstance(answer, dict) and "error" in answer)), (url, reply.text)
        else:
            rejected = reply.status_code >= 400
            if rejected:
                assert isinstance(answer, dict) and "error" in answer, (url, reply.text)
        if rejected:
            assert served.counts() == before, (method, url, reply.status_code, reply.text)

    check()


# --- gRPC --------------------------------------------------------------------------------

SERVICES = [module.DESCRIPTOR.services_by_name[name] for module, name in (
    (locations_pb2, "LocationService"), (transactions_pb2, "TransactionService"),
    (tariffs_pb2, "TariffService"), (ev_driver_pb2, "EvDriverService"),
    (smart_charging_pb2, "SmartChargingService"))]
METHODS = [method for service in SERVICES for method in service.methods]
FD = pb_descriptor.FieldDescriptor
SCALARS: dict[int, st.SearchStrategy[Any]] = {
    FD.TYPE_STRING: st.text(max_size=30) | st.sampled_from(["NL", "SDC", "LOC1", "EVSE1"]),
    FD.TYPE_BYTES: st.binary(max_size=20),
    FD.TYPE_BOOL: st.booleans(),
    FD.TYPE_DOUBLE: st.floats(allow_nan=True), FD.TYPE_FLOAT: st.floats(width=32),
    FD.TYPE_INT32: st.integers(-2**31, 2**31 - 1), FD.TYPE_SINT32: st.integers(-2**31, 2**31 - 1),
    FD.TYPE_SFIXED32: st.integers(-2**31, 2**31 - 1), FD.TYPE_ENUM: st.integers(-3, 30),
    FD.TYPE_INT64: st.integers(-2**63, 2**63 - 1), FD.TYPE_SINT64: st.integers(-2**63, 2**63 - 1),
    FD.TYPE_SFIXED64: st.integers(-2**63, 2**63 - 1),
    FD.TYPE_UINT32: st.integers(0, 2**32 - 1), FD.TYPE_FIXED32: st.integers(0, 2**32 - 1),
    FD.TYPE_UINT64: st.integers(0, 2**64 - 1), FD.TYPE_FIXED64: st.integers(0, 2**64 - 1),
}


def messages(descriptor: pb_descriptor.Descriptor) -> st.SearchStrategy[bytes]:
    """Random messages of `descriptor`, serialized."""
    return filled(descriptor).map(lambda message: message.SerializeToString())


@st.composite
def filled(draw: st.DrawFn, descriptor: pb_descriptor.Descriptor, depth: int = 0) -> Any:
    """A message of `descriptor` with a random subset of its fields set to random values."""
    message = message_factory.GetMessageClass(descriptor)()
    for field_ in descriptor.fields:
        if not draw(st.booleans()):
            continue
        if field_.type == FD.TYPE_MESSAGE:
            if depth >= 3 or field_.message_type.GetOptions().map_entry:
                continue
            value = filled(field_.message_type, depth + 1)
            if field_.is_repeated:
                getattr(message, field_.name).extend(draw(st.lists(value, max_size=2)))
            else:
                getattr(message, field_.name).CopyFrom(draw(value))
        elif field_.is_repeated:
            getattr(message, field_.name).extend(draw(st.lists(SCALARS[field_.type],
                                                               max_size=3)))
        else:
            setattr(message, field_.name, draw(SCALARS[field_.type]))
    return message


def call(channel: grpc.Channel, method: pb_descriptor.MethodDescriptor,
         requests: list[bytes]) -> grpc.StatusCode:
    """Send `requests` (raw bytes) to the method; its status code (OK when it answered)."""
    path = f"/{method.containing_service.full_name}/{method.name}"
    try:
        if not method.client_streaming and not method.server_streaming:
            channel.unary_unary(path)(requests[0], timeout=10)
        elif not method.server_streaming:
            channel.stream_unary(path)(iter(requests), timeout=10)
        else:
            # A stream that stays open (WatchCommands) is cut by its deadline.
            stream = (channel.unary_stream(path)(requests[0], timeout=0.5)
                      if not method.client_streaming
                      else channel.stream_stream(path)(iter(requests), timeout=0.5))
            for _answer in stream:
                pass
    except grpc.RpcError as error:
        return error.code()  # type: ignore[no-any-return]
    return grpc.StatusCode.OK


@pytest.mark.parametrize("method", METHODS, ids=lambda m: f"{m.containing_service.name}.{m.name}")
def test_grpc_method_never_fails_and_rejects_cleanly(
    served: Served, method: pb_descriptor.MethodDescriptor
) -> None:
    one = messages(method.input_type) | st.binary(max_size=64)
    streaming = method.client_streaming or method.server_streaming

    @settings(FUZZ, max_examples=8 if streaming else 30)
    @given(requests=st.lists(one, min_size=1, max_size=3))
    def check(requests: list[bytes]) -> None:
        before = served.counts()
        with grpc.insecure_channel(served.grpc_address) as channel:
            code = call(channel, method, requests)
        assert code not in (grpc.StatusCode.INTERNAL, grpc.StatusCode.UNKNOWN), (
            method.full_name, requests)
        if code != grpc.StatusCode.OK and code != grpc.StatusCode.DEADLINE_EXCEEDED:
            assert served.counts() == before, (method.full_name, code, requests)

    check()


@pytest.mark.parametrize("method", ["/ocpi_sidecar.v1.LocationService/GetLocation",
                                    "/ocpi_sidecar.v1.TransactionService/StreamMeterValues"])
def test_bytes_that_are_no_message_are_invalid_argument(served: Served, method: str) -> None:
    # Found by the fuzzing above: grpc answered UNKNOWN (unary) or our INTERNAL (stream).
    with grpc.insecure_channel(served.grpc_address) as channel:
        with pytest.raises(grpc.RpcError) as raised:
            if "Stream" in method:
                channel.stream_unary(method)(iter([b"\x00"]), timeout=10)
            else:
                channel.unary_unary(method)(b"\x00", timeout=10)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "not the method's message" in raised.value.details()
