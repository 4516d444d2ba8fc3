"""URLs partners choose (response_url, versions and endpoint URLs) are checked where they enter,
and every outbound call goes only to addresses the address policy allows."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from gateway.addresses import AddressPolicy, refused_in
from gateway.client import outbound_http
from sidecar.store import tables
from sidecar.store.engine import Database
from sidecar.store.parties import upsert_party
from tests.fixtures.cpo import Cpo, serving
from tests.fixtures.emsp import FakeEmsp, envelope
from tests.fixtures.http import running
from tests.gateway.test_charging_profiles_receiver import PROFILE, with_session
from tests.gateway.test_charging_profiles_receiver import url as profile_url
from tests.gateway.test_charging_profiles_receiver import watching as watching_profiles
from tests.gateway.test_commands_receiver import Core, bodies, ev_core, stored_commands, watching
from tests.gateway.test_registration import new_token_a
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio
__all__ = ["ev_core"]  # the fixture

# Each is refused before anything is stored or called (what is wrong with it).
BAD_URLS = {
    "ftp://emsp.example.com/result": "scheme",
    "/ocpi/2.2.1/commands/result": "relative",
    "emsp.example.com/result": "no scheme",
    "http:///result": "no host",
    "http://user:secret@emsp.example.com/result": "userinfo",
    "http://emsp.example.com/res ult": "space",
    "http://emsp.example.com/result\x00": "NUL",
    "http://emsp.example.com/\r\nX-Injected: 1": "CR LF",
    "http://emsp.example.com\t/result": "tab",
    "http://emsp.exa mple.com/result": "space in the host",
    "http://emsp.example.com:99999/result": "port out of range",
    "http://emsp\\.example.com/result": "backslash in the host",
    "javascript:alert(1)": "not http",
}


async def test_bad_response_urls_of_commands_are_2001_and_nothing_is_stored(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await ev_core.site()
    watcher = await watching(cpo, ev_core)
    good = bodies(emsp)["UNLOCK_CONNECTOR"]
    for bad, what in BAD_URLS.items():
        reply = await emsp.call_cpo("POST", f"{cpo.url('commands')}/UNLOCK_CONNECTOR",
                                    json={**good, "response_url": bad})
        assert reply.status_code == 400, (what, reply.text)
        assert reply.json()["status_code"] == 2001, what
        assert reply.json()["status_message"].startswith("response_url:"), reply.json()
    too_long = "https://emsp.example.com/" + "r" * 231
    reply = await emsp.call_cpo("POST", f"{cpo.url('commands')}/UNLOCK_CONNECTOR",
                                json={**good, "response_url": too_long})
    assert reply.json()["status_code"] == 2001
    assert reply.json()["status_message"].startswith("response_url:")
    assert await stored_commands(cpo) == 0
    # The same body with a usable URL is taken: only the URL was wrong.
    accepted = await emsp.call_cpo("POST", f"{cpo.url('commands')}/UNLOCK_CONNECTOR", json=good)
    assert accepted.json()["data"]["result"] == "ACCEPTED"
    await watcher.stop()


async def test_bad_response_urls_of_profile_requests_are_2001_and_nothing_is_stored(
    cpo: Cpo, ev_core: Core, emsp: FakeEmsp
) -> None:
    await with_session(cpo, ev_core, emsp)
    watcher = await watching_profiles(cpo, ev_core)
    for bad, what in BAD_URLS.items():
        put = await emsp.call_cpo("PUT", profile_url(cpo), json={**PROFILE, "response_url": bad})
        get = await emsp.call_cpo("GET", profile_url(cpo),
                                  params={"duration": "60", "response_url": bad})
        delete = await emsp.call_cpo("DELETE", profile_url(cpo), params={"response_url": bad})
        for reply in (put, get, delete):
            assert reply.status_code == 400, (what, reply.request.method, reply.text)
            assert reply.json()["status_code"] == 2001, what
            assert reply.json()["status_message"].startswith("response_url:"), reply.json()
    assert await stored_commands(cpo) == 0
    await watcher.stop()


async def partners(cpo: Cpo) -> int:
    async with cpo.database.read() as connection:
        return int((await connection.execute(
            select(func.count()).select_from(tables.partners))).scalar_one())


async def test_credentials_with_an_unusable_versions_url_are_3001_naming_url(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = await new_token_a(cpo)
    for bad in ("http://emsp.example.com/ocpi/\x01versions", "ftp://emsp.example.com/versions",
                "/ocpi/versions", "http://user:pw@emsp.example.com/ocpi/versions"):
        body = {**emsp.credentials("tok-123"), "url": bad}
        reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
        assert reply.status_code == 200, reply.text
        assert reply.json()["status_code"] == 3001, bad
        assert reply.json()["status_message"].startswith("url:"), reply.json()
    assert await partners(cpo) == 0
    assert not emsp.received  # nothing was called
    # Token A was not spent.
    assert (await emsp.register_with(cpo.versions_url, token_a)).json()["status_code"] == 1000
    # An update (PUT) is checked the same way, and changes nothing.
    update = await emsp.call_cpo("PUT", cpo.url("credentials"),
                                 json={**emsp.credentials("tok-9"), "url": "ftp://x.example/v"})
    assert update.json()["status_code"] == 3001
    assert update.json()["status_message"].startswith("url:")
    (partner,) = (await cpo.admin.get("/partners")).json()
    assert partner["versions_url"] == emsp.versions_url


async def test_a_bad_versions_url_given_to_the_admin_api_is_400(cpo: Cpo) -> None:
    for bad in ("ftp://emsp.example.com/versions", "http://emsp.example.com/\nversions",
                "emsp.example.com/versions"):
        reply = await cpo.admin.post("/partners", json={"versions_url": bad, "token": "tok"})
        assert reply.status_code == 400, reply.text
        assert reply.json()["field"] == "versions_url"
    assert await partners(cpo) == 0


def versions_app(answer: Any) -> Starlette:
    """A partner answering `answer(base_url, path)` as (status, body) to every GET."""

    async def versions(request: Request) -> JSONResponse:
        status, body = answer(str(request.base_url).rstrip("/"), request.url.path)
        return JSONResponse(body, status_code=status)

    return Starlette(routes=[Route("/{path:path}", versions, methods=["GET"])])


@pytest.fixture
async def odd_partner() -> AsyncIterator[dict[str, Any]]:
    """A partner server whose answers the test scripts: `state["answer"](base, path)`."""
    state: dict[str, Any] = {}
    async with running(versions_app(lambda base, path: state["answer"](base, path))) as base:
        state["url"] = base
        yield state


async def test_version_details_with_unusable_endpoint_urls_are_3001_naming_the_field(
    cpo: Cpo, emsp: FakeEmsp, odd_partner: dict[str, Any]
) -> None:
    def answer(base: str, path: str) -> tuple[int, Any]:
        if path == "/versions":
            return 200, envelope([{"version": "2.2.1", "url": f"{base}/details"}])
        return 200, envelope({"version": "2.2.1", "endpoints": [
            {"identifier": "credentials", "role": "RECEIVER", "url": f"{base}/credentials"},
            {"identifier": "locations", "role": "RECEIVER",
             "url": "http://user:pw@10.0.0.1/locations"}]})

    odd_partner["answer"] = answer
    token_a = await new_token_a(cpo)
    body = {**emsp.credentials("tok-123"), "url": f"{odd_partner['url']}/versions"}
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    assert reply.json()["status_message"].startswith("endpoints[1].url:"), reply.json()
    assert await partners(cpo) == 0

    odd_partner["answer"] = lambda base, path: (
        200, envelope([{"version": "2.2.1", "url": "gopher://details.example.com/"}]))
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    assert reply.json()["status_message"].startswith("versions[0].url:"), reply.json()


async def test_a_failing_versions_endpoint_is_told_without_what_it_answered(
    cpo: Cpo, emsp: FakeEmsp, odd_partner: dict[str, Any]
) -> None:
    odd_partner["answer"] = lambda base, path: (
        404, envelope(status_code=2000, message="internal secret: db password hunter2"))
    token_a = await new_token_a(cpo)
    body = {**emsp.credentials("tok-123"), "url": f"{odd_partner['url']}/versions"}
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    message = reply.json()["status_message"]
    assert "could not fetch your versions endpoint" in message and "HTTP 404" in message
    assert "hunter2" not in message and "secret" not in message
    odd_partner["answer"] = lambda base, path: (200, {"internal": "hunter2"})
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    assert "hunter2" not in reply.json()["status_message"]


async def test_link_local_versions_urls_are_refused_by_default(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    metadata = "http://169.254.169.254/ocpi/versions"
    reply = await cpo.admin.post("/partners", json={"versions_url": metadata, "token": "tok"})
    assert reply.status_code == 502, reply.text
    assert "address policy refused 169.254.169.254" in reply.json()["error"]
    token_a = await new_token_a(cpo)
    for url in (metadata, "http://[fe80::1]:8080/ocpi/versions",
                "http://[::ffff:169.254.169.254]/ocpi/versions"):
        body = {**emsp.credentials("tok-123"), "url": url}
        answer = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
        assert answer.json()["status_code"] == 3001
        assert "address policy refused" in answer.json()["status_message"], answer.json()
    assert await partners(cpo) == 0


async def test_partners_outside_the_allowed_networks_are_refused_when_called(
    database: Database, emsp: FakeEmsp
) -> None:
    async with database.write() as connection:
        await upsert_party(connection, "NL", "CPA", {"name": "CPO A"})
    async with serving(database, partner_networks=("10.0.0.0/8",)) as cpo:
        reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                        "token": emsp.issue_token_a()})
        assert reply.status_code == 502, reply.text
        assert "address policy refused 127.0.0.1" in reply.json()["error"]
        assert not emsp.received  # the partner's host was never connected to
        assert await partners(cpo) == 0
    async with serving(database, partner_networks=("10.0.0.0/8", "127.0.0.0/8")) as cpo:
        reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                        "token": emsp.issue_token_a()})
        assert reply.status_code == 201, reply.text


async def test_the_address_connected_to_is_checked_again(emsp: FakeEmsp) -> None:
    """What a DNS answer that changes after OCPIClient's check (rebinding) would meet: the
    HTTP client itself refuses to open a connection to an address outside the policy."""
    async with outbound_http(timeout=5, policy=AddressPolicy(["10.0.0.0/8"])) as http:
        with pytest.raises(aiohttp.ClientError) as failed:
            await http.get(emsp.versions_url)
    refused = refused_in(failed.value)
    assert refused is not None and "address policy refused 127.0.0.1" in str(refused)
    assert not emsp.received
