"""TransactionService: the core's transaction events, mapped to the sessions domain.

Each request is checked (INVALID_ARGUMENT names the field) and read into a domain input
(transaction_mapping.py); sidecar/domain/sessions.py applies it; meter values go through
its group committer (sidecar/domain/meter_commits.py).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import grpc
from ocpi_sidecar.v1 import transactions_pb2 as pb
from ocpi_sidecar.v1 import transactions_pb2_grpc

from sidecar.domain import cdr_credits
from sidecar.domain.meter_commits import MeterCommitter
from sidecar.domain.sessions import Ended, Sessions
from sidecar.errors import InvalidField
from sidecar.servicers import mapping
from sidecar.servicers import transaction_mapping as inputs
from sidecar.servicers.meter_commits import stream_meter_values
from sidecar.store import outbox
from sidecar.store.engine import Database
from sidecar.store.idempotency import KEY_LENGTH, payload_hash

Context = grpc.aio.ServicerContext[Any, Any]


def _started(session_id: str) -> bytes:
    return pb.StartTransactionResponse(session_id=session_id).SerializeToString()


def _updated(session_id: str) -> bytes:
    return pb.UpdateTransactionResponse(session_id=session_id).SerializeToString()


def _ended(ended: Ended) -> bytes:
    return pb.EndTransactionResponse(session_id=ended.session_id,
                                     cdr_id=ended.cdr_id).SerializeToString()


class TransactionServicer(transactions_pb2_grpc.TransactionServiceServicer):
    """TransactionService over the sessions domain.

    `period_length`: the longest charging period before a new one starts; `currency`: the
    session currency when neither the request nor a tariff gives one; `session_refresh`:
    a session takes in new meter values at most once per so many seconds
    (sidecar/domain/meter_commits.py; 0: with every commit).
    """

    def __init__(
        self, database: Database, wakeup: outbox.Wakeup, *,
        period_length: timedelta = timedelta(minutes=5), currency: str = "EUR",
        session_refresh: float = 5.0,
    ) -> None:
        self._database, self._wakeup = database, wakeup
        self._sessions = Sessions(database, wakeup, period_length=period_length,
                                  currency=currency)
        self.meter = MeterCommitter(database, wakeup, period_length,
                                    session_refresh=session_refresh)

    async def StartTransaction(
        self, request: pb.StartTransactionRequest, context: Context
    ) -> pb.StartTransactionResponse:
        answer = await self._sessions.start(inputs.start_input(request), _started)
        return pb.StartTransactionResponse.FromString(answer)

    async def UpdateTransaction(
        self, request: pb.UpdateTransactionRequest, context: Context
    ) -> pb.UpdateTransactionResponse:
        answer = await self._sessions.update(inputs.update_input(request), _updated)
        return pb.UpdateTransactionResponse.FromString(answer)

    async def EndTransaction(
        self, request: pb.EndTransactionRequest, context: Context
    ) -> pb.EndTransactionResponse:
        answer = await self._sessions.end(inputs.end_input(request), _ended)
        return pb.EndTransactionResponse.FromString(answer)

    async def ReportMeterValues(
        self, request: pb.ReportMeterValuesRequest, context: Context
    ) -> pb.ReportMeterValuesResponse:
        if not request.events:
            raise InvalidField("events", "required")
        if len(request.events) > inputs.MAX_EVENTS:
            raise InvalidField("events", f"at most {inputs.MAX_EVENTS} events per call")
        events = [inputs.meter_event(e, f"events[{i}]") for i, e in enumerate(request.events)]
        errors = await self.meter.submit(events, all_or_nothing=True)
        for error in errors:
            if error is not None:
                raise error
        return pb.ReportMeterValuesResponse(stored_event_count=len(events))

    async def StreamMeterValues(
        self, request_iterator: AsyncIterator[pb.StreamMeterValuesRequest], context: Context
    ) -> pb.StreamMeterValuesResponse:
        return await stream_meter_values(self.meter, request_iterator)

    async def CreditCdr(
        self, request: pb.CreditCdrRequest, context: Context
    ) -> pb.CreditCdrResponse:
        answer = await cdr_credits.credit(
            self._database, self._wakeup, _credit_input(request),
            lambda made: pb.CreditCdrResponse(
                credit_cdr_id=made.credit_id,
                corrected_cdr_id=made.corrected_id).SerializeToString())
        return pb.CreditCdrResponse.FromString(answer)


def _credit_input(request: pb.CreditCdrRequest) -> cdr_credits.CreditInput:
    key = mapping.require(request.idempotency_key, "idempotency_key")
    if len(key) > KEY_LENGTH:
        raise InvalidField("idempotency_key", f"at most {KEY_LENGTH} characters")
    cdr_id = mapping.require(request.cdr_id, "cdr_id")
    correction = None
    if request.correction_json:
        try:
            correction = json.loads(request.correction_json, parse_float=Decimal)
        except ValueError:
            raise InvalidField("correction_json", "not JSON") from None
        if not isinstance(correction, dict):
            raise InvalidField("correction_json", "a JSON object of CDR fields")
    digest = payload_hash("CreditCdr", request.SerializeToString(deterministic=True))
    return cdr_credits.CreditInput(cdr_id, correction, "correction_json", key, digest)
