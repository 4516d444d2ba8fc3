"""Commands module objects (mod_commands.asciidoc): requests, the synchronous answer, the result."""

from __future__ import annotations

from sidecar.ocpi.enums import CommandResponseType, CommandResultType, CommandType
from sidecar.ocpi.tokens import Token
from sidecar.ocpi.types import URL, CiString36, DateTime, DisplayText, Struct


class CommandResponse(Struct, frozen=True, kw_only=True):
    """The CPO's synchronous answer: understood and forwarded or not; `timeout` in seconds."""

    result: CommandResponseType
    timeout: int
    message: list[DisplayText] | None = None


class CommandResult(Struct, frozen=True, kw_only=True):
    """The charger's answer, POSTed later to the request's `response_url`."""

    result: CommandResultType
    message: list[DisplayText] | None = None


class CancelReservation(Struct, frozen=True, kw_only=True):
    """Body of POST commands/CANCEL_RESERVATION."""

    response_url: URL
    reservation_id: CiString36


class ReserveNow(Struct, frozen=True, kw_only=True):
    """Body of POST commands/RESERVE_NOW; the same reservation_id at a location replaces it."""

    response_url: URL
    token: Token
    expiry_date: DateTime
    reservation_id: CiString36
    location_id: CiString36
    evse_uid: CiString36 | None = None
    authorization_reference: CiString36 | None = None


class StartSession(Struct, frozen=True, kw_only=True):
    """Body of POST commands/START_SESSION; `connector_id` requires `evse_uid`."""

    response_url: URL
    token: Token
    location_id: CiString36
    evse_uid: CiString36 | None = None
    connector_id: CiString36 | None = None
    authorization_reference: CiString36 | None = None

    def __post_init__(self) -> None:
        if self.connector_id is not None and self.evse_uid is None:
            raise ValueError("evse_uid is required when connector_id is set")


class StopSession(Struct, frozen=True, kw_only=True):
    """Body of POST commands/STOP_SESSION."""

    response_url: URL
    session_id: CiString36


class UnlockConnector(Struct, frozen=True, kw_only=True):
    """Body of POST commands/UNLOCK_CONNECTOR (help desk use only)."""

    response_url: URL
    location_id: CiString36
    evse_uid: CiString36
    connector_id: CiString36


# The request body type of each command in the URL.
COMMAND_TYPES: dict[CommandType, type[Struct]] = {
    CommandType.CANCEL_RESERVATION: CancelReservation,
    CommandType.RESERVE_NOW: ReserveNow,
    CommandType.START_SESSION: StartSession,
    CommandType.STOP_SESSION: StopSession,
    CommandType.UNLOCK_CONNECTOR: UnlockConnector,
}
