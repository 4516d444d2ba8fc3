"""OCPI 2.2.1 primitive types (types.asciidoc) as msgspec constraints."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

import msgspec

from sidecar.ocpi.enums import ImageCategory

# OCPI `number` fields we send carry at most 4 decimals (types.asciidoc: decimal(4)).
_NUMBER_PLACES = Decimal("0.0001")


def number(value: Decimal) -> Decimal:
    """A computed value as an OCPI number goes out: half up to 4 decimals, no trailing zeros.

    Called once, where a reported quantity is built for output (session and CDR totals,
    charging-period volumes); what is computed from it keeps its exact inputs.
    """
    rounded = value.quantize(_NUMBER_PLACES, rounding=ROUND_HALF_UP)
    if rounded == rounded.to_integral_value():
        return rounded.quantize(Decimal(1))
    return rounded.normalize()


# CiString(n): printable ASCII, case-insensitive in comparisons, stored as given.
_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def ci_key(value: str) -> str:
    """What a CiString is compared by: ASCII letters in lower case, nothing else changed.

    Exactly what SQL lower() makes of printable ASCII on SQLite and PostgreSQL alike, so the
    store's `lower(object_id)` index and Python comparisons agree; folding only ASCII keeps
    a non-ASCII look-alike (the Kelvin sign) from matching a stored ASCII id.
    """
    return value.translate(_ASCII_LOWER)


def ci_equal(a: str, b: str) -> bool:
    """Two CiStrings name the same thing."""
    return ci_key(a) == ci_key(b)


CiString2 = Annotated[str, msgspec.Meta(min_length=2, max_length=2, pattern=r"^[\x20-\x7e]*$")]
CiString3 = Annotated[str, msgspec.Meta(min_length=3, max_length=3, pattern=r"^[\x20-\x7e]*$")]
CiString4 = Annotated[str, msgspec.Meta(max_length=4, pattern=r"^[\x20-\x7e]*$")]
CiString36 = Annotated[str, msgspec.Meta(max_length=36, pattern=r"^[\x20-\x7e]*$")]
CiString39 = Annotated[str, msgspec.Meta(max_length=39, pattern=r"^[\x20-\x7e]*$")]
CiString48 = Annotated[str, msgspec.Meta(max_length=48, pattern=r"^[\x20-\x7e]*$")]
CiString255 = Annotated[str, msgspec.Meta(max_length=255, pattern=r"^[\x20-\x7e]*$")]

String2 = Annotated[str, msgspec.Meta(max_length=2)]
String3 = Annotated[str, msgspec.Meta(max_length=3)]
String4 = Annotated[str, msgspec.Meta(max_length=4)]
String8 = Annotated[str, msgspec.Meta(max_length=8)]
String15 = Annotated[str, msgspec.Meta(max_length=15)]
String20 = Annotated[str, msgspec.Meta(max_length=20)]
String32 = Annotated[str, msgspec.Meta(max_length=32)]
String36 = Annotated[str, msgspec.Meta(max_length=36)]
String45 = Annotated[str, msgspec.Meta(max_length=45)]
String64 = Annotated[str, msgspec.Meta(max_length=64)]
String100 = Annotated[str, msgspec.Meta(max_length=100)]
String255 = Annotated[str, msgspec.Meta(max_length=255)]
String512 = Annotated[str, msgspec.Meta(max_length=512)]
String5000 = Annotated[str, msgspec.Meta(max_length=5000)]

URL = Annotated[str, msgspec.Meta(max_length=255)]
# A credentials token: printable non-whitespace ASCII (credentials.asciidoc).
Token = Annotated[str, msgspec.Meta(min_length=1, max_length=64, pattern=r"^[\x21-\x7e]+$")]

# DateTime: RFC 3339, UTC. The codec turns a value without a designator into UTC.
# Described as a JSON Schema date-time (msgspec says only "string" of any datetime).
DateTime = Annotated[datetime, msgspec.Meta(extra_json_schema={"format": "date-time"})]


class Struct(msgspec.Struct, frozen=True, omit_defaults=True, forbid_unknown_fields=False):
    """Base of every OCPI object: immutable, optional fields left out when unset."""


class DisplayText(Struct, frozen=True):
    """Text in one language."""

    language: String2
    text: String512


class Price(Struct, frozen=True):
    """A price; amounts are decimals (never binary floats), written as JSON numbers."""

    excl_vat: Decimal
    incl_vat: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("excl_vat", "incl_vat"):
            value = getattr(self, name)
            if value is not None and not value.is_finite():
                raise ValueError(f"{name} must be a finite number")


def utc(value: datetime) -> datetime:
    """The same instant as an aware UTC datetime (OCPI: no designator means UTC)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now() -> datetime:
    """Current UTC time in whole seconds, so that it fits OCPI's DateTime (string(25))."""
    return datetime.now(UTC).replace(microsecond=0)


class Image(Struct, frozen=True):
    """A reference to an image (mod_locations Image class)."""

    url: URL
    category: ImageCategory
    type: CiString4
    thumbnail: URL | None = None
    width: Annotated[int, msgspec.Meta(ge=0, le=99999)] | None = None
    height: Annotated[int, msgspec.Meta(ge=0, le=99999)] | None = None


class BusinessDetails(Struct, frozen=True):
    """Name, website and logo of a party (mod_locations BusinessDetails class)."""

    name: String100
    website: URL | None = None
    logo: Image | None = None


CiString32 = Annotated[str, msgspec.Meta(max_length=32, pattern=r"^[\x20-\x7e]*$")]
String10 = Annotated[str, msgspec.Meta(max_length=10)]
String16 = Annotated[str, msgspec.Meta(max_length=16)]

# GeoLocation coordinates: decimal degrees as strings, with the spec's regexes anchored.
Latitude = Annotated[str, msgspec.Meta(max_length=10, pattern=r"^-?[0-9]{1,2}\.[0-9]{5,7}$")]
Longitude = Annotated[str, msgspec.Meta(max_length=11, pattern=r"^-?[0-9]{1,3}\.[0-9]{5,7}$")]

# Local time of day "HH:MM" (RegularHours, TariffRestrictions) and local date "YYYY-MM-DD".
HourMinute = Annotated[str, msgspec.Meta(max_length=5, pattern=r"^([0-1][0-9]|2[0-3]):[0-5][0-9]$")]
LocalDate = Annotated[
    str,
    msgspec.Meta(
        max_length=10, pattern=r"^([12][0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])$"
    ),
]

# int(1) day of the week, Monday 1 to Sunday 7 (RegularHours).
Weekday = Annotated[int, msgspec.Meta(ge=1, le=7)]
