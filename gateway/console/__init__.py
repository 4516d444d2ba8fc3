"""The operator console: HTML pages over the admin API's own actions, at /admin/ui."""

from __future__ import annotations

from starlette.routing import BaseRoute

from gateway.console.pages import Console


def console_routes() -> list[BaseRoute]:
    """The console's routes, with a session store of their own (one per admin app)."""
    return Console().routes()


__all__ = ["Console", "console_routes"]
