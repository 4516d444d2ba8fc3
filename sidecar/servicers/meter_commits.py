"""StreamMeterValues over the group committer (sidecar/domain/meter_commits.py): a stream's
events are read, checked and queued while earlier ones wait for their commit; rejections
become the proto's RejectedMeterValuesEvent."""

from __future__ import annotations

from collections import deque
from collections.abc import AsyncIterator

from ocpi_sidecar.v1 import transactions_pb2 as pb

from sidecar.domain.meter_commits import MeterCommitter, Result, Unit
from sidecar.domain.sessions import MeterEvent
from sidecar.errors import Conflict, InvalidField, NotFound, PreconditionFailed, SidecarError
from sidecar.servicers import transaction_mapping as inputs

REJECTION_CODES: dict[type[SidecarError], int] = {
    InvalidField: pb.REJECTION_CODE_INVALID_ARGUMENT,
    NotFound: pb.REJECTION_CODE_NOT_FOUND,
    PreconditionFailed: pb.REJECTION_CODE_FAILED_PRECONDITION,
    Conflict: pb.REJECTION_CODE_ALREADY_EXISTS,
}


def rejection(index: int, key: str, error: SidecarError) -> pb.RejectedMeterValuesEvent:
    code = next(REJECTION_CODES[c] for c in type(error).__mro__ if c in REJECTION_CODES)
    return pb.RejectedMeterValuesEvent(event_index=index, idempotency_key=key,
                                       code=code, error=error.message)  # type: ignore[arg-type]


def _account(where: list[tuple[int, str]], results: list[Result],
             rejected: list[pb.RejectedMeterValuesEvent]) -> int:
    stored = 0
    for (index, key), error in zip(where, results, strict=True):
        if error is None:
            stored += 1
        else:
            rejected.append(rejection(index, key, error))
    return stored


async def stream_meter_values(
    committer: MeterCommitter, requests: AsyncIterator[pb.StreamMeterValuesRequest]
) -> pb.StreamMeterValuesResponse:
    """StreamMeterValues: read, check and queue every event; answer once all committed.

    Events join the stream's last queued unit while no commit has taken it, so a stream
    costs one unit per commit, not one per message.
    """
    index = stored = outstanding = 0
    rejected: list[pb.RejectedMeterValuesEvent] = []
    waiting: deque[tuple[list[tuple[int, str]], Unit]] = deque()
    last: Unit | None = None
    async for message in requests:
        valid: list[MeterEvent] = []
        where: list[tuple[int, str]] = []
        too_many = len(message.events) > inputs.MAX_EVENTS
        for event in message.events:
            try:
                if too_many:
                    raise InvalidField("events", f"at most {inputs.MAX_EVENTS} per message")
                valid.append(inputs.meter_event(event, ""))
                where.append((index, event.idempotency_key))
            except InvalidField as error:
                rejected.append(rejection(index, event.idempotency_key, error))
            index += 1
        if not valid:
            continue
        outstanding += len(valid)
        if committer.join(last, valid):
            waiting[-1][0].extend(where)
        else:
            last = committer.enqueue(valid, all_or_nothing=False)
            waiting.append((where, last))
        while outstanding > committer.window:
            where, unit = waiting.popleft()
            outstanding -= len(where)
            stored += _account(where, await unit.future, rejected)
    while waiting:
        where, unit = waiting.popleft()
        stored += _account(where, await unit.future, rejected)
    rejected.sort(key=lambda r: r.event_index)
    return pb.StreamMeterValuesResponse(stored_event_count=stored, rejected_events=rejected)
