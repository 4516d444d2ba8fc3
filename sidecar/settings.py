"""Settings, built once by the CLI: flag, else OCPI_SIDECAR_<NAME> environment, else default."""

from __future__ import annotations

from dataclasses import dataclass


class Secret:
    """A value that never shows in a repr or a log line."""

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        """The secret itself, for the one place that needs it."""
        return self._value

    def __repr__(self) -> str:
        return "Secret('**********')"

    __str__ = __repr__


@dataclass(frozen=True)
class Settings:
    """What `serve` needs; every field has a flag and an environment variable."""

    http: str = "127.0.0.1:8080"
    grpc: str = "127.0.0.1:50051"
    database: str = "sqlite+aiosqlite:///var/ocpi-sidecar.db"
    public_url: str = ""
    admin_key: Secret | None = None
    # Largest page a list GET returns (X-Limit).
    page_limit: int = 100
    # ISO 4217 currency of sessions whose transaction names no tariff or currency.
    currency: str = "EUR"
    # At most one Session PATCH per session and partner per this many seconds (coalesced).
    session_patch_interval: float = 5.0
    # Entries of the gateway's read cache (Sender list pages and the like); 0 turns it off.
    read_cache_size: int = 4096
    # Seconds to wait for an eMSP's real-time token authorization before using the cache.
    authorize_timeout: float = 3.0
    # Seconds the core has to report a command's result before the eMSP gets TIMEOUT.
    command_timeout: float = 30.0
    # CIDRs partners' addresses must be in (every resolved address of every outbound call);
    # empty: anything but link-local (gateway/addresses.py).
    partner_networks: tuple[str, ...] = ()
    # gRPC TLS: the server's certificate chain and key (PEM files); with a client CA,
    # callers must present a certificate it issued (mutual TLS). Empty: plaintext.
    grpc_tls_cert: str = ""
    grpc_tls_key: str = ""
    grpc_client_ca: str = ""
    # Failed authentications (OCPI token or admin key) per source address and per
    # credential prefix that leak away per window; past them a caller gets 429.
    auth_failure_limit: int = 20
    auth_failure_window: float = 60.0

    @property
    def base_url(self) -> str:
        """Where partners reach our HTTP side (no trailing slash)."""
        return (self.public_url or f"http://{self.http}").rstrip("/")

    @property
    def versions_url(self) -> str:
        """Our OCPI versions endpoint, the URL that goes with a token A."""
        return f"{self.base_url}/ocpi/versions"

    @property
    def details_url(self) -> str:
        """Our 2.2.1 version details endpoint."""
        return f"{self.base_url}/ocpi/cpo/2.2.1"

    def module_url(self, module: str) -> str:
        """URL of one of our 2.2.1 module endpoints."""
        return f"{self.details_url}/{module}"
