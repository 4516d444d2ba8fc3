"""Checklist §14 B and C: versions, version details, and the credentials handshake."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from tests.checklist.support import emsp_registers
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp, envelope, token_header
from tests.fixtures.http import free_socket, running
from tests.fixtures.waiting import eventually
from tests.gateway.test_tokens_receiver import OFFICIAL
from tests.gateway.transaction_e2e import Core, core, site
from tests.servicers.transaction_builders import T0, end, start

pytestmark = pytest.mark.anyio
__all__ = ["core"]  # the fixture

EXPECTED_ENDPOINTS = {("credentials", "SENDER"), ("credentials", "RECEIVER"),
                      ("locations", "SENDER"), ("sessions", "SENDER"), ("cdrs", "SENDER"),
                      ("tariffs", "SENDER"), ("tokens", "RECEIVER"), ("commands", "RECEIVER"),
                      ("chargingprofiles", "RECEIVER"), ("hubclientinfo", "RECEIVER")}


async def test_29_versions_list_2_2_1_to_token_a_and_to_the_current_token(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    before = await emsp.call_cpo("GET", cpo.versions_url, token_a)
    assert {"version": "2.2.1", "url": cpo.settings.details_url} in before.json()["data"]
    await emsp.register_with(cpo.versions_url, token_a)
    after = await emsp.call_cpo("GET", cpo.versions_url)
    assert {"version": "2.2.1", "url": cpo.settings.details_url} in after.json()["data"]


async def test_30_31_details_list_every_module_in_its_role_and_each_url_answers(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    details = (await emsp.call_cpo("GET", cpo.settings.details_url)).json()["data"]
    assert details["version"] == "2.2.1"
    listed = {(e["identifier"], e["role"]) for e in details["endpoints"]}
    # credentials is listed in one role or both; every other module in the CPO's role.
    assert listed - {("credentials", "SENDER"), ("credentials", "RECEIVER")} == (
        EXPECTED_ENDPOINTS - {("credentials", "SENDER"), ("credentials", "RECEIVER")})
    assert {"credentials"} & {identifier for identifier, _ in listed}
    for endpoint in details["endpoints"]:
        url = endpoint["url"]
        assert re.match(r"^https?://[^/]+/", url), url
        # The spec defines no GET at the root of a Receiver interface (tokens, commands,
        # chargingprofiles take ids or a command after it): only Senders and credentials
        # must answer a GET there.
        if endpoint["role"] == "SENDER" or endpoint["identifier"] == "credentials":
            reply = await emsp.call_cpo("GET", url)
            assert reply.status_code == 200 and reply.json()["status_code"] == 1000, url


async def test_32_get_versions_has_no_side_effects(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    partners = (await cpo.admin.get("/partners")).json()
    first = (await emsp.call_cpo("GET", cpo.versions_url)).json()
    second = (await emsp.call_cpo("GET", cpo.versions_url)).json()
    first.pop("timestamp")
    second.pop("timestamp")
    assert first == second
    assert (await cpo.admin.get("/partners")).json() == partners


async def test_35_the_answer_to_the_post_has_a_new_token_and_our_cpo_role(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    reply = await emsp.register_with(cpo.versions_url, token_a)
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000
    data = reply.json()["data"]
    token_b = emsp.accepted["C"]  # the token B it sent, kept as its "C" once registered
    assert data["token"] not in (token_a, token_b)
    assert data["url"] == cpo.versions_url
    roles = {(r["role"], r["country_code"], r["party_id"]): r for r in data["roles"]}
    assert roles[("CPO", "NL", "CPA")]["business_details"]["name"] == "CPO A"
    assert roles[("CPO", "BE", "CPB")]["business_details"]["name"] == "CPO B"


async def test_37_after_it_registered_our_pushes_use_its_token_b(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    token_b = emsp.accepted["C"]
    emsp.received.clear()
    await site(core)
    await eventually(lambda: "locations/NL/CPA/LOC1" in emsp.objects)
    pushes = [r for r in emsp.received if r.method == "PUT"]
    assert pushes and all(r.headers["authorization"] == token_header(token_b)["Authorization"]
                          for r in pushes)


async def test_39_an_unreachable_versions_url_is_3001_and_keeps_token_a(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    body = {**emsp.credentials("tok-123"), "url": "http://127.0.0.1:9/ocpi/versions"}
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    assert (await cpo.admin.get("/partners")).json() == []
    assert (await emsp.call_cpo("GET", cpo.versions_url, token_a)).status_code == 200
    assert (await emsp.register_with(cpo.versions_url, token_a)).json()["status_code"] == 1000


class OnlyOldVersions(FakeEmsp):
    """An eMSP whose versions list only 2.1.1."""

    async def handle(self, request: Request) -> Response:
        if request.url.path == "/ocpi/versions" and self._who(request) is not None:
            return JSONResponse(envelope([{"version": "2.1.1",
                                           "url": f"{self.url}/ocpi/2.1.1"}]))
        return await super().handle(request)


@pytest.fixture
async def old_emsp() -> AsyncIterator[FakeEmsp]:
    fake = OnlyOldVersions()
    sock = free_socket()
    fake.url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    async with httpx.AsyncClient(timeout=10) as http:
        fake.http = http
        async with running(fake.app(), sock):
            yield fake


async def test_40_no_2_2_1_is_3002_and_no_credentials_endpoint_is_3003(
    cpo: Cpo, emsp: FakeEmsp, old_emsp: FakeEmsp
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    old_emsp.accepted["B"] = "tok-123"
    no_version = await old_emsp.call_cpo("POST", cpo.url("credentials"), token_a,
                                         json=old_emsp.credentials("tok-123"))
    assert no_version.json()["status_code"] == 3002, no_version.text
    emsp.modules = [m for m in emsp.modules if m[0] != "credentials"]
    emsp.accepted["B"] = "tok-123"
    missing = await emsp.call_cpo("POST", cpo.url("credentials"), token_a,
                                  json=emsp.credentials("tok-123"))
    assert missing.json()["status_code"] == 3003, missing.text
    assert (await cpo.admin.get("/partners")).json() == []


async def test_41_we_register_with_token_a_sending_token_b_and_our_cpo_roles(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = emsp.issue_token_a()
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": token_a})
    assert reply.status_code == 201, reply.text
    before_post = emsp.received[:[r.method for r in emsp.received].index("POST")]
    ours = [r for r in before_post if r.path in ("/ocpi/versions", "/ocpi/2.2.1")
            and r.headers["authorization"] == token_header(token_a)["Authorization"]]
    assert [r.path for r in ours] == ["/ocpi/versions", "/ocpi/2.2.1"]
    (post,) = [r for r in emsp.received if r.method == "POST"]
    assert post.headers["authorization"] == token_header(token_a)["Authorization"]
    assert post.body["token"] == emsp.token_for_cpo and post.body["url"] == cpo.versions_url
    assert {(r["role"], r["country_code"], r["party_id"]) for r in post.body["roles"]} == {
        ("CPO", "NL", "CPA"), ("CPO", "BE", "CPB")}
    # The fake eMSP answers our POST with 1000 only after reading our versions and details
    # with token B (else 3001): registering at all shows we accepted B while pending.
    assert (await emsp.call_cpo("GET", cpo.settings.details_url)).status_code == 200


async def test_42_after_its_answer_we_push_with_its_token_c(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code == 201, reply.text
    token_c = emsp.accepted["C"]
    await site(core)
    await eventually(lambda: "locations/NL/CPA/LOC1" in emsp.objects)
    pushes = [r for r in emsp.received if r.method == "PUT"]
    assert all(r.headers["authorization"] == token_header(token_c)["Authorization"]
               for r in pushes)
    assert (await emsp.call_cpo("GET", cpo.url("locations"))).status_code == 200


async def test_43_without_a_credentials_endpoint_we_send_no_post(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    emsp.modules = [m for m in emsp.modules if m[0] != "credentials"]
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code >= 400, reply.text
    assert not [r for r in emsp.received if r.method == "POST"]
    assert (await cpo.admin.get("/partners")).json() == []


async def test_45_a_put_re_reads_its_details_and_our_pushes_use_its_new_token(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    old_c = emsp.token_for_cpo
    emsp.received.clear()
    reply = await emsp.update_at_cpo()
    assert reply.json()["status_code"] == 1000, reply.text
    token_b2 = emsp.accepted["C"]
    assert [r.path for r in emsp.received[:2]] == ["/ocpi/versions", "/ocpi/2.2.1"]
    assert all(r.headers["authorization"] == token_header(token_b2)["Authorization"]
               for r in emsp.received[:2])
    assert (await emsp.call_cpo("GET", cpo.url("locations"), old_c)).status_code == 401
    assert (await emsp.call_cpo("GET", cpo.url("locations"))).status_code == 200
    emsp.received.clear()
    await site(core)
    await eventually(lambda: "locations/NL/CPA/LOC1" in emsp.objects)
    assert all(r.headers["authorization"] == token_header(token_b2)["Authorization"]
               for r in emsp.received)


async def test_47_after_delete_token_c_is_dead_and_we_call_it_no_more(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    token_c = emsp.token_for_cpo
    reply = await emsp.call_cpo("DELETE", cpo.url("credentials"))
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000
    assert (await emsp.call_cpo("GET", cpo.url("locations"), token_c)).status_code == 401
    emsp.received.clear()
    await site(core)
    await core.transactions.StartTransaction(start())
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=5)))
    # Nothing is queued for it: the outbox holds no entry of the unregistered partner.
    async def nothing_pending() -> bool:
        status = (await cpo.admin.get("/partners/1/push-status")).json()
        return bool(status.get("pending", 0) == 0)
    await eventually(nothing_pending)
    assert emsp.received == []


@pytest.mark.parametrize("roles", [None, []])
async def test_49_a_post_without_roles_is_2001(
    cpo: Cpo, emsp: FakeEmsp, roles: list[object] | None
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    body = emsp.credentials("tok-123")
    if roles is None:
        del body["roles"]
    else:
        body["roles"] = roles
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 2001, reply.text
    assert (await cpo.admin.get("/partners")).json() == []


async def test_50_two_roles_of_one_platform_are_both_kept_under_one_token(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    emsp.extra_parties = [("DE", "EM2")]
    await emsp_registers(cpo, emsp)
    (partner,) = (await cpo.admin.get("/partners")).json()
    assert {(r["country_code"], r["party_id"]) for r in partner["roles"]} == {
        ("DE", "EMP"), ("DE", "EM2")}
    for party in ("EMP", "EM2"):
        reply = await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/{party}/U1",
                                    json={**OFFICIAL, "party_id": party, "uid": "U1"})
        assert reply.json()["status_code"] == 1000, (party, reply.text)


async def test_51_tokens_we_make_are_at_most_64_printable_ascii_characters(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    made = [(await cpo.admin.post("/credentials-token-a")).json()["token"] for _ in range(3)]
    reply = await emsp.register_with(cpo.versions_url, made[0])
    made.append(reply.json()["data"]["token"])
    await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                            "token": emsp.issue_token_a()})
    for token in made:
        assert 1 <= len(token) <= 64 and re.fullmatch(r"[\x21-\x7e]+", token), token
