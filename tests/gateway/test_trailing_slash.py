"""Every route answers the same with or without a trailing `/`, and never with a redirect."""

from __future__ import annotations

from typing import Any

import httpx
import msgspec
import pytest

from sidecar.domain import locations as domain_locations
from sidecar.store.seed import demo_location
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.test_tokens_receiver import token
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio


def same(reply: httpx.Response) -> tuple[int, Any]:
    """What must not depend on the slash: HTTP status, OCPI status and data."""
    assert not reply.is_redirect, reply.headers.get("location")
    body = reply.json()
    return reply.status_code, body.get("status_code"), body.get("data")


async def test_ocpi_routes_answer_with_a_trailing_slash(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    async with cpo.database.write() as connection:
        for number in range(3):
            await domain_locations.put_location(connection, msgspec.structs.replace(
                demo_location(), country_code="NL", party_id="CPA", id=f"LOC{number}"))
    base = cpo.url("locations")
    for path in ("", "/LOC1", "/LOC1/SDC-LOC1-2", "/LOC1/SDC-LOC1-2/1"):
        assert same(await emsp.call_cpo("GET", f"{base}{path}/")) == same(
            await emsp.call_cpo("GET", f"{base}{path}")), path
    for url in (cpo.versions_url, cpo.settings.details_url, cpo.url("credentials"),
                cpo.url("tariffs"), cpo.url("sessions"), cpo.url("cdrs")):
        assert same(await emsp.call_cpo("GET", f"{url}/")) == same(
            await emsp.call_cpo("GET", url)), url

    # A page asked with a slash links to the next one, and the link answers too.
    seen: list[str] = []
    url = f"{base}/?offset=0&limit=1"
    while url:
        reply = await emsp.call_cpo("GET", url)
        assert reply.status_code == 200 and reply.json()["status_code"] == 1000, url
        seen += [item["id"] for item in reply.json()["data"]]
        link = reply.headers.get("link", "")
        url = link[1:link.index(">")] if link else ""
    assert seen == ["LOC0", "LOC1", "LOC2"]


async def test_writes_answer_with_a_trailing_slash(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    tokens = f"{cpo.url('tokens')}/DE/EMP/X"
    created = await emsp.call_cpo("PUT", f"{tokens}/", json=token("X"))
    assert same(created)[:2] == (201, 1000)
    again = await emsp.call_cpo("PUT", tokens, json=token("X"))
    assert same(again)[:2] == (200, 1000)
    patched = await emsp.call_cpo("PATCH", f"{tokens}/", json={
        "valid": False, "last_updated": "2019-01-01T00:00:00Z"})
    assert same(patched)[:2] == (200, 1000)
    assert same(await emsp.call_cpo("GET", f"{tokens}/")) == same(
        await emsp.call_cpo("GET", tokens))
    assert same(await emsp.call_cpo("GET", f"{tokens}/"))[2]["valid"] is False

    stop = {"response_url": f"{emsp.url}/ocpi/2.2.1/commands/STOP_SESSION/1",
            "session_id": "NOPE"}
    commands = f"{cpo.url('commands')}/STOP_SESSION"
    assert same(await emsp.call_cpo("POST", f"{commands}/", json=stop)) == same(
        await emsp.call_cpo("POST", commands, json=stop))


async def test_admin_routes_answer_with_a_trailing_slash(cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = await register(cpo, emsp)
    for path in ("/partners", f"/partners/{partner}", "/parties"):
        with_slash = await cpo.admin.get(f"{path}/")
        assert not with_slash.is_redirect, path
        without = await cpo.admin.get(path)
        assert (with_slash.status_code, with_slash.json()) == (
            without.status_code, without.json()), path
    created = await cpo.admin.post("/credentials-token-a/")
    assert created.status_code == 201 and created.json()["token"]
