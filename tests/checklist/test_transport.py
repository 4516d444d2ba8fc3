"""Checklist §14 A (transport): authorization, envelope, request ids, routing headers, paging.

The numbers in the test names are the assertions of section 14 of the team's OCPI 2.2.1
checklist; docs/checklist.md maps every assertion to its tests.
"""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.checklist.support import (
    DATETIME,
    ROUTING,
    add_locations,
    crawl,
    emsp_registers,
    next_link,
    strings,
)
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp, token_header
from tests.fixtures.waiting import eventually
from tests.gateway.test_tokens_receiver import OFFICIAL as OFFICIAL_TOKEN
from tests.gateway.transaction_e2e import Core, core, register, sent_cdrs, site
from tests.servicers.transaction_builders import T0, end, start

pytestmark = pytest.mark.anyio
__all__ = ["core"]  # the fixture

DATETIME_FIELDS = {"timestamp", "last_updated", "start_date_time", "end_date_time",
                   "expiry_date", "valid_from", "valid_to"}


def all_delivered(emsp: FakeEmsp) -> bool:
    """The site, the completed session and its CDR all reached the eMSP (CDRs go first)."""
    session = emsp.objects.get("sessions/NL/CPA/TX1", {})
    return bool(sent_cdrs(emsp)) and session.get("status") == "COMPLETED" and all(
        key in emsp.objects for key in ("locations/NL/CPA/LOC1", "tariffs/NL/CPA/T1"))


def modules(cpo: Cpo) -> list[str]:
    """One URL of each endpoint a registered eMSP may GET (configuration and functional)."""
    return [cpo.versions_url, cpo.settings.details_url, cpo.url("credentials"),
            cpo.url("locations"), cpo.url("sessions"), cpo.url("cdrs"), cpo.url("tariffs"),
            f"{cpo.url('tokens')}/DE/EMP/012345678"]


