"""PATCH bodies: validate a partial object field by field, then apply it to a stored object.

Decisions:
- Only the fields present are validated, each against its annotation in the full model; nested
  objects and list items are complete objects (a PATCH replaces a top-level field as a whole).
- `last_updated` is required in every PATCH of an object that has it (Location, EVSE,
  Connector, Session, Token): InvalidField("last_updated", "required").
- `null` sets an optional field to "not set"; `null` for a required field is rejected.
- Unknown top-level fields are ignored, like unknown fields of full objects in the codec, so
  a newer peer's extra field costs no 2001; `forbid_unknown=True` rejects them instead,
  naming the field. Unknown fields inside nested objects are always ignored.
- Session `charging_periods` in a PATCH are appended, never replaced; null or [] changes
  nothing (mod_sessions PATCH). `apply_patch` does that by default for Session.
- Identifiers (`country_code`, `party_id`, `id`, `uid`) may be repeated in a PATCH but not
  changed (CiStrings: compared without case).
"""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from functools import cache
from typing import Any, TypeVar

import msgspec

from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.sessions import Session
from sidecar.ocpi.types import Struct

S = TypeVar("S", bound=Struct)

# Lists that a PATCH extends instead of replacing, per object type.
APPENDED_ON_PATCH: dict[type[Struct], frozenset[str]] = {
    Session: frozenset({"charging_periods"}),
}

# Identifiers that "can never be changed, modified or renamed".
IMMUTABLE_FIELDS = frozenset({"country_code", "party_id", "id", "uid"})

_UNKNOWN_FIELD = re.compile(r"^Object contains unknown field `(?P<field>[^`]+)`$")
# The path the codec gives a fault of the whole body; "" in older codecs.
_BODY = "body"


@cache
def partial_type(type_: type[Struct], forbid_unknown: bool = False) -> type[msgspec.Struct]:
    """A Struct with the fields of `type_`, each optional (UNSET when absent) but `last_updated`."""
    fields: list[tuple[str, Any] | tuple[str, Any, Any]] = []
    for field in msgspec.structs.fields(type_):
        if field.name == "last_updated":
            fields.append((field.name, field.type))
        else:
            fields.append((field.name, field.type | msgspec.UnsetType, msgspec.UNSET))
    return msgspec.defstruct(
        f"{type_.__name__}Patch",
        fields,
        kw_only=True,
        frozen=True,
        forbid_unknown_fields=forbid_unknown,
        module=__name__,
    )


def decode_patch(
    data: bytes | str, type_: type[Struct], *, forbid_unknown: bool = False
) -> dict[str, Any]:
    """Validate a PATCH body for `type_`; return the fields present, as validated values."""
    try:
        body = codec.decode(data, partial_type(type_, forbid_unknown))
    except InvalidField as error:
        raise _named_unknown(error) from None
    present = ((name, getattr(body, name)) for name in body.__struct_fields__)
    return {name: value for name, value in present if value is not msgspec.UNSET}


def apply_patch(obj: S, patch: Mapping[str, Any], *, append: Collection[str] | None = None) -> S:
    """A copy of `obj` with the fields of `patch` (from `decode_patch`) replaced.

    Lists named in `append` are extended instead; by default those of APPENDED_ON_PATCH for
    the object's type (Session: charging_periods). Pass `append=()` to replace every field.
    The result is re-checked by the model's own cross-field rules.
    """
    appended = APPENDED_ON_PATCH.get(type(obj), frozenset()) if append is None else append
    changes: dict[str, Any] = {}
    for name, value in patch.items():
        if name not in obj.__struct_fields__:
            raise InvalidField(name, "unknown field")
        current = getattr(obj, name)
        if name in IMMUTABLE_FIELDS and not _same_id(value, current):
            raise InvalidField(name, f"cannot be changed from {current!r}")
        if name in appended:
            if value:
                changes[name] = [*(current or ()), *value]
            continue
        changes[name] = value
    try:
        return msgspec.structs.replace(obj, **changes)
    except ValueError as error:
        raise InvalidField(_BODY, str(error)) from None


def _same_id(value: Any, current: Any) -> bool:
    if isinstance(value, str) and isinstance(current, str):
        return value.lower() == current.lower()
    return bool(value == current)


def _named_unknown(error: InvalidField) -> InvalidField:
    match = _UNKNOWN_FIELD.match(error.reason)
    if match is None:
        return error
    field = match["field"]
    path = field if error.path in ("", _BODY) else f"{error.path}.{field}"
    return InvalidField(path, "unknown field")
