"""Paging of the core's list calls: page sizes and opaque page tokens."""

from __future__ import annotations

import base64
import binascii
import json

from sidecar.errors import InvalidField

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


def page_size(requested: int) -> int:
    """0 → the default; more than the maximum → the maximum; negative → INVALID_ARGUMENT."""
    if requested < 0:
        raise InvalidField("page_size", "must not be negative")
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


def page_token(after: tuple[str, int]) -> str:
    """An opaque token for the page after this (id, key)."""
    return base64.urlsafe_b64encode(json.dumps(list(after)).encode()).decode()


def parse_page_token(token: str) -> tuple[str, int] | None:
    """The (id, key) a token continues after; None for the first page."""
    if not token:
        return None
    try:
        object_id, key = json.loads(base64.urlsafe_b64decode(token.encode()))
        if isinstance(object_id, str) and isinstance(key, int):
            return object_id, key
    except (ValueError, TypeError, binascii.Error):
        pass
    raise InvalidField("page_token", "not a token from a previous page")
