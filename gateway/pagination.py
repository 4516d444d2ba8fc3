"""Pagination of list GETs: offset, limit, date_from, date_to; X-Total-Count, X-Limit, Link."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from starlette.requests import Request

from gateway.errors import InvalidParameters
from sidecar.ocpi import codec
from sidecar.ocpi.types import utc


@dataclass(frozen=True)
class PageRequest:
    """The window a client asked for, with the limit already capped by the server."""

    offset: int
    limit: int
    date_from: datetime | None
    date_to: datetime | None


# The largest offset or limit taken: every SQL integer (and index) holds it, and no list is
# longer. Checked on the text first, so that no huge number is ever converted.
MAX_NUMBER = 2**31 - 1
_MAX_DIGITS = len(str(MAX_NUMBER))


def _invalid(name: str, reason: str) -> InvalidParameters:
    # A bad query parameter is the request's fault: HTTP 400 with 2001 naming it.
    return InvalidParameters(reason, field=name, http_status=400)


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    # str.isdigit() alone takes "²" and other non-ASCII digits.
    if not (value.isascii() and value.isdigit()):
        raise _invalid(name, "must be a non-negative integer")
    digits = value.lstrip("0") or "0"
    if len(digits) > _MAX_DIGITS or int(digits) > MAX_NUMBER:
        raise _invalid(name, f"must be at most {MAX_NUMBER}")
    return int(digits)


def _datetime(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return utc(codec.decode(f'"{value}"', datetime))
    except Exception:
        raise _invalid(name, "must be an RFC 3339 date-time") from None


def page_request(request: Request, max_limit: int) -> PageRequest:
    """Read and check the paging parameters; the limit is capped at the server maximum."""
    limit = _int(request, "limit", max_limit)
    return PageRequest(
        offset=_int(request, "offset", 0),
        limit=min(limit, max_limit) if limit > 0 else max_limit,
        date_from=_datetime(request, "date_from"),
        date_to=_datetime(request, "date_to"),
    )


def page_headers(
    request: Request, base_url: str, page: PageRequest, returned: int, total: int, max_limit: int
) -> dict[str, str]:
    """X-Total-Count and X-Limit, and a Link to the next page (same filters) when one remains."""
    headers = {"X-Total-Count": str(total), "X-Limit": str(max_limit)}
    next_offset = page.offset + returned
    if returned and next_offset < total:
        query = dict(request.query_params)
        query.update(offset=str(next_offset), limit=str(page.limit))
        headers["Link"] = f'<{base_url}{request.url.path}?{urlencode(query)}>; rel="next"'
    return headers
