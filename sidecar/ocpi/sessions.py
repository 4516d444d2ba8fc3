"""Sessions module objects (mod_sessions.asciidoc), with the CDR classes a Session embeds.

CdrToken, ChargingPeriod and CdrDimension are defined in mod_cdrs but live here because
sessions use them first; `sidecar.ocpi.cdrs` re-exports them.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated

import msgspec

from sidecar.ocpi.enums import AuthMethod, CdrDimensionType, ProfileType, SessionStatus, TokenType
from sidecar.ocpi.types import (
    CiString2,
    CiString3,
    CiString36,
    DateTime,
    Price,
    String3,
    String255,
    Struct,
)


class CdrToken(Struct, frozen=True, kw_only=True):
    """The token a session was started with, identifying its eMSP owner."""

    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36


class CdrDimension(Struct, frozen=True, kw_only=True):
    """One measured value of a charging period, in the unit its type defines."""

    type: CdrDimensionType
    volume: Decimal


class ChargingPeriod(Struct, frozen=True, kw_only=True):
    """A period that runs until the next one starts (the last until the session ends)."""

    start_date_time: DateTime
    dimensions: Annotated[list[CdrDimension], msgspec.Meta(min_length=1)]
    tariff_id: CiString36 | None = None


class Session(Struct, frozen=True, kw_only=True):
    """A charging session. `evse_uid`/`connector_id` may be "#NA" for a reservation."""

    country_code: CiString2
    party_id: CiString3
    id: CiString36
    start_date_time: DateTime
    end_date_time: DateTime | None = None
    kwh: Decimal
    cdr_token: CdrToken
    auth_method: AuthMethod
    authorization_reference: CiString36 | None = None
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36
    meter_id: String255 | None = None
    currency: String3
    charging_periods: list[ChargingPeriod] | None = None
    total_cost: Price | None = None
    status: SessionStatus
    last_updated: DateTime


class ChargingPreferences(Struct, frozen=True, kw_only=True):
    """Driver preferences for smart charging, PUT by the eMSP on a running session."""

    profile_type: ProfileType
    departure_time: DateTime | None = None
    energy_need: Decimal | None = None
    discharge_allowed: bool | None = None
