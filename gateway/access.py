"""AccessLog: one log line and one count per HTTP request, on either listener.

The line names the route template (never the raw path: ids stay out of the metric labels
and the line's shape), the partner by id (never its token), the HTTP status, the envelope's
OCPI status_code (told by gateway/transport.py in a header this middleware removes), the
duration and the request's X-Request-ID / X-Correlation-ID.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gateway.transport import OCPI_STATUS_HEADER
from sidecar import metrics

log = logging.getLogger("ocpi_sidecar.access")

# The route of a request no route matched (a 404, or refused before routing: a 431).
UNMATCHED = "unmatched"
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
# Probed every few seconds by orchestrators and scrapers: their lines only at DEBUG.
_PROBES = frozenset({"/healthz", "/readyz", "/metrics"})


class AccessLog:
    """Pure ASGI middleware (outermost): logs and counts each request once it is answered."""

    def __init__(self, app: ASGIApp, listener: str) -> None:
        self.app = app
        self.listener = listener
        # Labelled children, looked up once per (method, route, status): the labels call
        # takes a lock and builds a tuple each time.
        self._counters: dict[tuple[str, str, int], Any] = {}
        self._timers: dict[tuple[str, str], Any] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        state = scope.setdefault("state", {})
        # Until an answer starts, a failure is a 500 (what the server error handler sends).
        answer: list[Any] = [500, None]

        async def send_noted(message: Message) -> None:
            if message["type"] == "http.response.start":
                answer[0] = message["status"]
                headers = message.get("headers")
                if headers:
                    for index, (name, value) in enumerate(headers):
                        if name == OCPI_STATUS_HEADER:
                            answer[1] = int(value)
                            message["headers"] = [*headers[:index], *headers[index + 1:]]
                            break
            await send(message)

        try:
            await self.app(scope, receive, send_noted)
        finally:
            self._record(scope, state, answer[0], answer[1], time.perf_counter() - start)

    def _record(self, scope: Scope, state: dict[str, Any], status: int, ocpi: int | None,
                seconds: float) -> None:
        route: BaseRoute | None = scope.get("route")
        template = getattr(route, "path", None) or UNMATCHED
        method = scope["method"] if scope["method"] in _METHODS else "OTHER"
        counter = self._counters.get((method, template, status))
        if counter is None:
            counter = self._counters[(method, template, status)] = metrics.HTTP_REQUESTS.labels(
                self.listener, method, template, str(status))
        counter.inc()
        timer = self._timers.get((method, template))
        if timer is None:
            timer = self._timers[(method, template)] = metrics.HTTP_DURATION.labels(
                self.listener, method, template)
        timer.observe(seconds)
        level = (logging.WARNING if status >= 500 else
                 logging.DEBUG if template in _PROBES else logging.INFO)
        if not log.isEnabledFor(level):
            return
        partner = state.get("partner")
        request_id, correlation_id = state.get("request_id"), state.get("correlation_id")
        milliseconds = round(seconds * 1000, 2)
        log.log(level, "%s %s %d ocpi=%s partner=%s %.2f ms request=%s correlation=%s",
                method, template, status, ocpi if ocpi is not None else "-",
                partner if partner is not None else "-", milliseconds, request_id,
                correlation_id, extra={"fields": {
                    "listener": self.listener, "method": method, "route": template,
                    "partner": partner, "status": status, "ocpi_status": ocpi,
                    "duration_ms": milliseconds, "request_id": request_id,
                    "correlation_id": correlation_id}})
