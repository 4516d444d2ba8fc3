"""The OCPI response envelope (transport_and_format.asciidoc, Response format)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from sidecar.ocpi.types import DateTime

T = TypeVar("T")


class Response(msgspec.Struct, Generic[T], frozen=True, omit_defaults=True):
    """`data` is the payload; status_code 1000 is success, 2xxx client, 3xxx server error."""

    status_code: int
    timestamp: DateTime
    data: T | None = None
    status_message: str | None = None


AnyResponse = Response[Any]
