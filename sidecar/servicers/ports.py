"""What the servicers need from the partner-facing half, as protocols the CLI wires in.

The servicers may not import the gateway; the gateway implements these and `cli.serve`
passes them to `create_server`.
"""

from __future__ import annotations

from typing import Protocol

from sidecar.ocpi.tokens import AuthorizationInfo, LocationReferences
from sidecar.store.partners import Partner


class RealTimeAuthorizer(Protocol):
    """Asks a token's eMSP whether it may charge now (POST {tokens}/{uid}/authorize)."""

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
        """The eMSP's answer, asked for our party `sender` about a token of
        `recipient` (None when unknown: the platform as a whole, e.g. a hub); None when it
        answered without authorizing: it does not know the token (404 / 2004) or refused
        the request (another OCPI 2xxx).

        Raises ConnectionError (a builtin, so that the gateway need not import this module)
        when the eMSP gives no usable answer; the caller bounds the time it waits.
        """
        ...
