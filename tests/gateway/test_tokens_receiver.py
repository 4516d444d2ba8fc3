"""Tokens Receiver: eMSPs push their tokens, each writes only its own; the admin pull."""

from __future__ import annotations

from typing import Any

import pytest

from sidecar.ocpi import codec
from sidecar.ocpi.tokens import Token
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio

# mod_tokens "Example: put a new Token" (examples/token_put_example.json), party DE/EMP.
OFFICIAL = {
    "country_code": "DE",
    "party_id": "EMP",
    "uid": "012345678",
    "type": "RFID",
    "contract_id": "DE8ACC12E46L89",
    "visual_number": "DF000-2001-8999-1",
    "issuer": "TheNewMotion",
    "group_id": "DF000-2001-8999",
    "valid": True,
    "whitelist": "ALLOWED",
    "language": "it",
    "default_profile_type": "GREEN",
    "energy_contract": {"supplier_name": "Greenpeace Energy eG",
                        "contract_id": "0123456789"},
    "last_updated": "2018-12-10T17:16:15Z",
}


def token(uid: str = "012345678", **changes: Any) -> dict[str, Any]:
    return {**OFFICIAL, "uid": uid, **changes}


def url(cpo: Cpo, path: str) -> str:
    return f"{cpo.url('tokens')}/{path}"


