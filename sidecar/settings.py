"""Settings, built once by the CLI: flag, else OCPI_SIDECAR_<NAME> environment, else default.

Each setting is declared once, as a `Settings` field made by `option()`: its default, the
word shown for its value, what it means and how text becomes its value. The `serve` flags
(`--<name>`), the environment variables, `--help` and the README's option table all come
from these declarations (`options()`, `option_table()`).
"""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar
from urllib.parse import urlsplit

from sidecar.logs import FORMATS
from sidecar.ocpi.urls import UnusableUrl, check_partner_url, valid_host

ENV_PREFIX = "OCPI_SIDECAR_"
T = TypeVar("T")


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
class Option:
    """How one setting is given on the command line and in the environment."""

    name: str
    default: Any
    metavar: str
    meaning: str
    parse: Callable[[str], Any]
    # How the default reads where its value alone says too little ("any but link-local").
    shown_default: str | None
    # Its value never appears in an error message.
    secret: bool

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    @property
    def env(self) -> str:
        return ENV_PREFIX + self.name.upper()

    @property
    def default_text(self) -> str:
        """The default as the README shows it (Markdown)."""
        if self.shown_default is not None:
            return self.shown_default
        if self.default is None or self.default in ("", ()):
            return "—"
        if isinstance(self.default, float):
            return f"`{self.default:g}`"
        return f"`{self.default}`"


def option(default: T, metavar: str, meaning: str, parse: Callable[[str], Any] = str, *,
           shown_default: str | None = None, secret: bool = False) -> T:
    """A `Settings` field that is also a flag and an environment variable; `meaning` is
    Markdown, `parse` turns the text given into the value (ValueError when it cannot)."""
    declared = {"metavar": metavar, "meaning": meaning, "parse": parse,
                "shown_default": shown_default, "secret": secret}
    return field(default=default, metadata={"option": declared})


def address(text: str) -> str:
    """HOST:PORT, or PORT alone for 127.0.0.1:PORT; the port from 0 (any free one) to 65535.

    HOST is an IP address (IPv6 in brackets) or a host name. An empty host is refused rather
    than taken for "every interface": that must be asked for, as 0.0.0.0 or [::].
    """
    if text.isdigit():
        text = f"127.0.0.1:{text}"
    host, colon, port = text.rpartition(":")
    if "://" in text:
        raise ValueError(f"{text!r}: give HOST:PORT without a scheme, like 127.0.0.1:8080")
    if not colon or not port.isdigit() or int(port) > 65535:
        raise ValueError(f"{text!r} is not HOST:PORT with a port from 0 to 65535")
    if not host:
        raise ValueError(f"{text!r} has no host: use 0.0.0.0:{port} for every interface, "
                         f"127.0.0.1:{port} for this machine only")
    if host.startswith("[") != host.endswith("]"):
        raise ValueError(f"{text!r}: an IPv6 host goes in brackets, like [::1]:8080")
    bare = host[1:-1] if host.startswith("[") else host
    if host.startswith("[") and not _ipv6(bare):
        raise ValueError(f"{text!r}: {bare!r} in brackets is no IPv6 address")
    if not host.startswith("[") and ":" in host:
        raise ValueError(f"{text!r}: an IPv6 host goes in brackets, like [::1]:8080")
    if not valid_host(bare):
        raise ValueError(f"{text!r}: {bare!r} is neither an IP address nor a host name")
    return text


def _ipv6(text: str) -> bool:
    try:
        return ipaddress.ip_address(text).version == 6
    except ValueError:
        return False


def public_url(text: str) -> str:
    """An absolute http(s) URL with a host that partners can call (the rule we hold their
    URLs to), with no query or fragment; a trailing `/` is dropped."""
    try:
        check_partner_url(text)
    except UnusableUrl as error:
        raise ValueError(f"{text!r}: {error.reason}") from None
    parts = urlsplit(text)
    if parts.query or parts.fragment or text.endswith(("?", "#")):
        raise ValueError(f"{text!r}: must have no query or fragment")
    return text.rstrip("/")