async def test_01_a_1000_answer_carries_data_status_code_and_timestamp(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    await emsp.call_cpo("PUT", f"{cpo.url('tokens')}/DE/EMP/012345678", json=OFFICIAL_TOKEN)
    for url in modules(cpo):
        reply = await emsp.call_cpo("GET", url)
        body = reply.json()
        assert reply.headers["content-type"].startswith("application/json"), url
        assert isinstance(body["status_code"], int) and body["status_code"] == 1000, url
        assert isinstance(body["timestamp"], str) and "data" in body, url


async def test_02_the_envelope_timestamp_is_utc_with_z_and_now(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    for url in modules(cpo)[:4]:
        stamp = (await emsp.call_cpo("GET", url)).json()["timestamp"]
        assert DATETIME.match(stamp) and len(stamp) <= 25, stamp
        sent = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        # A bound on the clock, not on how fast we answer: generous on a loaded machine.
        assert abs(datetime.now(UTC) - sent) < timedelta(seconds=5), stamp


async def test_03_no_authorization_header_is_401_on_locations(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    assert emsp.http is not None
    reply = await emsp.http.get(cpo.url("locations"))
    assert reply.status_code == 401


async def test_04_an_unknown_token_is_401_on_every_endpoint(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    urls = [*modules(cpo), f"{cpo.url('commands')}/START_SESSION",
            f"{cpo.url('chargingprofiles')}/TX1"]
    for url in urls:
        method = "POST" if "commands" in url else "GET"
        reply = await emsp.call_cpo(method, url, "unknown-token", json={})
        assert reply.status_code == 401, url


async def test_09_missing_request_and_correlation_ids_are_generated(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    for url in (cpo.versions_url, cpo.url("locations")):
        reply = await emsp.call_cpo("GET", url)
        assert reply.headers.get("x-request-id"), url
        assert reply.headers.get("x-correlation-id"), url


async def test_10_every_outbound_request_has_its_own_request_id(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=5)))
    await eventually(lambda: all_delivered(emsp))
    ids = [r.headers.get("x-request-id") for r in emsp.received]
    assert len(ids) >= 5 and all(ids) and len(set(ids)) == len(ids), ids


@pytest.mark.parametrize("method", ["PUT", "PATCH"])
async def test_11_a_body_that_is_no_json_is_400_and_2xxx(
    cpo: Cpo, emsp: FakeEmsp, method: str
) -> None:
    await emsp_registers(cpo, emsp)
    for url in (f"{cpo.url('tokens')}/DE/EMP/012345678",
                f"{cpo.url('chargingprofiles')}/TX1", cpo.url("credentials")):
        if method == "PATCH" and "tokens" not in url:
            continue
        reply = await emsp.call_cpo(method, url, content=b'{"uid": ',
                                    headers={"Content-Type": "application/json"})
        assert reply.status_code == 400, (url, reply.text)
        assert 2000 <= reply.json()["status_code"] < 3000, url
    post = await emsp.call_cpo("POST", f"{cpo.url('commands')}/STOP_SESSION", content=b"{",
                               headers={"Content-Type": "application/json"})
    assert post.status_code == 400 and 2000 <= post.json()["status_code"] < 3000


async def test_12_15_every_outbound_body_is_json_and_module_calls_route_to_the_emsp(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=5)))
    await eventually(lambda: all_delivered(emsp))
    with_body = [r for r in emsp.received if r.method in ("PUT", "PATCH", "POST")]
    assert {r.method for r in with_body} >= {"PUT", "POST"}
    for request in with_body:
        assert request.headers["content-type"] == "application/json", request.path
    functional = [r for r in emsp.received
                  if not r.path.endswith(("/versions", "/2.2.1", "/credentials"))]
    assert functional
    for request in functional:
        assert (request.headers["ocpi-to-country-code"],
                request.headers["ocpi-to-party-id"]) == ("DE", "EMP"), request.path
        assert (request.headers["ocpi-from-country-code"],
                request.headers["ocpi-from-party-id"]) == ("NL", "CPA"), request.path


async def test_14_configuration_modules_carry_no_routing_headers_either_way(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    reply = await cpo.admin.post("/partners", json={"versions_url": emsp.versions_url,
                                                    "token": emsp.issue_token_a()})
    assert reply.status_code == 201, reply.text
    configuration = [r for r in emsp.received
                     if r.path.endswith(("/versions", "/2.2.1", "/credentials"))]
    assert len(configuration) >= 3
    for request in configuration:
        assert not set(ROUTING) & set(request.headers), (request.method, request.path)
    for url in (cpo.versions_url, cpo.settings.details_url, cpo.url("credentials")):
        answer = await emsp.call_cpo("GET", url)
        assert answer.status_code == 200, url
        assert not set(ROUTING) & set(answer.headers), url


async def test_16_18_a_page_of_2_of_5_links_to_the_next_and_the_last_has_no_link(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    await add_locations(cpo, 5)
    first = await emsp.call_cpo("GET", cpo.url("locations"), params={"limit": "2"})
    assert len(first.json()["data"]) == 2
    assert first.headers["x-total-count"] == "5" and int(first.headers["x-limit"]) >= 1
    link = first.headers["link"]
    assert link.endswith('; rel="next"')
    query = httpx.URL(next_link(first.headers)).params
    assert (query["offset"], query["limit"]) == ("2", "2")
    _, replies = await crawl(emsp, f"{cpo.url('locations')}?limit=2")
    assert [len(r.json()["data"]) for r in replies] == [2, 2, 1]
    assert "link" not in replies[-1].headers


async def test_17_a_crawl_sees_every_object_once_in_the_same_order_again(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    ids = await add_locations(cpo, 5)
    first, _ = await crawl(emsp, f"{cpo.url('locations')}?limit=2")
    second, _ = await crawl(emsp, f"{cpo.url('locations')}?limit=2")
    assert sorted(first) == sorted(ids) and len(first) == len(set(first))
    assert second == first


async def test_19_a_limit_above_the_cap_returns_the_cap(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    await add_locations(cpo, 1)
    cap = int((await emsp.call_cpo("GET", cpo.url("locations"))).headers["x-limit"])
    await add_locations(cpo, cap + 1)
    reply = await emsp.call_cpo("GET", cpo.url("locations"), params={"limit": str(cap * 10)})
    assert len(reply.json()["data"]) == cap
    assert reply.headers["x-limit"] == str(cap) and reply.headers["x-total-count"] == str(
        cap + 1)


async def test_20_the_link_keeps_date_from_and_date_to(cpo: Cpo, emsp: FakeEmsp) -> None:
    await emsp_registers(cpo, emsp)
    await add_locations(cpo, 3)
    window = {"date_from": "2020-01-01T00:00:00Z", "date_to": "2099-01-01T00:00:00Z",
              "limit": "1"}
    reply = await emsp.call_cpo("GET", cpo.url("locations"), params=window)
    query = httpx.URL(next_link(reply.headers)).params
    assert (query["date_from"], query["date_to"]) == (window["date_from"], window["date_to"])


async def test_23_an_offset_past_the_total_is_an_empty_1000_page_without_link(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    await add_locations(cpo, 3)
    reply = await emsp.call_cpo("GET", cpo.url("locations"), params={"offset": "10"})
    assert reply.status_code == 200 and reply.json()["status_code"] == 1000
    assert reply.json()["data"] == [] and "link" not in reply.headers


async def test_25_every_datetime_we_emit_is_utc_with_z(
    cpo: Cpo, core: Core, emsp: FakeEmsp
) -> None:
    await register(cpo, emsp)
    await site(core)
    await core.transactions.StartTransaction(start())
    await core.transactions.EndTransaction(end(at=T0 + timedelta(minutes=5)))
    await eventually(lambda: all_delivered(emsp))
    documents = [r.body for r in emsp.received if r.body is not None]
    for module in ("locations", "sessions", "cdrs", "tariffs"):
        documents.append((await emsp.call_cpo("GET", cpo.url(module))).json())
    checked = 0
    for document in documents:
        for path, value in strings(document):
            if path.rsplit(".", 1)[-1].split("[")[0] in DATETIME_FIELDS:
                assert DATETIME.match(value), (path, value)
                checked += 1
    assert checked > 20


async def test_26_an_inbound_datetime_without_z_is_taken_as_utc(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    url = f"{cpo.url('tokens')}/DE/EMP/012345678"
    reply = await emsp.call_cpo("PUT", url, json={**OFFICIAL_TOKEN,
                                                  "last_updated": "2018-12-10T17:16:15"})
    assert reply.json()["status_code"] == 1000, reply.text
    got = (await emsp.call_cpo("GET", url)).json()["data"]
    # types.asciidoc: no designator means UTC, and both forms are allowed on the wire.
    assert got["last_updated"] in ("2018-12-10T17:16:15Z", "2018-12-10T17:16:15")
    listed = await emsp.call_cpo("GET", url, params={"type": "RFID"})
    assert listed.json()["status_code"] == 1000


async def test_06_a_raw_token_c_is_accepted_beside_the_base64_one(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    await emsp_registers(cpo, emsp)
    assert emsp.http is not None and emsp.token_for_cpo is not None
    raw = await emsp.http.get(cpo.url("locations"),
                              headers={"Authorization": f"Token {emsp.token_for_cpo}"})
    encoded = await emsp.http.get(cpo.url("locations"), headers=token_header(
        emsp.token_for_cpo))
    assert (raw.status_code, encoded.status_code) == (200, 200)
    assert base64.b64decode(token_header(emsp.token_for_cpo)["Authorization"][6:]).decode() \
        == emsp.token_for_cpo