async def test_put_then_get_round_trips_the_official_example(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    first = await emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
    again = await emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
    assert (first.status_code, first.json()["status_code"]) == (201, 1000)
    assert (again.status_code, again.json()["status_code"]) == (200, 1000)
    assert first.json().get("data") is None
    got = await emsp.call_cpo("GET", url(cpo, "de/emp/012345678"))
    assert got.status_code == 200 and got.json()["data"] == OFFICIAL
    assert codec.decode(codec.encode(codec.convert(got.json()["data"], Token)), Token) == \
        codec.convert(OFFICIAL, Token)


async def test_type_parameter_addresses_another_token(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await emsp.call_cpo("PUT", url(cpo, "DE/EMP/U1"), json=token("U1"))
    app = token("U1", type="APP_USER", whitelist="NEVER")
    reply = await emsp.call_cpo("PUT", url(cpo, "DE/EMP/U1?type=APP_USER"), json=app)
    assert reply.status_code == 201
    rfid = await emsp.call_cpo("GET", url(cpo, "DE/EMP/U1"))
    user = await emsp.call_cpo("GET", url(cpo, "DE/EMP/U1"), params={"type": "APP_USER"})
    assert rfid.json()["data"]["type"] == "RFID"
    assert user.json()["data"]["whitelist"] == "NEVER"
    bad = await emsp.call_cpo("GET", url(cpo, "DE/EMP/U1"), params={"type": "CARD"})
    assert bad.json()["status_code"] == 2001 and "type" in bad.json()["status_message"]


async def test_unknown_token_is_404(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    reply = await emsp.call_cpo("GET", url(cpo, "DE/EMP/NOPE"))
    assert reply.status_code == 404 and reply.json()["status_code"] == 2004
    patch = await emsp.call_cpo("PATCH", url(cpo, "DE/EMP/NOPE"),
                                json={"valid": False, "last_updated": "2026-01-01T00:00:00Z"})
    assert patch.status_code == 404


async def test_patch_changes_only_what_it_names(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
    # mod_tokens "Example: invalidate a Token" (examples/token_patch_example.json).
    reply = await emsp.call_cpo("PATCH", url(cpo, "DE/EMP/012345678"),
                                json={"valid": False, "last_updated": "2019-06-19T15:12:05Z"})
    assert (reply.status_code, reply.json()["status_code"]) == (200, 1000)
    got = (await emsp.call_cpo("GET", url(cpo, "DE/EMP/012345678"))).json()["data"]
    assert got == {**OFFICIAL, "valid": False, "last_updated": "2019-06-19T15:12:05Z"}


async def test_patch_without_last_updated_returns_2001(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    await emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
    reply = await emsp.call_cpo("PATCH", url(cpo, "DE/EMP/012345678"), json={"valid": False})
    assert reply.json()["status_code"] == 2001
    assert "last_updated" in reply.json()["status_message"]
    got = (await emsp.call_cpo("GET", url(cpo, "DE/EMP/012345678"))).json()["data"]
    assert got["valid"] is True


@pytest.mark.parametrize(("path", "body", "field"), [
    ("DE/EMP/OTHER", OFFICIAL, "uid"),
    ("DE/EMP/012345678?type=APP_USER", OFFICIAL, "type"),
    ("DE/EMP/012345678", {k: v for k, v in OFFICIAL.items() if k != "whitelist"}, "whitelist"),
    ("DE/EMP/012345678", {**OFFICIAL, "valid": "yes"}, "valid"),
    ("DE/EMP/012345678", {**OFFICIAL, "contract_id": "X" * 37}, "contract_id"),
])
async def test_bad_put_returns_2001_naming_the_field(
    cpo: Cpo, emsp: FakeEmsp, path: str, body: dict[str, Any], field: str
) -> None:
    await register(cpo, emsp)
    reply = await emsp.call_cpo("PUT", url(cpo, path), json=body)
    assert reply.json()["status_code"] == 2001, reply.text
    assert field in reply.json()["status_message"]
    got = await emsp.call_cpo("GET", url(cpo, "DE/EMP/012345678"))
    assert got.status_code == 404


async def test_a_party_cannot_write_or_read_another_partys_tokens(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await register(cpo, second_emsp)
    await emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
    theirs = token(country_code="DE", party_id="EMP", valid=False)
    put = await second_emsp.call_cpo("PUT", url(cpo, "DE/EMP/012345678"), json=theirs)
    assert (put.status_code, put.json()["status_code"]) == (404, 2001)
    patch = await second_emsp.call_cpo("PATCH", url(cpo, "DE/EMP/012345678"),
                                       json={"valid": False,
                                             "last_updated": "2026-01-01T00:00:00Z"})
    assert patch.status_code == 404
    read = await second_emsp.call_cpo("GET", url(cpo, "DE/EMP/012345678"))
    assert read.status_code == 404
    mine = await emsp.call_cpo("GET", url(cpo, "DE/EMP/012345678"))
    assert mine.json()["data"]["valid"] is True


async def test_post_and_delete_are_not_accepted(cpo: Cpo, emsp: FakeEmsp) -> None:
    await register(cpo, emsp)
    for method in ("POST", "DELETE"):
        reply = await emsp.call_cpo(method, url(cpo, "DE/EMP/012345678"), json=OFFICIAL)
        assert reply.status_code == 405 and reply.json()["status_code"] != 1000


def listed(count: int, stamp: str) -> list[dict[str, Any]]:
    return [token(f"L{i}", last_updated=stamp) for i in range(count)]


async def test_refresh_pulls_every_page_then_only_what_changed(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    partner_id = await register(cpo, emsp)
    emsp.token_list = [*listed(5, "2026-01-01T00:00:00Z"),
                       {"uid": "BROKEN", "country_code": "DE", "party_id": "EMP"},
                       token("ALIEN", country_code="FR", party_id="XXX")]
    first = await cpo.admin.post(f"/partners/{partner_id}/tokens/refresh")
    assert first.status_code == 200, first.text
    assert {k: first.json()[k] for k in ("pages", "received", "stored", "invalid")} == {
        "pages": 4, "received": 7, "stored": 5, "invalid": 2}
    pulls = [r for r in emsp.received if r.method == "GET" and r.path.endswith("/tokens")]
    assert len(pulls) == 4
    got = await emsp.call_cpo("GET", url(cpo, "DE/EMP/L4"))
    assert got.json()["data"]["uid"] == "L4"

    # Later: one token changed at the eMSP; the next refresh asks from the last pull only.
    emsp.token_list[0] = token("L0", valid=False, last_updated="2099-01-01T00:00:00Z")
    second = await cpo.admin.post(f"/partners/{partner_id}/tokens/refresh")
    assert second.status_code == 200, second.text
    assert second.json()["date_from"] is not None
    assert {k: second.json()[k] for k in ("pages", "received", "stored")} == {
        "pages": 1, "received": 1, "stored": 1}
    changed = await emsp.call_cpo("GET", url(cpo, "DE/EMP/L0"))
    assert changed.json()["data"]["valid"] is False

    full = await cpo.admin.post(f"/partners/{partner_id}/tokens/refresh", json={"full": True})
    assert full.json()["received"] == 7 and full.json()["date_from"] is None


async def test_refresh_needs_the_admin_key_and_a_partner(cpo: Cpo) -> None:
    missing = await cpo.admin.post("/partners/999/tokens/refresh")
    assert missing.status_code == 404
    anonymous = await cpo.admin.post("/partners/1/tokens/refresh",
                                     headers={"Authorization": "Bearer nope"})
    assert anonymous.status_code == 401
