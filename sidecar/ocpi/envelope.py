"""The OCPI response envelope (transport_and_format.asciidoc, Response format)."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

import msgspec

from sidecar.ocpi.types import DateTime

T = TypeVar("T")


class Response(msgspec.Struct, Generic[T], frozen=True, omit_defaults=True):
    """`data` is the payload; status_code 1000 is success, 2xxx client, 3xxx server error.

    What we send: every field the spec requires is required here.
    """

    status_code: int
    timestamp: DateTime
    data: T | None = None
    status_message: str | None = None


AnyResponse = Response[Any]

FIELDS = frozenset(Response.__struct_fields__)


class Received(msgspec.Struct, frozen=True):
    """An envelope as we accept it from a partner: only `status_code` is needed.

    Peers in the field omit `timestamp` or add fields of their own; neither changes what the
    answer means, so neither makes it unusable (strict in what we send, liberal in what we
    accept). Unknown fields are ignored.
    """

    status_code: int
    timestamp: DateTime | None = None
    data: Any = None
    status_message: str | None = None
