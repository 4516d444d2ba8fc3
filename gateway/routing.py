"""The routing headers of the requests we send (transport_and_format, message routing).

Every request between platforms names the party it comes from and the party it is for:
OCPI-from is our CPO party, OCPI-to the recipient party. Through a hub, OCPI-to is what
lets the hub forward to the party behind it; a broadcast (locations, tariffs) to a hub is
addressed to the hub itself.
"""

from __future__ import annotations

from sidecar.store.partners import Partner, PartnerRole


def party_of(role: PartnerRole | None) -> tuple[str, str] | None:
    """(country_code, party_id) of a role, or None."""
    return (role.country_code, role.party_id) if role is not None else None


def routing_headers(
    sender: tuple[str, str] | None, recipient: tuple[str, str] | None
) -> dict[str, str]:
    """OCPI-from/OCPI-to headers for a request from `sender` to `recipient` (each left
    out when unknown)."""
    headers: dict[str, str] = {}
    if sender is not None:
        headers["OCPI-from-country-code"], headers["OCPI-from-party-id"] = sender
    if recipient is not None:
        headers["OCPI-to-country-code"], headers["OCPI-to-party-id"] = recipient
    return headers


def to_partner(
    partner: Partner, sender: tuple[str, str] | None,
    recipient: tuple[str, str] | None = None,
) -> dict[str, str]:
    """Routing headers of a request to the partner, for `recipient` when it is known,
    else for the partner as a whole (its broadcast party: a hub's HUB role)."""
    return routing_headers(sender, recipient or party_of(partner.broadcast_party()))