def database_url(text: str) -> str:
    """A SQLite or PostgreSQL URL, as `sidecar.store.engine` takes it."""
    # Imported here: SQLAlchemy takes a while to import, and this module is read first.
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        parsed = make_url(text)
    except (ArgumentError, ValueError):
        raise ValueError(f"{text!r} is not a database URL; give sqlite:///PATH or "
                         "postgresql://USER@HOST/DB") from None
    if parsed.drivername not in DATABASE_DRIVERS:
        raise ValueError(f"{parsed.drivername}:// is not supported; give sqlite:///PATH or "
                         "postgresql://USER@HOST/DB")
    if parsed.get_backend_name() == "sqlite" and not parsed.database:
        raise ValueError("a SQLite URL needs a file: sqlite:///PATH")
    return text


# The URL schemes `normalise_url` (sidecar.store.engine) turns into the drivers we ship.
DATABASE_DRIVERS = ("sqlite", "sqlite+pysqlite", "sqlite+aiosqlite", "postgresql",
                    "postgres", "postgresql+psycopg2", "postgresql+asyncpg")


def seconds(text: str) -> float:
    """A number of seconds, 0 or more."""
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number of seconds") from None
    if not math.isfinite(value) or value < 0:
        raise ValueError(f"{text!r} is not a number of seconds, 0 or more")
    return value


def positive_seconds(text: str) -> float:
    """A number of seconds above 0."""
    value = seconds(text)
    if value == 0:
        raise ValueError(f"{text!r}: must be more than 0 seconds")
    return value


def count(minimum: int) -> Callable[[str], int]:
    """A whole number, `minimum` or more."""
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number") from None
        if value < minimum:
            raise ValueError(f"{text!r}: must be {minimum} or more")
        return value
    return parse


def currency_code(text: str) -> str:
    """An ISO 4217 code, upper-cased."""
    if not (len(text) == 3 and text.isascii() and text.isalpha()):
        raise ValueError(f"{text!r} is not an ISO 4217 code like EUR")
    return text.upper()


def cidrs(text: str) -> tuple[str, ...]:
    """Comma-separated networks; a host address with a prefix (`10.0.0.1/8`) is a typo."""
    parts = tuple(part.strip() for part in text.split(",") if part.strip())
    for part in parts:
        try:
            ipaddress.ip_network(part)
        except ValueError as error:
            raise ValueError(f"{part!r}: {error}") from None
    return parts


def readable_file(text: str) -> str:
    """A path this process can read ("" for none)."""
    if text and not os.access(text, os.R_OK):
        raise ValueError(f"cannot read {text}")
    return text


def level_name(text: str) -> str:
    """A logging level name."""
    if text.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise ValueError(f"{text!r} is not one of DEBUG, INFO, WARNING, ERROR")
    return text.upper()


def log_format(text: str) -> str:
    """`text` or `json`."""
    if text.lower() not in FORMATS:
        raise ValueError(f"{text!r} is not one of text, json")
    return text.lower()


