"""EvDriverService.AuthorizeToken: the token cache and the eMSP in real time, per whitelist."""

from __future__ import annotations

from typing import Any

import grpc
import pytest
from ocpi_sidecar.v1 import common_pb2
from ocpi_sidecar.v1 import ev_driver_pb2 as pb

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.test_commands_receiver import Core, bodies, command, ev_core, watching
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]  # the fixture

UID = "012345678"


async def push(cpo: Cpo, emsp: FakeEmsp, **changes: Any) -> dict[str, Any]:
    token = {**OFFICIAL, **changes}
    reply = await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/{token['uid']}",
                                json=token)
    assert reply.json()["status_code"] == 1000, reply.text
    return token


def answer(token: dict[str, Any], allowed: str = "ALLOWED") -> dict[str, Any]:
    return {"allowed": allowed, "token": token, "authorization_reference": "REF-1",
            "location": {"location_id": "LOC1", "evse_uids": ["EVSE1"]}}


async def authorize(core: Core, uid: str = UID, **fields: Any) -> pb.AuthorizeTokenResponse:
    where = {"location_id": "LOC1", "evse_uids": ["EVSE1"], **fields}
    return await core.ev.AuthorizeToken(pb.AuthorizeTokenRequest(
        token_uid=uid, token_type=common_pb2.TOKEN_TYPE_RFID, **where))


def asked(emsp: FakeEmsp) -> list[Any]:
    return [r for r in emsp.received if r.path.endswith("/authorize")]


@pytest.mark.parametrize("whitelist", ["ALWAYS", "ALLOWED"])
async def test_local_whitelists_answer_from_the_cache(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, whitelist: str
) -> None:
    await register(cpo, emsp)
    await push(cpo, emsp, whitelist=whitelist)
    reply = await authorize(ev_core)
    assert reply.result == pb.AUTHORIZATION_RESULT_ALLOWED
    assert reply.source == pb.AUTHORIZATION_SOURCE_CACHE
    assert reply.token.uid == UID and reply.token.party.party_id == "EMP"
    assert asked(emsp) == []


