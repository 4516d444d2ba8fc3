"""The address policy: which addresses our outbound calls to partners may reach.

A partner chooses the URLs we call (its versions and endpoint URLs, every response_url), and
we call them from our network position. So the host of each call is resolved and every
address it resolves to is checked before the call; and the address each connection is then
actually opened to is checked again (`socket_factory`), so a DNS answer that changes between
the two (rebinding) still cannot reach a refused address.

Without an allow-list, link-local addresses are refused (cloud metadata services live at
169.254.169.254 and in fe80::/10); loopback and private addresses are allowed, since a
partner on the same host or network is a normal deployment. With `--partner-networks`, only
addresses inside one of its networks are allowed.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import socket
import time
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network

LINK_LOCAL: tuple[Network, ...] = (ipaddress.ip_network("169.254.0.0/16"),
                                   ipaddress.ip_network("fe80::/10"))
# How long a host's checked resolution is reused: aiohttp's own DNS cache keeps answers
# for 10 s, so a check older than what the connection will use is never trusted longer.
RECHECK_AFTER = 10.0
_REMEMBERED = 1024


class AddressRefused(OSError):
    """The address policy refused a host; the message says so and names only the host."""

    def __init__(self, host: str, reason: str) -> None:
        self.host = host
        super().__init__(f"the address policy refused {host}: {reason}")


def networks(values: Iterable[str]) -> tuple[Network, ...]:
    """Parsed CIDRs (ValueError naming the bad one); `10.0.0.1/8` is refused as a typo."""
    parsed = []
    for value in values:
        try:
            parsed.append(ipaddress.ip_network(value.strip()))
        except ValueError as error:
            raise ValueError(f"{value!r}: {error}") from None
    return tuple(parsed)


def _address(text: str) -> Address:
    # getaddrinfo may give an IPv6 scope (`fe80::1%eth0`); an IPv4-mapped IPv6 address
    # reaches the IPv4 address, so it is judged as that.
    address = ipaddress.ip_address(text.partition("%")[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


class AddressPolicy:
    """Allowed: inside one of `allowed`; without any, everything but link-local."""

    def __init__(self, allowed: Iterable[str] = ()) -> None:
        self.allowed = networks(allowed)
        self._checked: dict[tuple[str, int], tuple[float, str | None]] = {}

    def refusal(self, address: str) -> str | None:
        """Why `address` may not be called, or None when it may."""
        ip = _address(address)
        if self.allowed:
            if any(ip in network for network in self.allowed):
                return None
            return "its address is outside the allowed partner networks"
        if any(ip in network for network in LINK_LOCAL):
            return "its address is link-local (where cloud metadata services live)"
        return None

    async def check(self, url: str) -> None:
        """Resolve the URL's host; AddressRefused when any of its addresses is refused.

        A host that does not resolve passes: the call itself then fails as unreachable.
        """
        parts = urlsplit(url)
        host = parts.hostname
        if not host:
            return
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        key = (host, port)
        now = time.monotonic()
        remembered = self._checked.get(key)
        if remembered is not None and remembered[0] > now:
            reason = remembered[1]
        else:
            try:
                found = await asyncio.get_running_loop().getaddrinfo(
                    host, port, type=socket.SOCK_STREAM)
            except OSError:
                return
            addresses = sorted({str(info[4][0]) for info in found})
            reason = next((r for a in addresses if (r := self.refusal(a))), None)
            if reason:
                log.warning("address policy: refused %s (resolves to %s)", host,
                            ", ".join(addresses))
            if len(self._checked) >= _REMEMBERED:
                self._checked.clear()
            self._checked[key] = (now + RECHECK_AFTER, reason)
        if reason:
            raise AddressRefused(host, reason)

    def socket_factory(self, addr_info: tuple[Any, ...]) -> socket.socket:
        """The socket for one connection attempt (aiohttp's `socket_factory`): refused
        unless the address it is about to connect to is allowed (pins the check)."""
        family, type_, proto, _, sockaddr = addr_info
        reason = self.refusal(str(sockaddr[0]))
        if reason:
            log.warning("address policy: refused a connection to %s", sockaddr[0])
            raise AddressRefused(str(sockaddr[0]), reason)
        return socket.socket(family=family, type=type_, proto=proto)


def refused_in(error: BaseException) -> AddressRefused | None:
    """The AddressRefused behind an HTTP client error, if the policy caused it."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, AddressRefused):
            return current
        seen.add(id(current))
        inner = getattr(current, "os_error", None)  # aiohttp's connector errors keep it
        current = inner if isinstance(inner, BaseException) else (
            current.__cause__ or current.__context__)
    return None
