"""No partner can take another partner's party: credentials POST/PUT, our own registration and
rotation, and the tokens written under a party, against real fake eMSPs over HTTP.

`emsp` is platform A (party DE/EMP), `second_emsp` platform B (FR/MSP); B turns hostile by
declaring A's party as well.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp
from tests.gateway.test_tokens_receiver import token, url
from tests.gateway.transaction_e2e import register

pytestmark = pytest.mark.anyio

A_PARTY = ("DE", "EMP")


async def registers_with_us(cpo: Cpo, emsp: FakeEmsp) -> httpx.Response:
    """The eMSP registers with a fresh token A of ours (credentials POST)."""
    reply = await cpo.admin.post("/credentials-token-a")
    assert reply.status_code == 201, reply.text
    return await emsp.register_with(cpo.versions_url, reply.json()["token"])


async def registered(cpo: Cpo, emsp: FakeEmsp) -> None:
    reply = await registers_with_us(cpo, emsp)
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text


async def parties(cpo: Cpo) -> dict[int, set[tuple[str, str]]]:
    """Per registered partner, the parties its stored roles declare."""
    listed = (await cpo.admin.get("/partners")).json()
    return {p["id"]: {(r["country_code"], r["party_id"]) for r in p["roles"]}
            for p in listed if p["status"] == "REGISTERED"}


async def ids(cpo: Cpo) -> dict[str, int]:
    """Registered partner id by the first party it declares."""
    listed = (await cpo.admin.get("/partners")).json()
    return {"/".join((p["roles"][0]["country_code"], p["roles"][0]["party_id"])): p["id"]
            for p in listed if p["status"] == "REGISTERED" and p["roles"]}


def refused_naming(reply: httpx.Response, party: tuple[str, str]) -> None:
    """The credentials answer to a claim of a held party: 2001 naming the role and party."""
    body = reply.json()
    assert (reply.status_code, body["status_code"]) == (200, 2001), reply.text
    assert "/".join(party) in body["status_message"]
    assert body["status_message"].startswith("roles[1]")
    assert body.get("data") is None


async def test_put_claiming_another_partners_party_is_refused_and_stores_nothing(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    await registered(cpo, second_emsp)
    before = await parties(cpo)
    second_emsp.extra_parties = [A_PARTY]
    old_token = second_emsp.token_for_cpo
    reply = await second_emsp.update_at_cpo()
    refused_naming(reply, A_PARTY)
    assert await parties(cpo) == before
    # Nothing of the PUT was stored: B's old token still works, the new one was not issued.
    still = await second_emsp.call_cpo("GET", cpo.url("credentials"), old_token)
    assert still.status_code == 200 and still.json()["status_code"] == 1000


async def test_post_claiming_another_partners_party_is_refused_and_stores_nothing(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    before = await parties(cpo)
    second_emsp.extra_parties = [A_PARTY]
    reply = await cpo.admin.post("/credentials-token-a")
    token_a = reply.json()["token"]
    refused = await second_emsp.register_with(cpo.versions_url, token_a)
    refused_naming(refused, A_PARTY)
    assert await parties(cpo) == before
    # The refused POST spent nothing: the same token A registers B with its own party.
    second_emsp.extra_parties = []
    again = await second_emsp.register_with(cpo.versions_url, token_a)
    assert again.json()["status_code"] == 1000, again.text
    assert sorted(map(sorted, (await parties(cpo)).values())) == [[A_PARTY], [("FR", "MSP")]]


async def test_a_partner_cannot_write_a_token_under_another_partners_party(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    await registered(cpo, second_emsp)
    put = await emsp.call_cpo("PUT", url(cpo, "DE/EMP/TA1"), json=token("TA1"))
    assert put.json()["status_code"] == 1000, put.text
    second_emsp.extra_parties = [A_PARTY]
    await second_emsp.update_at_cpo()
    theirs = token("TA1", contract_id="DE8ACCSTOLEN01")
    for method, body in (("PUT", theirs),
                         ("PATCH", {"contract_id": "DE8ACCSTOLEN01",
                                    "last_updated": "2030-01-01T00:00:00Z"})):
        for path in ("DE/EMP/TA1", "de/emp/ta1", "DE/EMP/TB2"):
            reply = await second_emsp.call_cpo(method, url(cpo, path), json=body)
            assert reply.status_code == 404, (method, path, reply.text)
            assert reply.json()["status_code"] == 2001
    got = await emsp.call_cpo("GET", url(cpo, "DE/EMP/TA1"))
    assert got.status_code == 200 and got.json()["data"] == token("TA1")
    missing = await emsp.call_cpo("GET", url(cpo, "DE/EMP/TB2"))
    assert missing.status_code == 404


async def test_unregistered_partner_releases_its_parties_and_can_register_again(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    await registered(cpo, second_emsp)
    second_emsp.extra_parties = [A_PARTY]
    await second_emsp.update_at_cpo()
    assert (await emsp.call_cpo("DELETE", cpo.url("credentials"))).json()["status_code"] == 1000
    emsp.accepted.pop("C", None)
    # A registers again: its party was released when it left, and nobody took it.
    await registered(cpo, emsp)
    assert A_PARTY in (await parties(cpo))[(await ids(cpo))["DE/EMP"]]
    # A leaves again, its tokens go with its party; B may now take the party.
    put = await emsp.call_cpo("PUT", url(cpo, "DE/EMP/TA1"), json=token("TA1"))
    assert put.json()["status_code"] == 1000
    assert (await emsp.call_cpo("DELETE", cpo.url("credentials"))).json()["status_code"] == 1000
    taken = await second_emsp.update_at_cpo()
    assert taken.json()["status_code"] == 1000, taken.text
    assert (await parties(cpo))[(await ids(cpo))["FR/MSP"]] == {("FR", "MSP"), A_PARTY}
    mine = await second_emsp.call_cpo("GET", url(cpo, "DE/EMP/TA1"))
    assert mine.status_code == 404  # A's token left with A, it was not handed to B
    written = await second_emsp.call_cpo("PUT", url(cpo, "DE/EMP/TA1"), json=token("TA1"))
    assert (written.status_code, written.json()["status_code"]) == (201, 1000)


async def test_two_concurrent_puts_claiming_one_free_party_leave_one_holder(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    await registered(cpo, emsp)
    await registered(cpo, second_emsp)
    free = ("NL", "EMA")
    emsp.extra_parties = second_emsp.extra_parties = [free]
    first, second = await asyncio.gather(emsp.update_at_cpo(), second_emsp.update_at_cpo())
    codes = sorted([first.json()["status_code"], second.json()["status_code"]])
    assert codes == [1000, 2001], (first.text, second.text)
    loser = first if first.json()["status_code"] == 2001 else second
    refused_naming(loser, free)
    holders = [pid for pid, held in (await parties(cpo)).items() if free in held]
    assert len(holders) == 1


# --- our side: we register with the partner, or rotate --------------------------------


def admin_refusal(reply: httpx.Response, party: tuple[str, str], holder: int) -> dict[str, Any]:
    assert reply.status_code == 409, reply.text
    message = reply.json()["error"]
    assert "/".join(party) in message and f"partner {holder}" in message
    return dict(reply.json())


async def test_we_do_not_register_a_partner_that_claims_a_held_party(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    holder = await register(cpo, emsp)
    before = await parties(cpo)
    second_emsp.extra_parties = [A_PARTY]
    reply = await cpo.admin.post("/partners", json={"versions_url": second_emsp.versions_url,
                                                    "token": second_emsp.issue_token_a()})
    admin_refusal(reply, A_PARTY, holder)
    assert await parties(cpo) == before


async def test_a_rotation_answered_with_a_held_party_keeps_the_old_parties(
    cpo: Cpo, emsp: FakeEmsp, second_emsp: FakeEmsp
) -> None:
    holder = await register(cpo, emsp)
    other = await register(cpo, second_emsp)
    before = await parties(cpo)
    second_emsp.extra_parties = [A_PARTY]
    reply = await cpo.admin.post(f"/partners/{other}/rotate")
    admin_refusal(reply, A_PARTY, holder)
    assert await parties(cpo) == before
    # The tokens were exchanged all the same: B calls us with the new token B.
    works = await second_emsp.call_cpo("GET", cpo.url("credentials"))
    assert works.status_code == 200 and works.json()["status_code"] == 1000


async def test_a_partner_cannot_declare_one_of_our_own_parties(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    # NL/CPA is one of the CPO's parties (the cpo fixture): a partner speaking as it could
    # be sent what is meant for us.
    emsp.extra_parties = [("NL", "CPA")]
    reply = await registers_with_us(cpo, emsp)
    body = reply.json()
    assert (reply.status_code, body["status_code"]) == (200, 2001), reply.text
    assert body["status_message"].startswith("roles[1]") and "NL/CPA" in body["status_message"]
    assert await parties(cpo) == {}


async def test_we_cannot_add_a_party_a_partner_holds(cpo: Cpo, emsp: FakeEmsp) -> None:
    await registered(cpo, emsp)
    reply = await cpo.admin.put("/parties/DE/EMP", json={"business_details": {"name": "X"}})
    assert reply.status_code == 409 and "DE/EMP" in reply.json()["error"], reply.text
    ours = (await cpo.admin.get("/parties")).json()
    assert all((p["country_code"], p["party_id"]) != A_PARTY for p in ours), ours