async def test_an_invalid_cached_token_is_blocked(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await push(cpo, emsp, whitelist="ALWAYS", valid=False)
    reply = await authorize(ev_core)
    assert reply.result == pb.AUTHORIZATION_RESULT_BLOCKED
    assert asked(emsp) == []


@pytest.mark.parametrize(("allowed", "expected"), [
    ("ALLOWED", pb.AUTHORIZATION_RESULT_ALLOWED),
    ("BLOCKED", pb.AUTHORIZATION_RESULT_BLOCKED),
    ("EXPIRED", pb.AUTHORIZATION_RESULT_EXPIRED),
    ("NO_CREDIT", pb.AUTHORIZATION_RESULT_NO_CREDIT),
])
@pytest.mark.parametrize("whitelist", ["ALLOWED_OFFLINE", "NEVER"])
async def test_real_time_whitelists_follow_the_emsps_answer(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, whitelist: str, allowed: str, expected: int
) -> None:
    await register(cpo, emsp)
    token = await push(cpo, emsp, whitelist=whitelist)
    emsp.authorizations[UID] = answer(token, allowed)
    reply = await authorize(ev_core)
    assert reply.result == expected
    assert reply.source == pb.AUTHORIZATION_SOURCE_REAL_TIME
    assert reply.authorization_reference == "REF-1"
    assert list(reply.allowed_evse_uids) == ["EVSE1"]
    (request,) = asked(emsp)
    assert request.method == "POST" and request.path == f"/ocpi/2.2.1/tokens/{UID}/authorize"
    assert request.body == {"location_id": "LOC1", "evse_uids": ["EVSE1"]}


@pytest.mark.parametrize("authorize_timeout", [0.5])
@pytest.mark.parametrize("trouble", ["slow", "failing", "hanging"])
@pytest.mark.parametrize(("whitelist", "expected"), [
    ("ALLOWED_OFFLINE", pb.AUTHORIZATION_RESULT_ALLOWED),
    ("NEVER", pb.AUTHORIZATION_RESULT_NOT_ALLOWED),
])
async def test_an_emsp_that_does_not_answer_in_time(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, trouble: str, whitelist: str, expected: int,
    authorize_timeout: float,
) -> None:
    await register(cpo, emsp)
    token = await push(cpo, emsp, whitelist=whitelist)
    emsp.authorizations[UID] = answer(token, "BLOCKED")
    if trouble == "slow":
        emsp.authorize_delay = 3600.0  # answers, but long after the 0.5 s we wait
    elif trouble == "failing":
        emsp.failure = (500, 3000)
    else:
        emsp.failure = "hang"
    reply = await authorize(ev_core)
    assert reply.result == expected
    assert reply.source == pb.AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE


@pytest.mark.parametrize("refusal", [(404, 2004), (200, 2004), (200, 2000), (200, 2001),
                                     (200, 2002), (400, 2001)])
@pytest.mark.parametrize("whitelist", ["ALLOWED_OFFLINE", "NEVER"])
async def test_an_ocpi_client_error_is_the_emsps_answer_not_an_outage(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, whitelist: str, refusal: tuple[int, int]
) -> None:
    # The eMSP answered: it does not know the token (2004 / HTTP 404), or refuses the
    # request (another 2xxx). Either way the cached token is not allowed now; falling back
    # to the cache's ALLOWED would let a revoked token charge.
    await register(cpo, emsp)
    await push(cpo, emsp, whitelist=whitelist)
    emsp.failure = refusal
    reply = await authorize(ev_core)
    assert reply.result == pb.AUTHORIZATION_RESULT_NOT_ALLOWED
    assert reply.source == pb.AUTHORIZATION_SOURCE_REAL_TIME
    assert len(asked(emsp)) == 1


@pytest.mark.parametrize("outage", [(200, 3000), (200, 3001), (503, 3000), (502, 2000)])
async def test_ocpi_server_errors_and_http_5xx_fall_back_to_the_cache(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, outage: tuple[int, int]
) -> None:
    await register(cpo, emsp)
    await push(cpo, emsp, whitelist="ALLOWED_OFFLINE")
    emsp.failure = outage
    reply = await authorize(ev_core)
    assert reply.result == pb.AUTHORIZATION_RESULT_ALLOWED
    assert reply.source == pb.AUTHORIZATION_SOURCE_PARTNER_UNREACHABLE


@pytest.mark.parametrize("whitelist", ["ALLOWED_OFFLINE", "NEVER"])
async def test_an_answer_wrapped_in_a_list_is_the_answer(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, whitelist: str
) -> None:
    await register(cpo, emsp)
    token = await push(cpo, emsp, whitelist=whitelist)
    emsp.authorize_listed = True
    emsp.authorizations[UID] = answer(token, "BLOCKED")
    emsp.authorizations["NEW1"] = answer({**OFFICIAL, "uid": "NEW1"})
    cached = await authorize(ev_core)
    assert cached.result == pb.AUTHORIZATION_RESULT_BLOCKED
    assert cached.source == pb.AUTHORIZATION_SOURCE_REAL_TIME
    unknown = await authorize(ev_core, "NEW1")
    assert unknown.result == pb.AUTHORIZATION_RESULT_ALLOWED
    assert unknown.source == pb.AUTHORIZATION_SOURCE_REAL_TIME
    assert unknown.authorization_reference == "REF-1"


async def test_an_unknown_token_is_asked_of_the_emsps(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    emsp.authorizations["NEW1"] = answer({**OFFICIAL, "uid": "NEW1"})
    known = await authorize(ev_core, "NEW1")
    assert known.result == pb.AUTHORIZATION_RESULT_ALLOWED
    assert known.source == pb.AUTHORIZATION_SOURCE_REAL_TIME
    assert known.token.uid == "NEW1"
    unknown = await authorize(ev_core, "NOBODY")
    assert unknown.result == pb.AUTHORIZATION_RESULT_UNKNOWN
    # Both eMSPs were asked both times, at once; an answer about another party's token
    # would not count.
    assert len(asked(emsp)) == 2 and len(asked(second_emsp)) == 2


async def test_without_emsps_an_unknown_token_is_unknown(ev_core: Core) -> None:
    reply = await authorize(ev_core, "NOBODY")
    assert reply.result == pb.AUTHORIZATION_RESULT_UNKNOWN


async def test_a_request_without_uid_is_invalid(ev_core: Core) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await ev_core.ev.AuthorizeToken(pb.AuthorizeTokenRequest())
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "token_uid" in (raised.value.details() or "")


async def test_command_reports_name_what_is_wrong(ev_core: Core) -> None:
    cases = [
        (ev_core.ev.AcknowledgeCommand(pb.AcknowledgeCommandRequest(command_id="nope")),
         grpc.StatusCode.NOT_FOUND, "command_id"),
        (ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(command_id="nope")),
         grpc.StatusCode.INVALID_ARGUMENT, "result"),
        (ev_core.ev.ReportCommandResult(pb.ReportCommandResultRequest(
            command_id="nope", result=pb.COMMAND_RESULT_TYPE_ACCEPTED)),
         grpc.StatusCode.NOT_FOUND, "command_id"),
    ]
    for call, code, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as raised:
            await call
        assert raised.value.code() == code
        assert (raised.value.details() or "").startswith(field)


async def test_a_token_just_sent_with_start_session_is_not_asked_again(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    emsp.authorizations[UID] = answer({**OFFICIAL, "whitelist": "NEVER"}, "BLOCKED")
    watcher = await watching(cpo, ev_core)
    reply = await command(emsp, cpo, "START_SESSION", bodies(emsp)["START_SESSION"])
    assert reply["data"]["result"] == "ACCEPTED"
    allowed = await authorize(ev_core)
    assert allowed.result == pb.AUTHORIZATION_RESULT_ALLOWED
    assert allowed.authorization_reference == "AUTH-1"
    assert asked(emsp) == []
    elsewhere = await authorize(ev_core, location_id="LOC2")
    assert elsewhere.result == pb.AUTHORIZATION_RESULT_BLOCKED and len(asked(emsp)) == 1
    await watcher.stop()
