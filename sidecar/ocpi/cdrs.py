"""CDRs module objects (mod_cdrs.asciidoc): the final, immutable record of a session."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from sidecar.ocpi.enums import (
    SESSION_ONLY_DIMENSIONS,
    AuthMethod,
    ConnectorFormat,
    ConnectorType,
    PowerType,
)
from sidecar.ocpi.locations import GeoLocation
from sidecar.ocpi.sessions import CdrDimension, CdrToken, ChargingPeriod
from sidecar.ocpi.tariffs import Tariff
from sidecar.ocpi.types import (
    CiString2,
    CiString3,
    CiString32,
    CiString36,
    CiString39,
    CiString48,
    DateTime,
    Price,
    String3,
    String10,
    String20,
    String45,
    String255,
    String512,
    String5000,
    Struct,
)

__all__ = [
    "CDR",
    "CdrDimension",
    "CdrLocation",
    "CdrToken",
    "ChargingPeriod",
    "SignedData",
    "SignedValue",
]

# A normal CDR id is CiString(36); credit CDRs may append to the original id, up to 39.
NORMAL_CDR_ID_LENGTH = 36


class CdrLocation(Struct, frozen=True, kw_only=True):
    """The location, EVSE and connector of a session as they were at its start.

    `address`/`state` keep 45/20 characters: the 2026 erratum raised them only on Location.
    """

    id: CiString36
    name: String255 | None = None
    address: String45
    city: String45
    postal_code: String10 | None = None
    state: String20 | None = None
    country: String3
    coordinates: GeoLocation
    evse_uid: CiString36
    evse_id: CiString48
    connector_id: CiString36
    connector_standard: ConnectorType
    connector_format: ConnectorFormat
    connector_power_type: PowerType


class SignedValue(Struct, frozen=True, kw_only=True):
    """A signed meter value with its plain text (`plain_data` 5000: 2026 erratum)."""

    nature: CiString32
    plain_data: String5000
    signed_data: String5000


class SignedData(Struct, frozen=True, kw_only=True):
    """Calibration-law (Eichrecht) signed meter data of a session."""

    encoding_method: CiString36
    encoding_method_version: int | None = None
    public_key: String512 | None = None
    signed_values: Annotated[list[SignedValue], msgspec.Meta(min_length=1)]
    url: String512 | None = None


class CDR(Struct, frozen=True, kw_only=True):
    """Charge detail record; corrections are credit CDRs (`credit` + `credit_reference_id`)."""

    country_code: CiString2
    party_id: CiString3
    id: CiString39
    start_date_time: DateTime
    end_date_time: DateTime
    session_id: CiString36 | None = None
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    cdr_location: CdrLocation
    meter_id: String255 | None = None
    currency: String3
    tariffs: list[Tariff] | None = None
    charging_periods: Annotated[list[ChargingPeriod], msgspec.Meta(min_length=1)]
    signed_data: SignedData | None = None
    total_cost: Price
    total_fixed_cost: Price | None = None
    total_energy: Decimal
    total_energy_cost: Price | None = None
    total_time: Decimal
    total_time_cost: Price | None = None
    total_parking_time: Decimal | None = None
    total_parking_cost: Price | None = None
    total_reservation_cost: Price | None = None
    remark: String255 | None = None
    invoice_reference_id: CiString39 | None = None
    credit: bool | None = None
    credit_reference_id: CiString39 | None = None
    home_charging_compensation: bool | None = None
    last_updated: DateTime

    def __post_init__(self) -> None:
        if self.credit and self.credit_reference_id is None:
            raise ValueError("credit_reference_id is required when credit is true")
        if not self.credit and len(self.id) > NORMAL_CDR_ID_LENGTH:
            raise ValueError("id of a CDR that is not a credit CDR is at most 36 characters")
        for index, period in enumerate(self.charging_periods):
            for position, dimension in enumerate(period.dimensions):
                if dimension.type in SESSION_ONLY_DIMENSIONS:
                    raise ValueError(
                        f"charging_periods[{index}].dimensions[{position}].type: "
                        f"{dimension.type} is for sessions only, not for CDRs"
                    )
