"""The contract's tables hold: enum tables total both ways, the status table as documented,
and the error model of docs/contract.md ("Errors") for unary and streaming handlers."""

from __future__ import annotations

import importlib
import logging
import re
from collections.abc import AsyncIterator
from enum import StrEnum
from pathlib import Path

import grpc
import pytest
from ocpi_sidecar.v1 import locations_pb2

from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed
from sidecar.ocpi import enums
from sidecar.servicers.enum_mapping import OCPP16_STATUS, OCPP201_STATUS, TABLES, EnumTable
from sidecar.servicers.server import create_server
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parent.parent
PROTO_MODULES = ("common", "locations", "tariffs", "transactions", "ev_driver", "smart_charging")
# Proto enums named apart from their OCPI enum.
OCPI_NAME = {"EvseStatus": "Status"}


def ocpi_enums() -> dict[str, type[StrEnum]]:
    return {name: value for name, value in vars(enums).items()
            if isinstance(value, type) and issubclass(value, StrEnum) and value is not StrEnum}


def proto_enums() -> dict[str, object]:
    found = {}
    for module in PROTO_MODULES:
        pb2 = importlib.import_module(f"ocpi_sidecar.v1.{module}_pb2")
        for name in pb2.DESCRIPTOR.enum_types_by_name:
            found[name] = getattr(pb2, name)
    return found


def test_every_proto_enum_for_an_ocpi_enum_has_a_table() -> None:
    ocpi = ocpi_enums()
    wanted = {enum.DESCRIPTOR.full_name for name, enum in proto_enums().items()
              if OCPI_NAME.get(name, name) in ocpi}
    assert wanted == set(TABLES)
    assert len(wanted) >= 20


@pytest.mark.parametrize("name", sorted(TABLES))
def test_enum_table_is_total_both_ways(name: str) -> None:
    table: EnumTable[StrEnum] = TABLES[name]
    proto_values = [v for v in table.descriptor.values if v.number != 0]
    unmapped = [v.name for v in proto_values if v.number not in table.to_ocpi]
    assert unmapped == []
    assert set(table.to_proto) == set(table.ocpi), "OCPI members without a proto value"
    assert len(table.to_ocpi) == len(table.ocpi)
    assert table.descriptor.values_by_number[0].name.endswith("_UNSPECIFIED")
    assert 0 not in table.to_ocpi


def test_each_proto_value_maps_to_the_ocpi_value_of_its_name() -> None:
    table = TABLES[locations_pb2.ConnectorType.DESCRIPTOR.full_name]
    single = locations_pb2.CONNECTOR_TYPE_IEC_60309_2_SINGLE_16
    assert table.to_ocpi[single] is enums.ConnectorType.IEC_60309_2_single_16
    status = TABLES[locations_pb2.EvseStatus.DESCRIPTOR.full_name]
    assert status.to_ocpi[locations_pb2.EVSE_STATUS_OUTOFORDER] is enums.Status.OUTOFORDER


def documented_status_table() -> tuple[dict[str, str], dict[str, str]]:
    """OCPP status name → OCPI status, per column, from docs/contract.md."""
    text = (ROOT / "docs" / "contract.md").read_text()
    section = text.split("## Status mapping", 1)[1].split("\n\n", 2)[1]
    ocpp16: dict[str, str] = {}
    ocpp201: dict[str, str] = {}
    for row in section.splitlines()[2:]:
        first, second, ocpi = (cell.strip() for cell in row.strip("|").split("|"))
        target = re.match(r"`(\w+)`", ocpi)
        assert target is not None, row
        for column, names in ((ocpp16, first), (ocpp201, second)):
            for name in names.split(","):
                if not name.strip().startswith("—"):
                    column[name.strip()] = target[1]
    return ocpp16, ocpp201


def screaming(name: str) -> str:
    """`SuspendedEVSE` → `SUSPENDED_EVSE`."""
    return re.sub(r"(?<=[a-z])(?=[A-Z])", "_", name).upper()


