"""Locations module objects (mod_locations.asciidoc): Location, EVSE, Connector and their classes.

Cross-field rules the spec states with SHALL/must are checked in ``__post_init__``; a broken rule
is reported by the codec as InvalidField at the path of the object that breaks it.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from sidecar.ocpi.enums import (
    Capability,
    ConnectorFormat,
    ConnectorType,
    EnergySourceCategory,
    EnvironmentalImpactCategory,
    Facility,
    ParkingRestriction,
    ParkingType,
    PowerType,
    Status,
    TokenType,
)
from sidecar.ocpi.types import (
    URL,
    BusinessDetails,
    CiString2,
    CiString3,
    CiString36,
    CiString48,
    DateTime,
    DisplayText,
    HourMinute,
    Image,
    Latitude,
    Longitude,
    String3,
    String4,
    String10,
    String16,
    String45,
    String64,
    String255,
    Struct,
    Weekday,
    ci_key,
)


class GeoLocation(Struct, frozen=True, kw_only=True):
    """A WGS 84 point in decimal degrees, written as strings."""

    latitude: Latitude
    longitude: Longitude


class AdditionalGeoLocation(Struct, frozen=True, kw_only=True):
    """A related point of interest, such as a parking entrance."""

    latitude: Latitude
    longitude: Longitude
    name: DisplayText | None = None


class RegularHours(Struct, frozen=True, kw_only=True):
    """A weekly recurring period in local time; the end must be later than the begin."""

    weekday: Weekday
    period_begin: HourMinute
    period_end: HourMinute

    def __post_init__(self) -> None:
        # "HH:MM" strings with leading zeros order like the times they name.
        if self.period_end <= self.period_begin:
            raise ValueError("period_end must be later than period_begin")


class ExceptionalPeriod(Struct, frozen=True, kw_only=True):
    """A one-off opening or closing, in UTC."""

    period_begin: DateTime
    period_end: DateTime


class Hours(Struct, frozen=True, kw_only=True):
    """Opening or access hours: 24/7, or regular hours, plus exceptions."""

    twentyfourseven: bool
    regular_hours: list[RegularHours] | None = None
    exceptional_openings: list[ExceptionalPeriod] | None = None
    exceptional_closings: list[ExceptionalPeriod] | None = None

    def __post_init__(self) -> None:
        if self.twentyfourseven and self.regular_hours:
            raise ValueError("regular_hours may only be used when twentyfourseven is false")
        if not self.twentyfourseven and not self.regular_hours:
            raise ValueError("regular_hours needs at least one entry when twentyfourseven is false")


class EnergySource(Struct, frozen=True, kw_only=True):
    """One source of the energy mix and its share in percent."""

    source: EnergySourceCategory
    percentage: Decimal

    def __post_init__(self) -> None:
        if not self.percentage.is_finite() or not 0 <= self.percentage <= 100:
            raise ValueError("percentage must be between 0 and 100")


class EnvironmentalImpact(Struct, frozen=True, kw_only=True):
    """Waste or emission of the energy mix, in g/kWh."""

    category: EnvironmentalImpactCategory
    amount: Decimal


class EnergyMix(Struct, frozen=True, kw_only=True):
    """The energy supplied at a location or with a tariff."""

    is_green_energy: bool
    energy_sources: list[EnergySource] | None = None
    environ_impact: list[EnvironmentalImpact] | None = None
    supplier_name: String64 | None = None
    energy_product_name: String64 | None = None


class StatusSchedule(Struct, frozen=True, kw_only=True):
    """A planned EVSE status, informational only."""

    period_begin: DateTime
    period_end: DateTime | None = None
    status: Status


class PublishTokenType(Struct, frozen=True, kw_only=True):
    """Identifies tokens that may see an unpublished location (all set fields must match)."""

    uid: CiString36 | None = None
    type: TokenType | None = None
    visual_number: String64 | None = None
    issuer: String64 | None = None
    group_id: CiString36 | None = None

    def __post_init__(self) -> None:
        if self.uid is None and self.visual_number is None and self.group_id is None:
            raise ValueError("one of uid, visual_number or group_id is required")
        if self.uid is not None and self.type is None:
            raise ValueError("type is required when uid is set")
        if self.visual_number is not None and self.issuer is None:
            raise ValueError("issuer is required when visual_number is set")


class Connector(Struct, frozen=True, kw_only=True):
    """A socket or cable of an EVSE; connectors of one EVSE cannot be used at the same time."""

    id: CiString36
    standard: ConnectorType
    format: ConnectorFormat
    power_type: PowerType
    max_voltage: int
    max_amperage: int
    max_electric_power: int | None = None
    tariff_ids: list[CiString36] | None = None
    terms_and_conditions: URL | None = None
    last_updated: DateTime


class EVSE(Struct, frozen=True, kw_only=True):
    """One charging point for one EV at a time; never deleted, set to REMOVED instead."""

    uid: CiString36
    evse_id: CiString48 | None = None
    status: Status
    status_schedule: list[StatusSchedule] | None = None
    capabilities: list[Capability] | None = None
    connectors: Annotated[list[Connector], msgspec.Meta(min_length=1)]
    floor_level: String4 | None = None
    coordinates: GeoLocation | None = None
    physical_reference: String16 | None = None
    directions: list[DisplayText] | None = None
    parking_restrictions: list[ParkingRestriction] | None = None
    images: list[Image] | None = None
    last_updated: DateTime


class Location(Struct, frozen=True, kw_only=True):
    """A site with EVSEs. `address`/`state` allow 255/45 characters (2026 erratum)."""

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    publish: bool
    publish_allowed_to: list[PublishTokenType] | None = None
    name: String255 | None = None
    address: String255
    city: String45
    postal_code: String10 | None = None
    state: String45 | None = None
    country: String3
    coordinates: GeoLocation
    related_locations: list[AdditionalGeoLocation] | None = None
    parking_type: ParkingType | None = None
    evses: list[EVSE] | None = None
    directions: list[DisplayText] | None = None
    operator: BusinessDetails | None = None
    suboperator: BusinessDetails | None = None
    owner: BusinessDetails | None = None
    facilities: list[Facility] | None = None
    time_zone: String255
    opening_times: Hours | None = None
    charging_when_closed: bool | None = None
    images: list[Image] | None = None
    energy_mix: EnergyMix | None = None
    last_updated: DateTime

    def __post_init__(self) -> None:
        if self.publish and self.publish_allowed_to:
            raise ValueError("publish_allowed_to may only be used when publish is false")


def find_evse(location: Location, uid: str) -> EVSE | None:
    """The location's EVSE with this uid (a CiString: any case), or None."""
    key = ci_key(uid)
    return next((e for e in location.evses or [] if ci_key(e.uid) == key), None)


def find_connector(evse: EVSE, connector_id: str) -> Connector | None:
    """The EVSE's connector with this id (a CiString: any case), or None."""
    key = ci_key(connector_id)
    return next((c for c in evse.connectors if ci_key(c.id) == key), None)
