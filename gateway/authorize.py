"""Real-time token authorization at the owning eMSP: POST {tokens}/{uid}/authorize."""

from __future__ import annotations

from gateway.client import OCPIClient, PartnerError, PartnerUnreachable
from gateway.urls import join
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.enums import InterfaceRole
from sidecar.ocpi.tokens import AuthorizationInfo, LocationReferences
from sidecar.store.partners import Partner

_UNKNOWN_TOKEN = 2004


class OCPIAuthorizer:
    """sidecar.servicers.ports.RealTimeAuthorizer over the process's OCPIClient; raises
    ConnectionError when the eMSP gives no usable answer in time."""

    def __init__(self, client: OCPIClient) -> None:
        self.client = client

    async def authorize(
        self,
        partner: Partner,
        uid: str,
        token_type: str,
        location: LocationReferences | None,
    ) -> AuthorizationInfo | None:
        """The eMSP's AuthorizationInfo; None for an unknown token (HTTP 404 or 2004)."""
        base = partner.endpoint("tokens", InterfaceRole.SENDER)
        if base is None or partner.outbound_token is None:
            raise ConnectionError("the partner has no Tokens Sender endpoint")
        url = join(base, uid, "authorize", query=f"type={token_type}")
        body = codec.encode(location) if location is not None else None
        try:
            reply = await self.client.request(
                "POST", url, partner.outbound_token, body=body,
                token_base64=partner.outbound_token_base64)
        except PartnerUnreachable as error:
            if error.http_status == 404:
                return None
            raise ConnectionError(str(error)) from None
        except PartnerError as error:
            if error.http_status == 404 or error.status_code == _UNKNOWN_TOKEN:
                return None
            raise ConnectionError(str(error)) from None
        try:
            return codec.convert(reply.envelope.data, AuthorizationInfo)
        except InvalidField as error:
            raise ConnectionError(f"invalid AuthorizationInfo: {error}") from None
