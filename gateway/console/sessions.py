"""Console log-in sessions: random ids kept in this process's memory, never the admin key.

A cookie holds a random session id; we keep only its SHA-256, so a memory dump or a log of
our state cannot be replayed as a cookie, and the dict look-up by digest leaks nothing
useful about the id (the stored digest is compared again in constant time). Each session
has its own CSRF token for the forms it is shown. Sessions die with the process (an operator
logs in again after a restart) and at log-out; at most MAX_SESSIONS are kept (the oldest is
dropped first), each for LIFETIME seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

COOKIE = "ocpi_console"
LIFETIME = 8 * 3600.0
MAX_SESSIONS = 64


@dataclass
class Session:
    """One logged-in browser."""

    digest: bytes
    csrf: str
    expires: float
    # (kind, text) for the next page shown (after a redirect), then dropped.
    notices: list[tuple[str, str]] = field(default_factory=list)

    def csrf_ok(self, presented: str | None) -> bool:
        return presented is not None and hmac.compare_digest(presented.encode(),
                                                             self.csrf.encode())


def _digest(session_id: str) -> bytes:
    return hashlib.sha256(session_id.encode()).digest()


class Sessions:
    """The log-in sessions of one console (one per admin app, so per process)."""

    def __init__(self, *, lifetime: float = LIFETIME, max_sessions: int = MAX_SESSIONS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.lifetime = lifetime
        self.max_sessions = max_sessions
        self.clock = clock
        self._by_digest: OrderedDict[bytes, Session] = OrderedDict()

    def open(self) -> tuple[str, Session]:
        """A new session: the id for the cookie, and the session."""
        session_id = secrets.token_urlsafe(32)
        session = Session(_digest(session_id), secrets.token_urlsafe(32),
                          self.clock() + self.lifetime)
        self._by_digest[session.digest] = session
        while len(self._by_digest) > self.max_sessions:
            self._by_digest.popitem(last=False)
        return session_id, session

    def find(self, session_id: str | None) -> Session | None:
        """The live session of a cookie value, else None."""
        if not session_id:
            return None
        digest = _digest(session_id)
        session = self._by_digest.get(digest)
        if session is None or not hmac.compare_digest(session.digest, digest):
            return None
        if session.expires <= self.clock():
            del self._by_digest[digest]
            return None
        return session

    def close(self, session_id: str | None) -> None:
        """Log out: the cookie's session is forgotten."""
        session = self.find(session_id)
        if session is not None:
            del self._by_digest[session.digest]
