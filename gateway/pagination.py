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


def _int(request: Request, name: str, default: int) -> int:
    value = request.query_params.get(name)
    if value is None or value == "":
        return default
    if not value.isdigit():
        raise InvalidParameters("must be a non-negative integer", field=name)
    return int(value)


def _datetime(request: Request, name: str) -> datetime | None:
    value = request.query_params.get(name)
    if not value:
        return None
    try:
        return utc(codec.decode(f'"{value}"', datetime))
    except Exception:
        raise InvalidParameters("must be an RFC 3339 date-time", field=name) from None


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
