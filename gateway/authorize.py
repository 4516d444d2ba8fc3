"""Real-time token authorization at the owning eMSP: POST {tokens}/{uid}/authorize."""

from __future__ import annotations

from gateway.client import OCPIClient, PartnerError
from gateway.routing import to_partner
from gateway.urls import join
from sidecar.ocpi import codec
from sidecar.ocpi.enums import InterfaceRole
from sidecar.ocpi.tokens import AuthorizationInfo, LocationReferences
from sidecar.store.partners import Partner


def answered(error: PartnerError) -> bool:
    """Whether a failed authorize is the eMSP's verdict on the token, not an outage.

    mod_tokens: an eMSP that does not know the token answers HTTP 404 (2004); a request it
    cannot judge gets a 2xxx (2002: too little information). Those are answers: falling back
    to the cache would let a token the eMSP just refused charge. HTTP 5xx, OCPI 3xxx (and
    4xxx, a hub that could not route), 401/403 (it did not accept our credentials, so it
    never judged the token) and no envelope at all are outages.
    """
    http = error.http_status
    if http is not None and (http >= 500 or http in (401, 403)):
        return False
    if http == 404:
        return True
    return error.status_code is not None and 2000 <= error.status_code < 3000


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
        *,
        sender: tuple[str, str] | None = None,
        recipient: tuple[str, str] | None = None,
    ) -> AuthorizationInfo | None:
        """The eMSP's AuthorizationInfo; None when it answered without authorizing (an
        unknown token, HTTP 404 / 2004, or another 2xxx)."""
        base = partner.endpoint("tokens", InterfaceRole.SENDER)
        if base is None or partner.outbound_token is None:
            raise ConnectionError("the partner has no Tokens Sender endpoint")
        url = join(base, uid, "authorize", query=f"type={token_type}")
        body = codec.encode(location) if location is not None else None
        try:
            reply = await self.client.request(
                "POST", url, partner.outbound_token, body=body,
                headers=to_partner(partner, sender, recipient),
                token_base64=partner.outbound_token_base64)
        except PartnerError as error:
            if answered(error):
                return None
            raise ConnectionError(str(error)) from None
        try:
            return self.client.data(reply, AuthorizationInfo)
        except PartnerError as error:
            raise ConnectionError(str(error)) from None
