"""Failed authentications counted per source address and per credential prefix.

Without it a caller may try tokens or admin keys as fast as we answer 401s. Each key (the
source address, and the first PREFIX_LENGTH characters of the credential presented) has a
leaky bucket: every failure adds one, and LIMIT failures leak away per WINDOW seconds.
A key whose bucket is full is refused with 429 before its credential is even looked at,
until enough has leaked for one more try (Retry-After says when).

The prefix key catches a spray from many addresses that tries one credential's variants;
the address key catches one host trying many. A success resets nothing: one client's
correct token must not clear what another source has failed. Memory is bounded: at most
MAX_KEYS keys are tracked; beyond that the key that failed longest ago is forgotten.
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable

from starlette.requests import Request

from sidecar.settings import Settings

LIMIT = Settings.auth_failure_limit
WINDOW = Settings.auth_failure_window
PREFIX_LENGTH = 6
MAX_KEYS = 10_000


def credential_prefix(authorization: str | None) -> str:
    """The first characters of the credential in an Authorization header ("" for none)."""
    _, _, value = (authorization or "").strip().partition(" ")
    return value.strip()[:PREFIX_LENGTH]


def source_of(request: Request) -> str:
    """The address the request came from ("" when the server does not say)."""
    return request.client.host if request.client else ""


class FailureLimiter:
    """Leaky buckets of failed authentications, per source address and credential prefix."""

    def __init__(
        self,
        *,
        limit: int = LIMIT,
        window: float = WINDOW,
        max_keys: int = MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limit = limit
        self.rate = limit / window  # failures leaking away per second
        self.max_keys = max_keys
        self.clock = clock
        # key -> (bucket level, when it was last computed); oldest failure first.
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    @staticmethod
    def _keys(source: str, authorization: str | None) -> list[tuple[str, str]]:
        keys = [("address", source)]
        prefix = credential_prefix(authorization)
        if prefix:
            keys.append(("prefix", prefix))
        return keys

    def _level(self, key: tuple[str, str], at: float) -> float:
        found = self._buckets.get(key)
        if found is None:
            return 0.0
        level, since = found
        return max(0.0, level - (at - since) * self.rate)

    def retry_after(self, source: str, authorization: str | None) -> int | None:
        """Seconds until this source with this credential may try again; None: it may now."""
        at = self.clock()
        waits = [(level - self.limit + 1) / self.rate
                 for level in (self._level(key, at) for key in self._keys(source, authorization))
                 if level > self.limit - 1]
        return max(1, math.ceil(max(waits))) if waits else None

    def failed(self, source: str, authorization: str | None) -> None:
        """Count one failed authentication."""
        at = self.clock()
        for key in self._keys(source, authorization):
            self._buckets[key] = (self._level(key, at) + 1, at)
            self._buckets.move_to_end(key)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
