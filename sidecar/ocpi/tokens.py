"""Tokens module objects (mod_tokens.asciidoc); the eMSP owns tokens, the CPO caches them."""

from __future__ import annotations

from sidecar.ocpi.enums import AllowedType, ProfileType, TokenType, WhitelistType
from sidecar.ocpi.types import (
    CiString2,
    CiString3,
    CiString36,
    DateTime,
    DisplayText,
    String2,
    String64,
    Struct,
)


class EnergyContract(Struct, frozen=True, kw_only=True):
    """The driver's own energy supplier and contract, where charge points support it."""

    supplier_name: String64
    contract_id: String64 | None = None


class Token(Struct, frozen=True, kw_only=True):
    """A driver's token; `uid` and `type` together identify it within its eMSP."""

    country_code: CiString2
    party_id: CiString3
    uid: CiString36
    type: TokenType
    contract_id: CiString36
    visual_number: String64 | None = None
    issuer: String64
    group_id: CiString36 | None = None
    valid: bool
    whitelist: WhitelistType
    language: String2 | None = None
    default_profile_type: ProfileType | None = None
    energy_contract: EnergyContract | None = None
    last_updated: DateTime


class LocationReferences(Struct, frozen=True, kw_only=True):
    """The location (and EVSEs) a real-time authorization asks about or allows."""

    location_id: CiString36
    evse_uids: list[CiString36] | None = None


class AuthorizationInfo(Struct, frozen=True, kw_only=True):
    """The eMSP's answer to a real-time authorization."""

    allowed: AllowedType
    token: Token
    location: LocationReferences | None = None
    authorization_reference: CiString36 | None = None
    info: DisplayText | None = None
