"""What request handlers share: settings, database, outbound client, auth, registry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from starlette.requests import Request

from gateway.cache import ReadCache
from gateway.client import OCPIClient
from gateway.registration import Registry
from gateway.transport import Authenticator
from sidecar.settings import Settings
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup

if TYPE_CHECKING:
    from gateway.readiness import Replica


@dataclass(frozen=True)
class Services:
    """The long-lived objects of one gateway, built once by create_apps."""

    settings: Settings
    database: Database
    client: OCPIClient
    auth: Authenticator
    registry: Registry
    # Tells the push worker that the outbox has news (after a commit).
    wakeup: Wakeup
    # Answers read from the store, dropped when their tables change.
    cache: ReadCache
    # The parts of `serve` readiness reports on (None: the app alone, as in tests).
    replica: Replica | None = None


def services_of(request: Request) -> Services:
    """The Services of the app serving this request."""
    services: Services = request.app.state.services
    return services
