"""Building URLs at a partner: one join for every outbound call.

Partners advertise endpoint URLs with or without a trailing `/` (popular OCPI libraries add
one), so a path is joined to a base by its segments, never by string concatenation.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit


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