@dataclass(frozen=True)
class Settings:
    """What `serve` needs; every field is a flag and an environment variable."""

    http: str = option("127.0.0.1:8080", "HOST:PORT", "the OCPI endpoints partners call (and "
                       "nothing else); `PORT` alone is 127.0.0.1:PORT, as for every "
                       "HOST:PORT", address)
    admin: str = option("127.0.0.1:8081", "HOST:PORT", "the operator's listener: `/admin/` "
                        "API, `/metrics`, `/healthz`, `/readyz`", address)
    grpc: str = option("127.0.0.1:50051", "HOST:PORT", "the core-facing gRPC API", address)
    database: str = option(
        "sqlite+aiosqlite:///var/ocpi-sidecar.db", "URL",
        "SQLite file (WAL), or `postgresql://user@host/db`", database_url)
    public_url: str = option("", "URL", "the base URL partners use to reach `--http`: "
                             "http(s), a host, no query", public_url,
                             shown_default="`http://<--http>`")
    admin_key_file: str = option(
        "", "PATH", "a file holding the admin API key, read at start (the default one is "
        "made on first start, mode 0600)", shown_default="`var/admin-key`")
    admin_key: Secret | None = option(
        None, "KEY", "the admin API key itself; shows in the process list, so prefer the "
        "file or `OCPI_SIDECAR_ADMIN_KEY`", Secret, secret=True)
    currency: str = option("EUR", "CODE", "currency of sessions whose transaction names no "
                           "tariff or currency", currency_code)
    session_patch_interval: float = option(
        5.0, "S", "at most one Session PATCH per session and eMSP per S seconds (coalesced)",
        seconds)
    authorize_timeout: float = option(
        3.0, "S", "how long AuthorizeToken waits for an eMSP's real-time answer before "
        "using the tokens we hold", seconds)
    command_timeout: float = option(
        30.0, "S", "how long the core has to report a command or profile result before the "
        "eMSP gets TIMEOUT", seconds)
    partner_networks: tuple[str, ...] = option(
        (), "CIDRS", "comma-separated networks every address of a partner we call must be in",
        cidrs, shown_default="any but link-local")
    grpc_max_in_flight: int = option(
        256, "N", "core calls in progress at once; past it a call is refused at once with "
        "RESOURCE_EXHAUSTED and a `retry-after-ms` hint (0: no bound)", count(0))
    grpc_tls_cert: str = option(
        "", "PATH", "PEM certificate chain of the gRPC listener; with `--grpc-tls-key`",
        readable_file, shown_default="none (plaintext)")
    grpc_tls_key: str = option("", "PATH", "PEM private key of the gRPC listener",
                               readable_file, shown_default="none")
    grpc_client_ca: str = option(
        "", "PATH", "PEM CA certificates: callers must present a client certificate one of "
        "them issued (mutual TLS)", readable_file, shown_default="none")
    page_limit: int = option(100, "N", "the largest page a list GET returns (`X-Limit`)",
                             count(1))
    read_cache_mb: int = option(
        64, "MB", "megabytes the read cache of list pages may hold; 0 turns it off",
        count(0))
    auth_failure_limit: int = option(
        20, "N", "failed authentications per source address or credential prefix, leaking "
        "away per `--auth-failure-window`, before a caller gets 429", count(1))
    auth_failure_window: float = option(
        60.0, "S", "the seconds in which `--auth-failure-limit` failures leak away",
        positive_seconds)
    log_level: str = option("INFO", "LEVEL", "the least severe log lines written to stderr: "
                            "`DEBUG`, `INFO`, `WARNING` or `ERROR`", level_name)
    log_format: str = option("text", "FORMAT", "log lines as `text` (time, level, logger, "
                             "message) or `json` (one object per line)", log_format)

    @property
    def base_url(self) -> str:
        """Where partners reach our HTTP side (no trailing slash)."""
        return (self.public_url or f"http://{self.http}").rstrip("/")

    @property
    def admin_url(self) -> str:
        """Where the operator reaches the admin listener (no trailing slash)."""
        return f"http://{self.admin}"

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


def named(name: str) -> str:
    """How an error names the setting `name`: its flag and its environment variable."""
    declared = next(o for o in options() if o.name == name)
    return f"{declared.flag} ({declared.env})"


def options() -> Iterator[Option]:
    """Every setting's declaration, in the order of `Settings`."""
    for declared in fields(Settings):
        yield Option(name=declared.name, default=declared.default,
                     **declared.metadata["option"])


def option_table() -> str:
    """The README's option table (Markdown), one row per setting."""
    rows = ["| option | environment | default | meaning |", "|---|---|---|---|"]
    rows += [f"| `{o.flag} {o.metavar}` | `{o.env}` | {o.default_text} | {o.meaning} |"
             for o in options()]
    return "\n".join(rows) + "\n"
