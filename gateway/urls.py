"""URLs at a partner: the one check of a URL a partner chose, and one join for every call.

Partners advertise endpoint URLs with or without a trailing `/` (popular OCPI libraries add
one), so a path is joined to a base by its segments, never by string concatenation.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from sidecar.ocpi.urls import MAX_LENGTH, UnusableUrl, check_partner_url

__all__ = ["MAX_LENGTH", "UnusableUrl", "check_partner_url", "join", "url_problem"]


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


def url_problem(url: str) -> str | None:
    """Why `url` cannot be called as a partner's endpoint (`check_partner_url`), or None.

    For callers that report rather than raise: the operator who typed it, or a partner's
    push status, is told it is malformed instead of whatever the HTTP stack would raise.
    """
    try:
        check_partner_url(url)
    except UnusableUrl as error:
        return f"invalid URL: {error.reason}"
    return None
