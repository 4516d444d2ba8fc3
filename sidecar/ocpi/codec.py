"""The one JSON codec for OCPI objects: decode with validation that names the field, fast encode."""

from __future__ import annotations

import re
from functools import cache
from typing import Any, TypeVar

import msgspec

from sidecar.errors import InvalidField, MalformedJson

T = TypeVar("T")

_PATH = re.compile(r" - at `\$(?P<path>[^`]*)`$")
_MISSING = re.compile(r"^Object missing required field `(?P<field>[^`]+)`")
_encoder = msgspec.json.Encoder(decimal_format="number")


@cache
def _decoder(type_: Any) -> msgspec.json.Decoder[Any]:
    return msgspec.json.Decoder(type_)


def _path_of(error: msgspec.ValidationError) -> tuple[str, str]:
    text = str(error)
    match = _PATH.search(text)
    path = match["path"].lstrip(".") if match else ""
    path = path or "body"
    reason = text[: match.start()] if match else text
    missing = _MISSING.match(reason)
    if missing:
        field = missing["field"]
        return (field if path == "body" else f"{path}.{field}"), "required"
    return path, reason


def decode(data: bytes | str, type_: type[T]) -> T:
    """Decode JSON into `type_`; raise InvalidField naming the JSON path of the first fault."""
    try:
        return _decoder(type_).decode(data)  # type: ignore[no-any-return, arg-type]
    except msgspec.ValidationError as error:
        path, reason = _path_of(error)
        raise InvalidField(path, reason) from None
    except msgspec.DecodeError as error:
        raise MalformedJson(str(error)) from None


def convert(value: Any, type_: type[T]) -> T:
    """Validate already-parsed JSON (dicts, lists) into `type_`, like `decode`."""
    try:
        return msgspec.convert(value, type_)
    except msgspec.ValidationError as error:
        path, reason = _path_of(error)
        raise InvalidField(path, reason) from None


def encode(value: Any) -> bytes:
    """Encode an OCPI object (or builtins) as compact JSON; decimals become JSON numbers."""
    return _encoder.encode(value)


def to_builtins(value: Any) -> Any:
    """An OCPI object as plain dicts and lists, the way `encode` would write it."""
    return msgspec.json.decode(_encoder.encode(value))