@pytest.mark.parametrize(
    ("column", "table", "enum"),
    [(0, OCPP16_STATUS, locations_pb2.Ocpp16ChargePointStatus),
     (1, OCPP201_STATUS, locations_pb2.Ocpp201ConnectorStatus)],
)
def test_ocpp_status_table_is_total_and_as_documented(column: int, table: dict, enum) -> None:
    documented = documented_status_table()[column]
    prefix = {0: "OCPP16_CHARGE_POINT_STATUS_", 1: "OCPP201_CONNECTOR_STATUS_"}[column]
    expected = {enum.Value(prefix + screaming(name)): status
                for name, status in documented.items()}
    assert {number: status.value for number, status in table.items()} == expected
    assert set(table) == {v.number for v in enum.DESCRIPTOR.values if v.number != 0}


# --- the error model, through a real server with a service made for it ---

SERVICE = "test.Errors"


def raising(error: Exception):
    async def unary(request: bytes, context: grpc.aio.ServicerContext) -> bytes:
        raise error

    async def stream(request: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[bytes]:
        yield b"first"
        raise error

    return unary, stream


ERRORS = {
    "invalid": InvalidField("location.evses[1].uid", "required"),
    "not_found": NotFound("evse_uid"),
    "precondition": PreconditionFailed("location.party: XX/YYY is not a CPO party"),
    "conflict": Conflict("idempotency_key: used with a different payload"),
    "internal": RuntimeError("secret database password in the message"),
}


def register(servicer: object, server: grpc.aio.Server) -> None:
    handlers = {}
    for name, error in ERRORS.items():
        unary, stream = raising(error)
        handlers[f"{name}_unary"] = grpc.unary_unary_rpc_method_handler(unary)
        handlers[f"{name}_stream"] = grpc.unary_stream_rpc_method_handler(stream)
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))


@pytest.fixture
async def errors_channel(sqlite_url: str) -> AsyncIterator[grpc.aio.Channel]:
    database = Database(sqlite_url)
    server, port = await create_server("127.0.0.1:0", database, Wakeup(),
                                       services=[(register, None, SERVICE)])
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield channel
    finally:
        await server.stop(grace=None)
        await database.dispose()


EXPECTED = {
    "invalid": (grpc.StatusCode.INVALID_ARGUMENT, "location.evses[1].uid: required"),
    "not_found": (grpc.StatusCode.NOT_FOUND, "evse_uid: not found"),
    "precondition": (grpc.StatusCode.FAILED_PRECONDITION,
                     "location.party: XX/YYY is not a CPO party"),
    "conflict": (grpc.StatusCode.ALREADY_EXISTS,
                 "idempotency_key: used with a different payload"),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
async def test_our_errors_map_to_their_codes_in_unary_and_streaming_calls(
    errors_channel: grpc.aio.Channel, name: str
) -> None:
    code, details = EXPECTED[name]
    with pytest.raises(grpc.aio.AioRpcError) as unary:
        await errors_channel.unary_unary(f"/{SERVICE}/{name}_unary")(b"")
    assert (unary.value.code(), unary.value.details()) == (code, details)
    received = []
    with pytest.raises(grpc.aio.AioRpcError) as stream:
        async for message in errors_channel.unary_stream(f"/{SERVICE}/{name}_stream")(b""):
            received.append(message)
    assert received == [b"first"]
    assert (stream.value.code(), stream.value.details()) == (code, details)


async def call(channel: grpc.aio.Channel, method: str) -> list[bytes]:
    if method.endswith("_unary"):
        return [await channel.unary_unary(f"/{SERVICE}/{method}")(b"")]
    return [message async for message in channel.unary_stream(f"/{SERVICE}/{method}")(b"")]


@pytest.mark.parametrize("method", ["internal_unary", "internal_stream"])
async def test_unexpected_errors_are_internal_with_a_logged_request_id(
    errors_channel: grpc.aio.Channel, caplog: pytest.LogCaptureFixture, method: str
) -> None:
    caplog.set_level(logging.ERROR, logger="sidecar.servicers.status")
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call(errors_channel, method)
    assert error.value.code() == grpc.StatusCode.INTERNAL
    details = error.value.details() or ""
    assert "secret" not in details
    request_id = re.fullmatch(r"internal error \(request id ([0-9a-f]{32})\)", details)
    assert request_id is not None, details
    logged = [r for r in caplog.records if request_id[1] in r.getMessage()]
    assert len(logged) == 1
    assert logged[0].exc_info is not None
    assert "secret database password" in str(logged[0].exc_info[1])
