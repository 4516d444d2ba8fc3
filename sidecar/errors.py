"""Transport-neutral errors: the OCPI gateway and the gRPC servicers each map them once."""

from __future__ import annotations


class SidecarError(Exception):
    """Base of the errors our own code raises on purpose."""

    default_message = "error"

    def __init__(self, message: str | None = None) -> None:
        self.message = message or self.default_message
        super().__init__(self.message)


class InvalidField(SidecarError):
    """An input field is missing or invalid; `path` names it (``evses[1].uid``)."""

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason
        super().__init__(f"{path}: {reason}" if path else reason)


class NotFound(SidecarError):
    """The object the input refers to does not exist; `path` names the referring field."""

    def __init__(self, path: str, reason: str = "not found") -> None:
        self.path = path
        super().__init__(f"{path}: {reason}")


class PreconditionFailed(SidecarError):
    """The input is valid but the current state does not allow it."""


class Conflict(SidecarError):
    """The same idempotency key arrived with a different payload."""


class MalformedJson(InvalidField):
    """The input is not JSON at all."""

    def __init__(self, reason: str) -> None:
        super().__init__("body", f"malformed JSON: {reason}")
