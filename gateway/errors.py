"""OCPI errors, each knowing its OCPI status code and HTTP status, rendered in one place.

    OCPIError
    ├── ClientError (2000)
    │   ├── InvalidParameters (2001)     bad or missing field; `field` names it
    │   ├── NotEnoughInformation (2002)
    │   ├── UnknownLocation (2003)
    │   └── UnknownToken (2004)
    ├── ServerError (3000)
    │   ├── NoCpoParty                   we have no party to put in our credentials roles
    │   ├── ClientApiUnusable (3001)     we could not use the partner's API during registration
    │   ├── UnsupportedVersion (3002)
    │   └── NoMatchingEndpoints (3003)
    ├── Unauthorized (HTTP 401)
    ├── TooManyFailures (HTTP 429)   too many failed authentications; Retry-After
    ├── NotFound (HTTP 404, 2000 unless a subclass says otherwise)
    └── MethodNotAllowed (HTTP 405)
"""

from __future__ import annotations

from collections.abc import Iterable


class OCPIError(Exception):
    """Base: raise it anywhere under a request; the app renders the envelope."""

    status_code = 2000
    http_status = 200
    default_message = "Client error"

    def __init__(self, message: str | None = None, *, field: str | None = None,
                 http_status: int | None = None) -> None:
        self.field = field
        # The class's HTTP status unless this answer needs another (the spec pairs one OCPI
        # code with several: 2001 is HTTP 400 for a bad query, 404 for an unknown object).
        if http_status is not None:
            self.http_status = http_status
        # Response headers the error needs (Retry-After); none for most.
        self.headers: dict[str, str] = {}
        text = message or self.default_message
        self.message = f"{field}: {text}" if field else text
        super().__init__(self.message)


class ClientError(OCPIError):
    """Generic client error."""


class InvalidParameters(ClientError):
    status_code = 2001
    default_message = "Invalid or missing parameters"


class NotEnoughInformation(ClientError):
    status_code = 2002
    default_message = "Not enough information"


class UnknownLocation(ClientError):
    status_code = 2003
    default_message = "Unknown location"


class UnknownToken(ClientError):
    status_code = 2004
    default_message = "Unknown token"


class ServerError(OCPIError):
    status_code = 3000
    default_message = "Server error"


class NoCpoParty(ServerError):
    """Our credentials need at least one role (CredentialsRole+): without a CPO party
    configured there is nothing to register, and `roles: []` is not a credentials object."""

    default_message = (
        "this CPO has no party configured yet; its operator must add one with"
        " PUT /admin/parties/{country_code}/{party_id} before registering"
    )


class ClientApiUnusable(ServerError):
    status_code = 3001
    default_message = "Unable to use the client's API"


class UnsupportedVersion(ServerError):
    status_code = 3002
    default_message = "Unsupported version"


class NoMatchingEndpoints(ServerError):
    status_code = 3003
    default_message = "No matching endpoints or expected endpoints missing"


class Unauthorized(OCPIError):
    http_status = 401
    default_message = "Missing or unknown credentials token"


class TooManyFailures(OCPIError):
    """Too many failed authentications from this source or with this credential prefix."""

    http_status = 429
    default_message = "Too many failed authentications"

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many failed authentications; retry after {retry_after} s")
        self.headers = {"Retry-After": str(retry_after)}


class NotFound(OCPIError):
    http_status = 404
    default_message = "Not found"


class MethodNotAllowed(OCPIError):
    """`allow`: the methods that would be, for the Allow header a 405 must carry (RFC 9110)."""

    http_status = 405
    default_message = "Method not allowed"

    def __init__(self, message: str | None = None, *, allow: Iterable[str] = ()) -> None:
        super().__init__(message)
        if allow:
            self.headers["Allow"] = ", ".join(allow)
