"""What the checklist tests share: registration by the eMSP, crawling, and a look at JSON."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import msgspec

from sidecar.domain import locations as domain_locations
from sidecar.ocpi.locations import Location
from sidecar.store.seed import demo_location
from tests.fixtures.cpo import Cpo
from tests.fixtures.emsp import FakeEmsp

# §2.9 of the checklist / types.asciidoc DateTime: UTC, `Z`, at most 3 fraction digits.
DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,3})?Z$")
ROUTING = ("ocpi-from-country-code", "ocpi-from-party-id", "ocpi-to-country-code",
           "ocpi-to-party-id")


async def emsp_registers(cpo: Cpo, emsp: FakeEmsp) -> str:
    """The eMSP registers with our token A; returns that token A."""
    token_a = (await cpo.admin.post("/credentials-token-a")).json()["token"]
    reply = await emsp.register_with(cpo.versions_url, token_a)
    assert reply.json()["status_code"] == 1000, reply.text
    return str(token_a)


async def add_locations(cpo: Cpo, count: int) -> list[str]:
    """`count` locations of NL/CPA stored directly (as many as a test needs, quickly)."""
    ids = [f"LOC{number:03}" for number in range(count)]
    async with cpo.database.write() as connection:
        for location_id in ids:
            location: Location = msgspec.structs.replace(
                demo_location(), country_code="NL", party_id="CPA", id=location_id)
            await domain_locations.put_location(connection, location)
    return ids


def next_link(headers: Any) -> str:
    link = headers.get("link", "")
    return link[1:link.index(">")] if link else ""


async def crawl(emsp: FakeEmsp, url: str) -> tuple[list[str], list[Any]]:
    """The ids on every page following Link, and every reply."""
    seen: list[str] = []
    replies = []
    while url:
        reply = await emsp.call_cpo("GET", url)
        assert reply.status_code == 200 and reply.json()["status_code"] == 1000, reply.text
        replies.append(reply)
        seen += [item["id"] for item in reply.json()["data"]]
        url = next_link(reply.headers)
    return seen, replies


def strings(value: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (JSON path, string) in a decoded JSON value."""
    if isinstance(value, dict):
        for name, item in value.items():
            yield from strings(item, f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from strings(item, f"{path}[{index}]")
    elif isinstance(value, str):
        yield path, value
