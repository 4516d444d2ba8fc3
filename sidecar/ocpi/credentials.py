"""Credentials module objects (credentials.asciidoc)."""

from __future__ import annotations

from typing import Annotated

import msgspec

from sidecar.ocpi.enums import Role
from sidecar.ocpi.types import URL, BusinessDetails, CiString2, CiString3, Struct, Token


class CredentialsRole(Struct, frozen=True):
    """One role (party) a platform offers."""

    role: Role
    business_details: BusinessDetails
    party_id: CiString3
    country_code: CiString2


class Credentials(Struct, frozen=True):
    """The token the receiver of this object must use, the sender's versions URL, its roles."""

    token: Token
    url: URL
    roles: Annotated[list[CredentialsRole], msgspec.Meta(min_length=1)]
