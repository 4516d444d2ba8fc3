"""Registration in both directions against a real fake eMSP, update, delete, and errors."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp, token_header

pytestmark = pytest.mark.anyio


async def new_token_a(cpo: Cpo) -> str:
    reply = await cpo.admin.post("/credentials-token-a")
    assert reply.status_code == 201
    assert reply.json()["versions_url"] == cpo.versions_url
    return reply.json()["token"]


async def test_emsp_registers_with_our_token_a(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    reply = await emsp.register_with(cpo.versions_url, token_a)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status_code"] == 1000
    data = body["data"]
    assert data["url"] == cpo.versions_url
    assert {(r["country_code"], r["party_id"], r["role"]) for r in data["roles"]} == {
        ("NL", "CPA", "CPO"), ("BE", "CPB", "CPO")}
    token_c = data["token"]
    assert token_c != token_a
    # We called the eMSP's versions and details with its token B before answering.
    calls = [(r.method, r.path) for r in emsp.received]
    assert calls[:2] == [("GET", "/ocpi/versions"), ("GET", "/ocpi/2.2.1")]
    assert emsp.received[0].headers["authorization"] == token_header(emsp.accepted["C"])[
        "Authorization"]
    # Token C works, token A is dead.
    ok = await emsp.call_cpo("GET", cpo.url("credentials"), token_c)
    assert ok.status_code == 200 and ok.json()["data"]["token"] == token_c
    for url in (cpo.versions_url, cpo.settings.details_url, cpo.url("credentials")):
        dead = await emsp.call_cpo("GET", url, token_a)
        assert dead.status_code == 401, url
    partners = (await cpo.admin.get("/partners")).json()
    assert len(partners) == 1
    assert partners[0]["status"] == "REGISTERED"
    assert partners[0]["roles"][0]["party_id"] == "EMP"
    shown = str(partners)
    assert token_c not in shown and emsp.accepted["C"] not in shown
    assert partners[0]["created_at"].endswith("Z")


async def test_we_register_with_emsp_token_a(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = emsp.issue_token_a()
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": token_a})
    assert reply.status_code == 201, reply.text
    partner = reply.json()
    assert partner["status"] == "REGISTERED"
    assert {e["identifier"] for e in partner["endpoints"]} >= {"credentials", "locations"}
    # The eMSP checked our versions with token B while our POST was pending, and holds it.
    token_b = emsp.token_for_cpo
    assert token_b is not None
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), token_b)).status_code == 200
    # Our later calls use token C; token A is dead at the eMSP.
    assert "A" not in emsp.accepted
    post = [r for r in emsp.received if r.method == "POST"][0]
    assert post.headers["authorization"] == token_header(token_a)["Authorization"]
    assert post.body["token"] == token_b and post.body["url"] == cpo.versions_url
    shown = (await cpo.admin.get(f"/partners/{partner['id']}")).json()
    assert shown["roles"][0]["country_code"] == "DE"


async def test_emsp_updates_with_put_old_tokens_die(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    old_c = emsp.token_for_cpo
    old_b = emsp.accepted["C"]
    reply = await emsp.update_at_cpo()
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text
    new_c = emsp.token_for_cpo
    assert new_c != old_c
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), old_c)).status_code == 401
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), new_c)).status_code == 200
    # We re-fetched the eMSP's versions with its new token before answering.
    last_versions = [r for r in emsp.received if r.path == "/ocpi/versions"][-1]
    assert last_versions.headers["authorization"] == token_header(emsp.accepted["C"])[
        "Authorization"]
    assert emsp.accepted["C"] != old_b


async def test_we_rotate_with_put_old_tokens_die(cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = (await cpo.admin.post("/partners", json={
        "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})).json()
    old_b = emsp.token_for_cpo
    old_c = emsp.accepted["C"]
    reply = await cpo.admin.post(f"/partners/{partner['id']}/rotate")
    assert reply.status_code == 200, reply.text
    new_b = emsp.token_for_cpo
    assert new_b != old_b and emsp.accepted["C"] != old_c
    put = [r for r in emsp.received if r.method == "PUT"][0]
    assert put.headers["authorization"] == token_header(old_c)["Authorization"]
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), old_b)).status_code == 401
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), new_b)).status_code == 200


async def test_emsp_deletes_then_registers_again(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    token_c = emsp.token_for_cpo
    reply = await emsp.call_cpo("DELETE", cpo.url("credentials"))
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), token_c)).status_code == 401
    again = await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    assert again.json()["status_code"] == 1000
    statuses = sorted(p["status"] for p in (await cpo.admin.get("/partners")).json())
    assert statuses == ["REGISTERED", "UNREGISTERED"]


async def test_we_unregister_then_register_again(cpo: Cpo, emsp: FakeEmsp) -> None:
    partner = (await cpo.admin.post("/partners", json={
        "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})).json()
    token_b = emsp.token_for_cpo
    reply = await cpo.admin.delete(f"/partners/{partner['id']}")
    assert reply.status_code == 200 and reply.json()["partner_error"] is None
    assert [r.method for r in emsp.received if r.path.endswith("/credentials")][-1] == "DELETE"
    assert "C" not in emsp.accepted
    assert (await emsp.call_cpo("GET", cpo.url("credentials"), token_b)).status_code == 401
    again = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert again.status_code == 201 and again.json()["status"] == "REGISTERED"


async def test_post_when_registered_is_405(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    reply = await emsp.call_cpo("POST", cpo.url("credentials"),
                                json=emsp.credentials("another-token"))
    assert reply.status_code == 405
    # RFC 9110: a 405 says what is allowed (found by schemathesis: no Allow at all).
    assert reply.headers["allow"] == "GET, PUT, DELETE"


async def test_put_and_delete_with_token_a_are_405(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    put = await emsp.call_cpo("PUT", cpo.url("credentials"), token_a,
                              json=emsp.credentials("x" * 20))
    delete = await emsp.call_cpo("DELETE", cpo.url("credentials"), token_a)
    assert (put.status_code, delete.status_code) == (405, 405)
    assert put.headers["allow"] == delete.headers["allow"] == "POST"
    # Token A is still good for its one purpose.
    assert (await emsp.register_with(cpo.versions_url, token_a)).json()["status_code"] == 1000


async def test_missing_wrong_and_unencoded_tokens(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    http = emsp.http
    assert http is not None
    missing = await http.get(cpo.versions_url)
    wrong = await http.get(cpo.versions_url, headers=token_header("not-a-token"))
    not_base64 = await http.get(cpo.versions_url, headers={"Authorization": "Token %%%"})
    bearer = await http.get(cpo.versions_url, headers={"Authorization": f"Bearer {token_a}"})
    assert [r.status_code for r in (missing, wrong, not_base64, bearer)] == [401] * 4
    assert missing.json()["status_code"] == 2000
    # Old 2.1.1/2.2 peers send the token unencoded: accepted.
    raw = await http.get(cpo.versions_url, headers={"Authorization": f"Token {token_a}"})
    assert raw.status_code == 200
    # The spec's own examples Base64-encode a trailing newline.
    newline = base64.b64encode(f"{token_a}\n".encode()).decode()
    spec_style = await http.get(cpo.versions_url, headers={"Authorization": f"Token {newline}"})
    assert spec_style.status_code == 200


async def test_bad_credentials_bodies_name_the_field(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    url = cpo.url("credentials")
    good = emsp.credentials("tok-123")
    cases = {
        "token": {k: v for k, v in good.items() if k != "token"},
        "roles": {k: v for k, v in good.items() if k != "roles"},
        "roles[0].party_id": {**good, "roles": [{**good["roles"][0], "party_id": "TOOLONG"}]},
        "roles[0].role": {**good, "roles": [{**good["roles"][0], "role": "DRIVER"}]},
        "roles[0].business_details.name": {
            **good, "roles": [{**good["roles"][0], "business_details": {}}]},
    }
    for field, body in cases.items():
        reply = await emsp.call_cpo("POST", url, token_a, json=body)
        assert reply.status_code == 200, field
        assert reply.json()["status_code"] == 2001, field
        assert reply.json()["status_message"].startswith(f"{field}:"), reply.json()
    malformed = await emsp.call_cpo("POST", url, token_a, content=b'{"token": ',
                                    headers={"Content-Type": "application/json"})
    assert malformed.status_code == 400 and malformed.json()["status_code"] == 2001
    # Nothing was stored, and token A still works.
    assert (await cpo.admin.get("/partners")).json() == []
    assert (await emsp.register_with(cpo.versions_url, token_a)).json()["status_code"] == 1000


async def test_unreachable_emsp_gets_3001_and_nothing_stored(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    body = emsp.credentials("tok-123")
    body["url"] = "http://127.0.0.1:9/ocpi/versions"
    reply = await emsp.call_cpo("POST", cpo.url("credentials"), token_a, json=body)
    assert reply.json()["status_code"] == 3001
    assert (await cpo.admin.get("/partners")).json() == []


async def test_request_ids_echoed_or_made(cpo: Cpo, emsp: FakeEmsp) -> None:
    token_a = await new_token_a(cpo)
    headers = {**token_header(token_a), "X-Request-ID": "r-1", "X-Correlation-ID": "c-1"}
    assert emsp.http is not None
    echoed = await emsp.http.get(cpo.versions_url, headers=headers)
    assert (echoed.headers["x-request-id"], echoed.headers["x-correlation-id"]) == ("r-1", "c-1")
    made = await emsp.http.get(cpo.versions_url, headers=token_header(token_a))
    assert len(made.headers["x-request-id"]) == 36


async def test_unknown_path_and_method_get_an_envelope(cpo: Cpo, emsp: FakeEmsp) -> None:
    assert emsp.http is not None
    unknown = await emsp.http.get(cpo.url("nothing-here"))
    assert unknown.status_code == 404 and unknown.json()["status_code"] == 2000
    patch = await emsp.http.patch(cpo.url("credentials"))
    assert patch.status_code == 405 and "timestamp" in patch.json()
    # Every method of the path, not only those of the first route on it.
    assert patch.headers["allow"] == "DELETE, GET, HEAD, POST, PUT"


async def test_admin_405_names_every_method_of_the_path(cpo: Cpo) -> None:
    reply = await cpo.admin.put("/partners")
    assert reply.status_code == 405 and "error" in reply.json()
    assert reply.headers["allow"] == "GET, HEAD, POST"


async def test_admin_requires_its_key(cpo: Cpo, emsp: FakeEmsp) -> None:
    assert emsp.http is not None
    base = cpo.admin_url
    assert (await emsp.http.post(f"{base}/credentials-token-a")).status_code == 401
    wrong = await emsp.http.get(f"{base}/partners", headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401 and wrong.json()["error"]
    bad = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url})
    assert bad.status_code == 400 and bad.json()["field"] == "token"
    missing = await cpo.admin.get("/partners/999")
    assert missing.status_code == 404


# --- no CPO party yet: our credentials would have `roles: []` -----------------------------

PARTY_HINT = "PUT /admin/parties/{country_code}/{party_id}"


async def test_we_refuse_to_register_before_a_party_is_configured(
    cpo_without_parties: Cpo, emsp: FakeEmsp
) -> None:
    cpo = cpo_without_parties
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code == 409, reply.text
    assert PARTY_HINT in reply.json()["error"]
    assert emsp.received == []  # refused before calling the partner
    assert (await cpo.admin.get("/partners")).json() == []
    # Once a party exists, the same token A registers, with that party as our role.
    added = await cpo.admin.put("/parties/NL/CPA", json={"business_details": {"name": "A"}})
    assert added.status_code == 200, added.text
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.accepted["A"]})
    assert reply.status_code == 201, reply.text
    (sent,) = [r.body for r in emsp.received if r.method == "POST"]
    assert [(r["country_code"], r["party_id"], r["role"]) for r in sent["roles"]] == [
        ("NL", "CPA", "CPO")]


async def test_an_emsp_registering_before_we_have_a_party_gets_3000(
    cpo_without_parties: Cpo, emsp: FakeEmsp
) -> None:
    cpo = cpo_without_parties
    token_a = await new_token_a(cpo)
    reply = await emsp.register_with(cpo.versions_url, token_a)
    body = reply.json()
    assert body["status_code"] == 3000, body
    assert PARTY_HINT in body["status_message"]
    assert "data" not in body
    assert not any(r.path.startswith("/ocpi") for r in emsp.received)  # never called back
    assert (await cpo.admin.get("/partners")).json() == []
    # Nothing was spent: with a party configured, the same token A registers.
    await cpo.admin.put("/parties/NL/CPA", json={"business_details": {"name": "A"}})
    again = await emsp.register_with(cpo.versions_url, token_a)
    assert again.json()["status_code"] == 1000, again.text
    assert [r["party_id"] for r in again.json()["data"]["roles"]] == ["CPA"]


# --- a partner that offers only some of the modules we exchange ----------------------------

PARTIAL = [("credentials", "SENDER"), ("locations", "RECEIVER"), ("sessions", "RECEIVER"),
           ("cdrs", "SENDER"), ("tokens", "RECEIVER"), ("commands", "SENDER")]
PARTIAL_USE = {"locations": "pushed", "sessions": "pushed", "cdrs": "not offered",
               "tariffs": "not offered", "tokens": "not offered"}


@pytest.mark.parametrize("direction", ["we register", "it registers"])
async def test_a_partner_without_some_endpoints_is_registered_and_shows_them(
    cpo: Cpo, emsp: FakeEmsp, caplog: pytest.LogCaptureFixture, direction: str
) -> None:
    caplog.set_level(logging.WARNING, "gateway.registration")
    emsp.modules = PARTIAL
    if direction == "we register":
        reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                        "token": emsp.issue_token_a()})
        assert reply.status_code == 201, reply.text
        assert reply.json()["modules"] == PARTIAL_USE
    else:
        reply = await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
        assert reply.json()["status_code"] == 1000, reply.text
    (partner,) = (await cpo.admin.get("/partners")).json()
    shown = (await cpo.admin.get(f"/partners/{partner['id']}")).json()
    assert shown["modules"] == PARTIAL_USE
    logged = [r.getMessage() for r in caplog.records if r.name == "gateway.registration"]
    assert len(logged) == 1 and "cdrs, tariffs, tokens" in logged[0], logged


async def test_a_full_partner_has_every_module_in_use(cpo: Cpo, emsp: FakeEmsp) -> None:
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.json()["modules"] == {"locations": "pushed", "sessions": "pushed",
                                       "cdrs": "pushed", "tariffs": "pushed",
                                       "tokens": "pulled"}


# --- token_base64 for partners that register with us, and later ---------------------------

def raw(token: str) -> str:
    return f"Token {token}"


async def test_token_a_carries_token_base64_to_the_partner_it_makes(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    made = await cpo.admin.post("/credentials-token-a", json={"token_base64": False})
    assert made.status_code == 201, made.text
    assert made.json()["token_base64"] is False
    reply = await emsp.register_with(cpo.versions_url, made.json()["token"])
    assert reply.json()["status_code"] == 1000, reply.text
    # During the POST we checked its versions with its token, unencoded.
    assert emsp.received[0].headers["authorization"] == raw(emsp.accepted["C"])
    (partner,) = (await cpo.admin.get("/partners")).json()
    assert partner["token_base64"] is False
    # Later calls too (a PUT of our credentials starts by GETting its versions).
    emsp.received.clear()
    rotated = await cpo.admin.post(f"/partners/{partner['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    assert emsp.received[0].headers["authorization"].startswith("Token ")
    assert all(r.headers["authorization"] != token_header(emsp.accepted["C"])["Authorization"]
               for r in emsp.received)
    # Without a body, token A keeps the default: Base64.
    plain = await cpo.admin.post("/credentials-token-a")
    assert plain.json()["token_base64"] is True


async def test_token_base64_can_be_changed_on_a_partner(cpo: Cpo, emsp: FakeEmsp) -> None:
    reply = await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    assert reply.json()["status_code"] == 1000
    (partner,) = (await cpo.admin.get("/partners")).json()
    assert partner["token_base64"] is True
    changed = await cpo.admin.patch(f"/partners/{partner['id']}", json={"token_base64": False})
    assert changed.status_code == 200, changed.text
    assert changed.json()["token_base64"] is False
    assert (await cpo.admin.get(f"/partners/{partner['id']}")).json()["token_base64"] is False
    token_c = emsp.accepted["C"]
    emsp.received.clear()
    rotated = await cpo.admin.post(f"/partners/{partner['id']}/rotate")
    assert rotated.status_code == 200, rotated.text
    assert emsp.received[0].headers["authorization"] == raw(token_c)
    back = await cpo.admin.patch(f"/partners/{partner['id']}", json={"token_base64": True})
    assert back.json()["token_base64"] is True


@pytest.mark.parametrize("body", [{"token_base64": "false"}, {"token_base64": None},
                                  {"token_base64": 0}, {"token_base64s": False}])
async def test_token_base64_must_be_a_boolean(
    cpo: Cpo, emsp: FakeEmsp, body: dict[str, object]
) -> None:
    reply = await emsp.register_with(cpo.versions_url, await new_token_a(cpo))
    assert reply.json()["status_code"] == 1000
    (partner,) = (await cpo.admin.get("/partners")).json()
    for answer in (await cpo.admin.patch(f"/partners/{partner['id']}", json=body),
                   await cpo.admin.post("/credentials-token-a", json=body)):
        assert answer.status_code == 400, answer.text
        assert "token_base64" in answer.json()["field"] + answer.json()["error"], answer.text
    assert (await cpo.admin.get(f"/partners/{partner['id']}")).json()["token_base64"] is True
    missing = await cpo.admin.patch("/partners/999", json={"token_base64": False})
    assert missing.status_code == 404
