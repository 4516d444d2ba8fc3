"""The operator console (/admin/ui) over plain HTTP against the real admin listener: log-in,
sessions, CSRF refusals, escaping of what partners send, and each action's effect in the store."""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc
from sqlalchemy import func, insert, select

from gateway.console.sessions import COOKIE
from sidecar.servicers.server import create_server
from sidecar.store import tables
from sidecar.store.commands import NewCommand, insert_command
from sidecar.store.partners import REGISTERED, UNREGISTERED, get_partner
from sidecar.store.sessions import insert_session
from tests.fixtures.cpo import ADMIN_KEY, Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.waiting import eventually
from tests.servicers.test_locations import evse, location, upsert

pytestmark = pytest.mark.anyio

UI = "/admin/ui"
HOSTILE = "<script>alert('x')</script>"


@pytest.fixture
async def browser(cpo: Cpo) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the admin listener that keeps cookies, as a browser would."""
    async with httpx.AsyncClient(base_url=cpo.settings.admin_url, timeout=10) as client:
        yield client


async def log_in(client: httpx.AsyncClient, key: str = ADMIN_KEY) -> httpx.Response:
    return await client.post(f"{UI}/login", data={"key": key})


async def csrf_of(client: httpx.AsyncClient, page: str = f"{UI}/partners") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', (await client.get(page)).text)
    assert found, "no CSRF token on the page"
    return found.group(1)


async def logged_in(client: httpx.AsyncClient) -> str:
    assert (await log_in(client)).status_code == 303
    return await csrf_of(client)


async def registration_tokens(cpo: Cpo) -> int:
    async with cpo.database.read() as connection:
        return int(await connection.scalar(
            select(func.count()).select_from(tables.registration_tokens)) or 0)


async def register(client: httpx.AsyncClient, csrf: str, emsp: FakeEmsp) -> int:
    answer = await client.post(f"{UI}/partners", data={
        "csrf": csrf, "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})
    assert answer.status_code == 303, answer.text
    found = re.fullmatch(rf"{UI}/partners/(\d+)", answer.headers["location"])
    assert found, answer.headers["location"]
    return int(found.group(1))


@pytest.fixture
async def locations(cpo: Cpo) -> AsyncIterator[locations_pb2_grpc.LocationServiceStub]:
    """The core's LocationService (a real gRPC server over the gateway's database)."""
    server, port = await create_server("127.0.0.1:0", cpo.database, cpo.wakeup)
    await server.start()
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{port}") as channel:
            yield locations_pb2_grpc.LocationServiceStub(channel)
    finally:
        await server.stop(None)


async def test_pages_and_actions_without_a_session_redirect_to_the_login(
    browser: httpx.AsyncClient,
) -> None:
    for path in (UI, f"{UI}/partners", f"{UI}/locations", f"{UI}/sessions", f"{UI}/commands",
                 f"{UI}/partners/1"):
        answer = await browser.get(path)
        assert (answer.status_code, answer.headers["location"]) == (303, f"{UI}/login"), path
    forged = await browser.post(f"{UI}/token-a", data={"csrf": "x"},
                                headers={"Cookie": f"{COOKIE}=not-a-session"})
    assert (forged.status_code, forged.headers["location"]) == (303, f"{UI}/login")
    assert "Admin key" in (await browser.get(f"{UI}/login")).text


async def test_the_partners_listener_has_no_console(cpo: Cpo) -> None:
    async with httpx.AsyncClient(timeout=10) as client:
        for path in (UI, f"{UI}/login"):
            answer = await client.get(cpo.settings.public_url + path)
            assert answer.status_code == 404 and answer.json()["status_code"] != 1000, path


async def test_wrong_key_shows_the_error_sets_no_cookie_and_counts_in_the_api_limiter(
    cpo: Cpo, browser: httpx.AsyncClient,
) -> None:
    wrong = await log_in(browser, "not-the-key")
    assert wrong.status_code == 401
    assert "wrong admin key" in wrong.text and "set-cookie" not in wrong.headers
    assert (await browser.get(f"{UI}/partners")).status_code == 303
    # The same limiter as the API's: once this source failed often enough, both refuse it.
    for _ in range(cpo.settings.auth_failure_limit):
        await log_in(browser, "not-the-key")
    limited = await log_in(browser)
    assert limited.status_code == 429 and "too many failed" in limited.text
    assert int(limited.headers["retry-after"]) >= 1
    assert (await cpo.admin.get("/partners")).status_code == 429


async def test_log_in_sets_a_strict_http_only_cookie_that_is_not_the_key_and_log_out_ends_it(
    browser: httpx.AsyncClient,
) -> None:
    answer = await log_in(browser)
    assert (answer.status_code, answer.headers["location"]) == (303, f"{UI}/partners")
    cookie = answer.headers["set-cookie"]
    attributes = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=strict", f"path={UI}"} <= attributes
    value = browser.cookies[COOKIE]
    assert ADMIN_KEY not in cookie and value not in (ADMIN_KEY,
                                                     hashlib.sha256(ADMIN_KEY.encode()).hexdigest())
    csrf = await csrf_of(browser)
    assert (await browser.get(f"{UI}/partners")).status_code == 200

    out = await browser.post(f"{UI}/logout", data={"csrf": csrf})
    assert (out.status_code, out.headers["location"]) == (303, f"{UI}/login")
    # The old cookie names no session any more, even when presented again.
    assert COOKIE not in browser.cookies
    again = await browser.get(f"{UI}/partners", headers={"Cookie": f"{COOKIE}={value}"})
    assert (again.status_code, again.headers["location"]) == (303, f"{UI}/login")


async def test_a_post_without_the_csrf_token_or_from_another_origin_does_nothing(
    cpo: Cpo, browser: httpx.AsyncClient,
) -> None:
    csrf = await logged_in(browser)
    missing = await browser.post(f"{UI}/token-a", data={"plain": "on"})
    stale = await browser.post(f"{UI}/token-a", data={"csrf": csrf + "x"})
    foreign = await browser.post(f"{UI}/token-a", data={"csrf": csrf},
                                 headers={"Origin": "http://evil.example"})
    foreign_referer = await browser.post(f"{UI}/token-a", data={"csrf": csrf},
                                         headers={"Referer": "http://evil.example/page"})
    as_json = await browser.post(f"{UI}/token-a", json={"csrf": csrf})
    assert [a.status_code for a in (missing, stale, foreign, foreign_referer, as_json)] == [
        403, 403, 403, 403, 415]
    assert "CSRF" in missing.text
    assert await registration_tokens(cpo) == 0
    # A cross-origin log-in form is refused too (log-in CSRF), with the right key.
    async with httpx.AsyncClient(base_url=cpo.settings.admin_url, timeout=10) as other:
        planted = await other.post(f"{UI}/login", data={"key": ADMIN_KEY},
                                   headers={"Origin": "http://evil.example"})
        assert planted.status_code == 403 and COOKIE not in other.cookies

    same_origin = await browser.post(f"{UI}/token-a", data={"csrf": csrf},
                                     headers={"Origin": cpo.settings.admin_url})
    assert same_origin.status_code == 201 and await registration_tokens(cpo) == 1


async def test_token_a_is_shown_once_with_our_versions_url_and_registers_an_emsp(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
) -> None:
    csrf = await logged_in(browser)
    answer = await browser.post(f"{UI}/token-a", data={"csrf": csrf})
    assert answer.status_code == 201 and answer.headers["cache-control"] == "no-store"
    token = re.search(r'id="token-a">([^<]+)<', answer.text)
    assert token and cpo.versions_url in answer.text
    assert token.group(1) not in (await browser.get(f"{UI}/partners")).text

    reply = await emsp.register_with(cpo.versions_url, token.group(1))
    assert reply.json()["status_code"] == 1000
    partners = await browser.get(f"{UI}/partners")
    assert 'class="status-REGISTERED"' in partners.text and "DE/EMP" in partners.text


async def test_register_rotate_and_unregister_through_the_forms(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
) -> None:
    csrf = await logged_in(browser)
    partner_id = await register(browser, csrf, emsp)
    async with cpo.database.read() as connection:
        partner = await get_partner(connection, partner_id)
    assert partner is not None and partner.status == REGISTERED
    page = await browser.get(f"{UI}/partners/{partner_id}")
    assert "registered with partner" in page.text and ">REGISTERED<" in page.text
    assert emsp.versions_url in page.text

    token_c = emsp.accepted["C"]
    rotated = await browser.post(f"{UI}/partners/{partner_id}/rotate", data={"csrf": csrf})
    assert rotated.status_code == 303
    assert emsp.accepted["C"] != token_c
    assert "credentials rotated" in (await browser.get(rotated.headers["location"])).text

    confirm = await browser.get(f"{UI}/partners/{partner_id}/unregister")
    assert 'id="confirm-unregister"' in confirm.text
    async with cpo.database.read() as connection:
        assert (await get_partner(connection, partner_id)).status == REGISTERED  # type: ignore[union-attr]
    gone = await browser.post(f"{UI}/partners/{partner_id}/unregister", data={"csrf": csrf})
    assert gone.status_code == 303
    async with cpo.database.read() as connection:
        assert (await get_partner(connection, partner_id)).status == UNREGISTERED  # type: ignore[union-attr]
    assert "C" not in emsp.accepted
    assert "unregistered" in (await browser.get(gone.headers["location"])).text


async def test_a_failed_registration_is_shown_and_stores_no_partner(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
) -> None:
    csrf = await logged_in(browser)
    answer = await browser.post(f"{UI}/partners", data={
        "csrf": csrf, "versions_url": emsp.versions_url, "token": "not-its-token-a"})
    assert (answer.status_code, answer.headers["location"]) == (303, f"{UI}/partners")
    page = await browser.get(f"{UI}/partners")
    assert "registration failed" in page.text and "No partner yet." in page.text


async def test_publish_unpublish_and_push_a_location_and_push_a_partner(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
    locations: locations_pb2_grpc.LocationServiceStub,
) -> None:
    csrf = await logged_in(browser)
    partner_id = await register(browser, csrf, emsp)
    await locations.UpsertLocation(upsert(location("LOC1", evse("EVSE1"))))
    await eventually(lambda: "locations/NL/CPA/LOC1" in emsp.objects)
    page = await browser.get(f"{UI}/locations")
    assert 'data-location="LOC1"' in page.text and "EVSE1" in page.text
    assert ">AVAILABLE<" in page.text or ">UNKNOWN<" in page.text

    async def published() -> bool:
        async with cpo.database.read() as connection:
            return bool(await connection.scalar(select(tables.locations.c.publish)))

    form = {"csrf": csrf, "id": "LOC1", "country_code": "NL", "party_id": "CPA"}
    hidden = await browser.post(f"{UI}/locations/unpublish", data=form)
    assert hidden.status_code == 303 and not await published()
    # The eMSP is told (the location, publish false).
    await eventually(lambda: emsp.objects["locations/NL/CPA/LOC1"]["publish"] is False)
    assert "location LOC1 unpublished" in (await browser.get(f"{UI}/locations")).text
    shown = await browser.post(f"{UI}/locations/publish", data=form)
    assert shown.status_code == 303 and await published()
    await eventually(lambda: emsp.objects["locations/NL/CPA/LOC1"]["publish"] is True)

    puts = sum(1 for r in emsp.received if r.method == "PUT" and "locations" in r.path)
    pushed = await browser.post(f"{UI}/locations/push", data=form)
    assert pushed.status_code == 303
    assert "push queued: 1" in (await browser.get(f"{UI}/locations")).text
    await eventually(lambda: sum(1 for r in emsp.received
                                 if r.method == "PUT" and "locations" in r.path) == puts + 1)
    again = await browser.post(f"{UI}/partners/{partner_id}/push",
                               data={"csrf": csrf, "module": "locations"})
    assert again.status_code == 303
    await eventually(lambda: sum(1 for r in emsp.received
                                 if r.method == "PUT" and "locations" in r.path) == puts + 2)
    unknown = await browser.post(f"{UI}/locations/push", data={**form, "id": "NOPE"})
    assert "push failed: no location" in (await browser.get(unknown.headers["location"])).text


async def test_what_a_partner_sent_renders_as_text(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
    locations: locations_pb2_grpc.LocationServiceStub,
) -> None:
    emsp.name = HOSTILE
    emsp.refusals["locations/NL/CPA/LOC1"] = (400, 2001)
    emsp.refusal_messages["locations/NL/CPA/LOC1"] = f"EVSE unknown {HOSTILE}"
    csrf = await logged_in(browser)
    partner_id = await register(browser, csrf, emsp)
    await locations.UpsertLocation(upsert(location("LOC1", evse("EVSE1"), name=HOSTILE)))

    async def refused() -> bool:
        page = await browser.get(f"{UI}/partners/{partner_id}")
        return "EVSE unknown" in page.text

    await eventually(refused)
    escaped = "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;"
    for path in (f"{UI}/partners", f"{UI}/partners/{partner_id}", f"{UI}/locations",
                 f"{UI}/partners/{partner_id}/unregister"):
        text = (await browser.get(path)).text
        assert "<script" not in text and escaped in text, path
    detail = (await browser.get(f"{UI}/partners/{partner_id}")).text
    assert f"EVSE unknown {escaped}" in detail and ">2001<" in detail


async def test_sessions_cdrs_and_commands_pages_list_the_latest(
    cpo: Cpo, browser: httpx.AsyncClient, emsp: FakeEmsp,
) -> None:
    csrf = await logged_in(browser)
    partner_id = await register(browser, csrf, emsp)
    at = datetime.now(UTC)
    async with cpo.database.write() as connection:
        await insert_session(
            connection, country_code="NL", party_id="CPA", transaction_id="TX-7",
            partner_id=partner_id, status="ACTIVE", state=b"",
            document=b'{"id": "TX-7", "kwh": 4.5, "location_id": "LOC1", "evse_uid": "E1"}',
            last_updated=at)
        await connection.execute(insert(tables.cdrs).values(
            country_code="NL", party_id="CPA", object_id="CDR-9", transaction_id="TX-6",
            partner_id=partner_id, last_updated=at,
            document=b'{"id": "CDR-9", "total_energy": 12.25, "currency": "EUR",'
                     b' "total_cost": {"excl_vat": 3.5}}'))
        await insert_command(connection, NewCommand(
            command_id="CMD-1", country_code="NL", party_id="CPA", partner_id=partner_id,
            type="START_SESSION", request=f'{{"location_id": "{HOSTILE}"}}'.encode(),
            response_url=f"{emsp.url}/result", correlation_id=None,
            deadline=at + timedelta(minutes=1)))
    transactions = (await browser.get(f"{UI}/sessions")).text
    assert "TX-7" in transactions and "4.5" in transactions and "ACTIVE" in transactions
    assert "CDR-9" in transactions and "12.25" in transactions and "3.5 EUR" in transactions
    commands = (await browser.get(f"{UI}/commands")).text
    assert "CMD-1" in commands and "START_SESSION" in commands and "PENDING" in commands
    assert "<script" not in commands and "location_id=&lt;script&gt;" in commands
