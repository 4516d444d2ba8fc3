"""EvDriverService: token authorization for the core, and eMSP commands to it and back."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import Any

import grpc
from google.protobuf.timestamp_pb2 import Timestamp
from ocpi_sidecar.v1 import common_pb2, ev_driver_pb2_grpc
from ocpi_sidecar.v1 import ev_driver_pb2 as pb

from sidecar import metrics
from sidecar.domain import commands, reservations
from sidecar.errors import InvalidField
from sidecar.ocpi import codec
from sidecar.ocpi.commands import (
    COMMAND_TYPES,
    CancelReservation,
    CommandResult,
    ReserveNow,
    StartSession,
    StopSession,
    UnlockConnector,
)
from sidecar.ocpi.enums import (
    AllowedType,
    CommandResultType,
    CommandType,
    TokenType,
    WhitelistType,
)
from sidecar.ocpi.tokens import AuthorizationInfo, LocationReferences, Token
from sidecar.ocpi.types import DisplayText, now, utc
from sidecar.servicers import mapping
from sidecar.servicers.enum_mapping import TABLES
from sidecar.servicers.ports import RealTimeAuthorizer
from sidecar.store import commands as command_store
from sidecar.store import partners as partner_store
from sidecar.store import reservations as reservation_store
from sidecar.store import sessions as session_store
from sidecar.store import tokens as token_store
from sidecar.store.engine import Database
from sidecar.store.idempotency import KEY_LENGTH, payload_hash
from sidecar.store.outbox import Wakeup
from sidecar.store.parties import sending_party
from sidecar.store.partners import PartnerRole

Context = grpc.aio.ServicerContext[Any, Any]

_RESULTS = TABLES[pb.CommandResultType.DESCRIPTOR.full_name]
_TOKEN_TYPES = TABLES[common_pb2.TokenType.DESCRIPTOR.full_name]
_ALLOWED = {
    AllowedType.ALLOWED: pb.AUTHORIZATION_RESULT_ALLOWED,
    AllowedType.BLOCKED: pb.AUTHORIZATION_RESULT_BLOCKED,
    AllowedType.EXPIRED: pb.AUTHORIZATION_RESULT_EXPIRED,
    AllowedType.NO_CREDIT: pb.AUTHORIZATION_RESULT_NO_CREDIT,
    AllowedType.NOT_ALLOWED: pb.AUTHORIZATION_RESULT_NOT_ALLOWED,
}
_COMMAND_TYPES: dict[CommandType, pb.CommandType] = {
    CommandType.START_SESSION: pb.COMMAND_TYPE_START_SESSION,
    CommandType.STOP_SESSION: pb.COMMAND_TYPE_STOP_SESSION,
    CommandType.RESERVE_NOW: pb.COMMAND_TYPE_RESERVE_NOW,
    CommandType.CANCEL_RESERVATION: pb.COMMAND_TYPE_CANCEL_RESERVATION,
    CommandType.UNLOCK_CONNECTOR: pb.COMMAND_TYPE_UNLOCK_CONNECTOR,
}
# mod_commands: within this time of a START_SESSION (or RESERVE_NOW) the charger's authorize
# for its token is answered without asking the eMSP again.
_COMMAND_AUTHORIZES = timedelta(minutes=15)
# How often an idle command stream looks for deadlines passed (and other replicas' commands).
_POLL = 1.0


def _stamp(value: Any) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(utc(value))
    return stamp


def _token(token: Token) -> pb.Token:
    return mapping.from_model(token, pb.Token())


def command_message(row: command_store.CommandRow, requester: PartnerRole | None,
                    reservation: reservation_store.ReservationRow | None = None,
                    session: session_store.SessionPlace | None = None) -> pb.Command:
    """The proto Command for a stored eMSP command; `reservation` is the stored reservation
    a RESERVE_NOW or CANCEL_RESERVATION is about (its number for the charge point, and for a
    CANCEL_RESERVATION its location and EVSE); `session` the stored session a STOP_SESSION
    stops (its transaction and place; None: unknown, the session id stands in)."""
    reservation_number = reservation.number if reservation is not None else 0
    kind = CommandType(row.type)
    body = codec.decode(row.request, COMMAND_TYPES[kind])
    message = pb.Command(
        command_id=row.command_id,
        type=_COMMAND_TYPES[kind],
        requested_by=mapping.party_ref(requester),
        created_at=_stamp(row.created_at), deadline=_stamp(row.deadline),
        delivery_count=row.delivery_count)
    if isinstance(body, StartSession):
        message.start_session.CopyFrom(pb.StartSessionCommand(
            token=_token(body.token), location_id=body.location_id,
            evse_uid=body.evse_uid or "", connector_id=body.connector_id or "",
            authorization_reference=body.authorization_reference or ""))
    elif isinstance(body, StopSession):
        # A session's id is the core's transaction id, unless it began as a reservation.
        stop = pb.StopSessionCommand(session_id=body.session_id,
                                     transaction_id=body.session_id)
        if session is not None:
            stop.transaction_id, stop.location_id = session.transaction_id, session.location_id
            stop.evse_uid, stop.connector_id = session.evse_uid, session.connector_id
        message.stop_session.CopyFrom(stop)
    elif isinstance(body, ReserveNow):
        message.reserve_now.CopyFrom(pb.ReserveNowCommand(
            token=_token(body.token), expiry_date=_stamp(body.expiry_date),
            reservation_id=body.reservation_id,
            ocpp_reservation_id=reservation_number,
            location_id=body.location_id, evse_uid=body.evse_uid or "",
            authorization_reference=body.authorization_reference or ""))
    elif isinstance(body, CancelReservation):
        cancel = pb.CancelReservationCommand(reservation_id=body.reservation_id,
                                             ocpp_reservation_id=reservation_number)
        if reservation is not None:
            cancel.location_id = reservation.location_id
            cancel.evse_uid = reservation.evse_uid or ""
        message.cancel_reservation.CopyFrom(cancel)
    elif isinstance(body, UnlockConnector):
        message.unlock_connector.CopyFrom(pb.UnlockConnectorCommand(
            location_id=body.location_id, evse_uid=body.evse_uid,
            connector_id=body.connector_id))
    return message


class EvDriverServicer(ev_driver_pb2_grpc.EvDriverServiceServicer):
    """EvDriverService over the store; `authorizer` asks eMSPs in real time (None: never)."""

    def __init__(
        self,
        database: Database,
        wakeup: Wakeup,
        authorizer: RealTimeAuthorizer | None = None,
        *,
        authorize_timeout: float = 3.0,
        currency: str = "EUR",
    ) -> None:
        self._database = database
        self._currency = currency
        self._wakeup = wakeup
        self._authorizer = authorizer
        self._authorize_timeout = authorize_timeout

    # --- tokens ---------------------------------------------------------------------------

    async def AuthorizeToken(
        self, request: pb.AuthorizeTokenRequest, context: Context
    ) -> pb.AuthorizeTokenResponse:
        uid = mapping.require(request.token_uid, "token_uid")
        token_type = _TOKEN_TYPES.to_ocpi.get(request.token_type, TokenType.RFID)
        location = None
        if request.location_id:
            location = LocationReferences(location_id=request.location_id,
                                          evse_uids=list(request.evse_uids) or None)
        elif request.evse_uids:
            raise InvalidField("location_id", "required with evse_uids")
        async with self._database.read() as connection:
            started = await command_store.recent_start(
                connection, uid, token_type, request.location_id or None,
                now() - _COMMAND_AUTHORIZES)
            cached = await token_store.find_tokens(connection, uid, token_type)
            owners = {p.id: p for p in await partner_store.list_partners(
                connection, status=partner_store.REGISTERED)}
            sender = await sending_party(connection, request.location_id or None)
        if started is not None and started[0] in owners:
            # Authorised by the eMSP with its command: no real-time request (mod_commands).
            return pb.AuthorizeTokenResponse(
                result=pb.AUTHORIZATION_RESULT_ALLOWED, source=pb.AUTHORIZATION_SOURCE_CACHE,
                authorization_reference=started[2] or "",
                token=_token(codec.decode(started[1], Token)))
        cached = [row for row in cached if row.partner_id in owners]
        if not cached:
            return await self._ask_everyone(list(owners.values()), uid, token_type, location,
                                            sender)
        row = next((r for r in cached if r.token.valid), cached[0])
        whitelist = row.token.whitelist
        if whitelist in (WhitelistType.ALWAYS, WhitelistType.ALLOWED):
            return _from_cache(row.token, pb.AUTHORIZATION_SOURCE_CACHE)
        try:
            info = await self._ask(owners[row.partner_id], uid, token_type, location, sender,
                                   (row.token.country_code, row.token.party_id))
        except ConnectionError:
            if whitelist == WhitelistType.ALLOWED_OFFLINE:
                return _from_cache(row.token, pb.AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE)
            return pb.AuthorizeTokenResponse(
                result=pb.AUTHORIZATION_RESULT_NOT_ALLOWED, token=_token(row.token),
                source=pb.AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE)
        if info is None:
            # The eMSP answered and did not authorize: a token it no longer knows (or whose
            # request it refused) is not allowed, whatever the cache still says.
            return pb.AuthorizeTokenResponse(result=pb.AUTHORIZATION_RESULT_NOT_ALLOWED,
                                             token=_token(row.token),
                                             source=pb.AUTHORIZATION_SOURCE_REAL_TIME)
        return _from_answer(info)

    async def _ask(
        self, partner: partner_store.Partner, uid: str, token_type: str,
        location: LocationReferences | None, sender: tuple[str, str] | None,
        recipient: tuple[str, str] | None = None,
    ) -> AuthorizationInfo | None:
        if self._authorizer is None:
            raise ConnectionError("real-time authorization is not configured")
        start, outcome = time.perf_counter(), "failed"
        try:
            async with asyncio.timeout(self._authorize_timeout):
                info = await self._authorizer.authorize(partner, uid, token_type, location,
                                                        sender=sender, recipient=recipient)
            outcome = "unknown" if info is None else "answered"
            return info
        except TimeoutError:
            outcome = "timeout"
            raise ConnectionError(f"no answer within {self._authorize_timeout} s") from None
        except asyncio.CancelledError:
            outcome = ""  # another eMSP answered first: this one's time says nothing
            raise
        finally:
            if outcome:
                metrics.AUTHORIZE_DURATION.labels(outcome).observe(time.perf_counter() - start)

    async def _ask_everyone(
        self, partners: list[partner_store.Partner], uid: str, token_type: str,
        location: LocationReferences | None, sender: tuple[str, str] | None,
    ) -> pb.AuthorizeTokenResponse:
        """An unknown token: every platform it could belong to (an eMSP, or a hub fronting
        eMSPs) is asked at once; the first that knows it answers. None knows it (or none
        answers): UNKNOWN."""
        emsps = [p for p in partners if p.may_own_tokens()]
        if not emsps or self._authorizer is None:
            return pb.AuthorizeTokenResponse(result=pb.AUTHORIZATION_RESULT_UNKNOWN,
                                             source=pb.AUTHORIZATION_SOURCE_CACHE)
        async def ask(partner: partner_store.Partner) -> AuthorizationInfo | None:
            info = await self._ask(partner, uid, token_type, location, sender)
            if info is None:
                return None
            # An eMSP speaks only for the tokens of the parties it holds.
            async with self._database.read() as connection:
                holder = await partner_store.holder_of(connection, info.token.country_code,
                                                       info.token.party_id)
            return info if holder == partner.id else None

        asked = [asyncio.ensure_future(ask(p)) for p in emsps]
        try:
            for finished in asyncio.as_completed(asked):
                try:
                    info = await finished
                except ConnectionError:
                    continue
                if info is not None:
                    return _from_answer(info)
        finally:
            for task in asked:
                task.cancel()
        return pb.AuthorizeTokenResponse(result=pb.AUTHORIZATION_RESULT_UNKNOWN,
                                         source=pb.AUTHORIZATION_SOURCE_REAL_TIME)

    # --- commands -------------------------------------------------------------------------

    async def WatchCommands(
        self, request: pb.WatchCommandsRequest, context: Context
    ) -> AsyncIterator[pb.WatchCommandsResponse]:
        async for row, requester in command_store.watch(
                self._database, command_store.MODULE, request.consumer_id or uuid.uuid4().hex,
                command_store.COMMAND_TYPES, self._wakeup.notify, poll=_POLL):
            reservation = await self._reservation_of(row)
            session = await self._session_of(row)
            yield pb.WatchCommandsResponse(
                command=command_message(row, requester, reservation, session))
        await context.abort(grpc.StatusCode.ABORTED,
                            "consumer_id: a newer stream opened with this consumer id")

    async def _session_of(self, row: command_store.CommandRow
                          ) -> session_store.SessionPlace | None:
        """The stored session a STOP_SESSION stops (None: another command, or unknown)."""
        if row.type != "STOP_SESSION":
            return None
        body = codec.decode(row.request, StopSession)
        async with self._database.read() as connection:
            return await session_store.place_of(connection, body.session_id)

    async def _reservation_of(self, row: command_store.CommandRow
                              ) -> reservation_store.ReservationRow | None:
        """The stored reservation of the command (None: not about one, or unknown)."""
        if row.type not in ("RESERVE_NOW", "CANCEL_RESERVATION"):
            return None
        body = codec.decode(row.request, COMMAND_TYPES[CommandType(row.type)])
        async with self._database.read() as connection:
            if isinstance(body, ReserveNow):
                held = await reservation_store.find(connection, row.partner_id,
                                                    body.location_id, body.reservation_id)
            else:
                assert isinstance(body, CancelReservation)
                held = await reservation_store.latest(connection, row.partner_id,
                                                      body.reservation_id)
        return held

    async def ReportReservationStatus(
        self, request: pb.ReportReservationStatusRequest, context: Context
    ) -> pb.ReportReservationStatusResponse:
        answer = await reservations.report_status(
            self._database, self._wakeup, _status_input(request), self._currency,
            lambda outcome: pb.ReportReservationStatusResponse(
                session_id=outcome.session_id, cdr_id=outcome.cdr_id).SerializeToString())
        return pb.ReportReservationStatusResponse.FromString(answer)

    async def AcknowledgeCommand(
        self, request: pb.AcknowledgeCommandRequest, context: Context
    ) -> pb.AcknowledgeCommandResponse:
        await commands.acknowledge(self._database,
                                   mapping.require(request.command_id, "command_id"))
        return pb.AcknowledgeCommandResponse()

    async def ReportCommandResult(
        self, request: pb.ReportCommandResultRequest, context: Context
    ) -> pb.ReportCommandResultResponse:
        command_id = mapping.require(request.command_id, "command_id")
        result = _RESULTS.to_ocpi.get(request.result)
        if result is None:
            raise InvalidField("result", "COMMAND_RESULT_TYPE_UNSPECIFIED is not allowed"
                               if request.result == 0 else f"unknown value {request.result}")
        messages = [DisplayText(language=m.language or "en", text=m.text)
                    for m in request.messages if m.text]
        outcome = CommandResult(result=CommandResultType(result), message=messages or None)
        late = await commands.report_result(self._database, self._wakeup, command_id,
                                            "command_id", lambda _row: outcome,
                                            currency=self._currency)
        return pb.ReportCommandResultResponse(after_deadline=late)


_RESERVATION_STATUSES = {
    pb.RESERVATION_STATUS_ACCEPTED: reservations.ACCEPTED,
    pb.RESERVATION_STATUS_CANCELLED: reservations.CANCELLED,
    pb.RESERVATION_STATUS_EXPIRED: reservations.EXPIRED,
}


def _status_input(request: pb.ReportReservationStatusRequest) -> reservations.StatusInput:
    key = mapping.require(request.idempotency_key, "idempotency_key")
    if len(key) > KEY_LENGTH:
        raise InvalidField("idempotency_key", f"at most {KEY_LENGTH} characters")
    if request.ocpp_reservation_id <= 0:
        raise InvalidField("ocpp_reservation_id", "required, > 0")
    status = _RESERVATION_STATUSES.get(request.status)
    if status is None:
        raise InvalidField("status", "RESERVATION_STATUS_UNSPECIFIED is not allowed"
                           if request.status == 0 else f"unknown value {request.status}")
    if not request.HasField("timestamp"):
        raise InvalidField("timestamp", "required")
    digest = payload_hash("ReportReservationStatus",
                          request.SerializeToString(deterministic=True))
    return reservations.StatusInput(key, digest, request.ocpp_reservation_id, status,
                                    mapping.timestamp(request.timestamp, "timestamp"))


def _from_cache(
    token: Token, source: pb.AuthorizationSource
) -> pb.AuthorizeTokenResponse:
    result = pb.AUTHORIZATION_RESULT_ALLOWED if token.valid else pb.AUTHORIZATION_RESULT_BLOCKED
    return pb.AuthorizeTokenResponse(result=result, source=source, token=_token(token))


def _from_answer(info: AuthorizationInfo) -> pb.AuthorizeTokenResponse:
    response = pb.AuthorizeTokenResponse(
        result=_ALLOWED[info.allowed], source=pb.AUTHORIZATION_SOURCE_REAL_TIME,
        authorization_reference=info.authorization_reference or "", token=_token(info.token))
    if info.info is not None:
        response.info.CopyFrom(common_pb2.DisplayText(language=info.info.language,
                                                      text=info.info.text))
    if info.location is not None:
        response.allowed_evse_uids.extend(info.location.evse_uids or [])
    return response
