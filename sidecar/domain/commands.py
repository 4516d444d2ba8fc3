"""Commands and charging-profile requests as the core reports on them: an acknowledgement, a
result (its POST to the eMSP's `response_url` queued with it), an active charging profile
(PUT to the eMSPs that set one on the session)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sidecar.domain import reservations
from sidecar.errors import NotFound, PreconditionFailed
from sidecar.ocpi import codec
from sidecar.ocpi.charging_profiles import ActiveChargingProfile
from sidecar.ocpi.commands import CommandResult
from sidecar.ocpi.enums import CommandResultType
from sidecar.ocpi.sessions import Session
from sidecar.store import commands as command_store
from sidecar.store.engine import Database
from sidecar.store.outbox import Wakeup
from sidecar.store.sessions import load_session


async def acknowledge(database: Database, command_id: str) -> None:
    """The core has the command: it is not sent again on reconnect."""
    async with database.write() as connection:
        if not await command_store.acknowledge(connection, command_id):
            raise NotFound("command_id", f"no command {command_id!r}")


async def report_result(
    database: Database, wakeup: Wakeup, command_id: str, field: str,
    outcome_of: Callable[[command_store.CommandRow], Any], *,
    types: tuple[str, ...] | None = None, kind: str = "command", currency: str = "EUR",
) -> bool:
    """Close a command (or profile request, `types`) with the result `outcome_of(row)`; its
    POST to the eMSP is queued in the same transaction, with what the result does to a
    reservation (reservations.after_result). Returns whether the report came after the
    deadline (the eMSP had TIMEOUT already): a repeat of the first result is not."""
    async with database.write() as connection:
        row = await command_store.get_command(connection, command_id)
        if row is None or (types is not None and row.type not in types):
            raise NotFound(field, f"no {kind} {command_id!r}")
        outcome = outcome_of(row)
        cancelled = _cancels_reservation(row, outcome)
        if not cancelled:
            closed = await command_store.close_command(connection, row, outcome)
            late = not closed and command_store.repeated_report(row, outcome)
            reserved = isinstance(outcome, CommandResult) and await reservations.after_result(
                connection, row, outcome.result, currency)
    if cancelled:
        # An accepted reservation cancelled by the charge point, reported as the result of
        # its RESERVE_NOW (mod_commands: the CPO tells the eMSP at that response_url).
        if not await reservations.cancelled_by_cpo(database, wakeup, row):
            raise PreconditionFailed(f"{field}: no reservation in place for this command")
        return False
    if closed or reserved:
        wakeup.notify()
    return late


def _cancels_reservation(row: command_store.CommandRow, outcome: Any) -> bool:
    return (row.type == "RESERVE_NOW" and row.document is not None
            and isinstance(outcome, CommandResult)
            and outcome.result == CommandResultType.CANCELED_RESERVATION
            and codec.decode(row.document, CommandResult).result == CommandResultType.ACCEPTED)


async def report_active_profile(
    database: Database, wakeup: Wakeup, session_id: str, profile: ActiveChargingProfile
) -> None:
    """The charge point's active profile for a session: PUT to the eMSPs that set one on it
    (only they asked to hear of changes), addressed to the session's token party."""
    async with database.write() as connection:
        session = await load_session(connection, session_id, lock=False)
        if session is None:
            raise NotFound("session_id", f"no session {session_id!r}")
        owner = codec.decode(session.document, Session)
        setters = await command_store.profile_setters(connection, session_id)
        if setters:
            await command_store.put_active_profile(
                connection, owner.country_code, owner.party_id, session_id,
                codec.encode(profile), setters,
                (owner.cdr_token.country_code, owner.cdr_token.party_id))
    if setters:
        wakeup.notify()
