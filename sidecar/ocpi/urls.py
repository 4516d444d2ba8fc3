"""The one rule of a URL another party may call, and of the host in it.

Pure (no I/O): the gateway checks every URL a partner chooses with it, and the CLI checks
the URL we hand to partners (`--public-url`) and the hosts we listen on with the same rule.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

# types.asciidoc: a URL is a string(255).
MAX_LENGTH = 255
# Printable ASCII without the space: anything else (whitespace, control characters, raw
# non-ASCII) is either not a URL or parsed differently by different libraries.
_PRINTABLE = re.compile(r"[\x21-\x7e]+")
_LABEL = r"[A-Za-z0-9_](?:[A-Za-z0-9_-]*[A-Za-z0-9_])?"
_HOSTNAME = re.compile(rf"{_LABEL}(?:\.{_LABEL})*\.?")


class UnusableUrl(ValueError):
    """A partner's URL that we will not call; `reason` says why, for the partner."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def check_partner_url(url: str) -> str:
    """`url` if it is one we may call; else UnusableUrl.

    The one check of every URL a partner chooses for us to call (response_url, its versions
    URL, the URLs in its version list and details): an absolute http or https URL with a
    host, at most 255 characters, no whitespace or control characters, no user information
    (credentials in a URL end up in logs, and `user@host` is where parsers disagree about
    which host is meant).
    """
    if len(url) > MAX_LENGTH:
        raise UnusableUrl(f"longer than {MAX_LENGTH} characters")
    if not _PRINTABLE.fullmatch(url):
        raise UnusableUrl("must be printable ASCII without whitespace or control characters")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - parsing the port is what raises on a bad one
    except ValueError:
        raise UnusableUrl("not a valid URL") from None
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise UnusableUrl("must be an absolute http:// or https:// URL")
    if "@" in parts.netloc:
        raise UnusableUrl("must not carry a user name or password")
    host = parts.hostname or ""
    if not host:
        raise UnusableUrl("has no host")
    if not valid_host(host):
        raise UnusableUrl(f"invalid host {host!r}")
    if parts.port == 0:
        raise UnusableUrl("port 0 is no port")
    return url


def valid_host(host: str) -> bool:
    """An IP literal (IPv6 without brackets) or a DNS host name of valid labels."""
    return _is_ip(host) or bool(_HOSTNAME.fullmatch(host) and not _numeric(host)
                                and all(len(label) <= 63 for label in host.split(".")))


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _numeric(host: str) -> bool:
    """A host whose last label is a number but is no canonical IPv4 address (`127.1`,
    `2130706433`): resolvers turn these into addresses in ways that differ, so we refuse."""
    return host.rstrip(".").rpartition(".")[2].isdigit()
