"""Guessing tokens or admin keys: failures counted per source and per credential prefix."""

from __future__ import annotations

import base64
import secrets

import httpx
import pytest
from starlette.requests import Request

from gateway.limiter import LIMIT, FailureLimiter, source_of
from tests.fixtures.cpo import ADMIN_KEY, Cpo
from tests.fixtures.emsp import FakeEmsp

pytestmark = pytest.mark.anyio


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def request_from(address: str, authorization: str) -> Request:
    """A request as the ASGI server hands it over, from `address`."""
    return Request({"type": "http", "method": "GET", "path": "/ocpi/versions",
                    "headers": [(b"authorization", authorization.encode())],
                    "client": (address, 40000)})


def wrong() -> str:
    return f"Token {secrets.token_hex(16)}"


def test_one_source_is_refused_past_the_limit_and_others_are_not() -> None:
    clock = Clock()
    limiter = FailureLimiter(limit=5, window=10, clock=clock)
    guesser = source_of(request_from("203.0.113.7", wrong()))
    for _ in range(5):
        assert limiter.retry_after(guesser, wrong()) is None
        limiter.failed(guesser, wrong())
    assert limiter.retry_after(guesser, wrong()) == 2  # one failure leaks away per 2 s
    assert limiter.retry_after(source_of(request_from("198.51.100.1", wrong())),
                               wrong()) is None
    clock.now += 2
    assert limiter.retry_after(guesser, wrong()) is None


def test_a_spray_of_one_prefix_from_many_sources_is_refused() -> None:
    limiter = FailureLimiter(limit=5, window=10, clock=Clock())
    for number in range(5):
        limiter.failed(f"198.51.100.{number}", f"Token abcdef{number}")
    assert limiter.retry_after("192.0.2.1", "Token abcdefXYZ") is not None
    assert limiter.retry_after("192.0.2.1", "Token other-prefix") is None


def test_memory_is_bounded_under_many_sources() -> None:
    limiter = FailureLimiter(limit=5, window=10, max_keys=1000, clock=Clock())
    for number in range(50_000):
        limiter.failed(f"10.{number >> 16}.{(number >> 8) & 255}.{number & 255}", wrong())
        assert len(limiter) <= 1000
    # The most recent guesser is still tracked.
    for _ in range(5):
        limiter.failed("10.0.0.1", wrong())
    assert limiter.retry_after("10.0.0.1", wrong()) is not None


async def test_guessing_over_http_gets_429_while_another_source_still_works(
    cpo: Cpo, emsp: FakeEmsp
) -> None:
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    assert (await emsp.register_with(cpo.versions_url, token_a)).json()["status_code"] == 1000
    assert emsp.token_for_cpo is not None
    good = f"Token {base64.b64encode(emsp.token_for_cpo.encode()).decode()}"
    # 127.0.0.2 is loopback too: a second source address on the same machine.
    other = httpx.AsyncHTTPTransport(local_address="127.0.0.2")
    async with httpx.AsyncClient(timeout=10) as guesser, \
            httpx.AsyncClient(timeout=10, transport=other) as honest:
        answers = [(await guesser.get(cpo.versions_url, headers={"Authorization": wrong()}))
                   for _ in range(LIMIT + 5)]
        assert [a.status_code for a in answers] == [401] * LIMIT + [429] * 5
        refused = answers[-1]
        assert int(refused.headers["retry-after"]) >= 1
        assert refused.json()["status_code"] == 2000 and "timestamp" in refused.json()
        # Refused before the token is looked at: even the right one, from the guesser.
        assert (await guesser.get(cpo.versions_url,
                                  headers={"Authorization": good})).status_code == 429
        admin = await guesser.get(f"{cpo.admin_url}/partners",
                                  headers={"Authorization": f"Bearer {ADMIN_KEY}"})
        assert admin.status_code == 429 and "error" in admin.json()
        assert "retry-after" in admin.headers
        mine = await honest.get(cpo.versions_url, headers={"Authorization": good})
        assert mine.status_code == 200 and mine.json()["status_code"] == 1000


async def test_guessing_the_admin_key_gets_429(cpo: Cpo) -> None:
    async with httpx.AsyncClient(base_url=cpo.admin_url,
                                 timeout=10) as guesser:
        codes = [(await guesser.get("/partners", headers={
            "Authorization": f"Bearer {secrets.token_urlsafe(24)}"})).status_code
            for _ in range(LIMIT + 1)]
    assert codes == [401] * LIMIT + [429]
