"""Building URLs at a partner: one join for every outbound call.

Partners advertise endpoint URLs with or without a trailing `/` (popular OCPI libraries add
one), so a path is joined to a base by its segments, never by string concatenation.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import quote, urlsplit, urlunsplit

import httpx


def join(base: str, *segments: str, query: str = "") -> str:
    """`base` with each segment appended as one path segment (percent-encoded), then `query`.

    A query already on `base` is kept (and `query` appended to it); a trailing `/` on `base`
    never doubles. With no segments the path is the partner's own, as advertised (a POST to
    its CDRs endpoint goes where it said, slash or not).
    """
    parts = urlsplit(base)
    path = parts.path.rstrip("/") if segments else parts.path
    for segment in segments:
        path += "/" + quote(segment, safe="")
    queries = "&".join(q for q in (parts.query, query) if q)
    return urlunsplit((parts.scheme, parts.netloc, path, queries, ""))


# A host name label after IDNA encoding (RFC 1123: letters, digits, hyphens; 1 to 63).
_LABEL = re.compile(r"[A-Za-z0-9-]{1,63}")


def url_problem(url: str) -> str | None:
    """Why `url` cannot be called as a partner's HTTP endpoint, or None when it can.

    Checked before any call so that a malformed URL is named as such (to the operator who
    typed it, or in the partner's push status) instead of surfacing as whatever exception
    the HTTP stack happens to raise for it.
    """
    try:
        parsed = httpx.URL(url)
        host = parsed.raw_host.decode("ascii")
        # Decoding the IDNA form checks its A-labels ("xn--" alone is none).
        parsed.host  # noqa: B018
    except (httpx.InvalidURL, ValueError) as error:
        return f"invalid URL: {error}"
    if parsed.scheme not in ("http", "https"):
        return "invalid URL: the scheme must be http or https"
    if not host:
        return "invalid URL: no host"
    if parsed.port is not None and not 0 < parsed.port < 65536:
        return f"invalid URL: port {parsed.port} out of range"
    try:
        ipaddress.ip_address(host)
    except ValueError:
        if not all(_LABEL.fullmatch(label) for label in host.removesuffix(".").split(".")):
            return "invalid URL: malformed host name"
    return None
