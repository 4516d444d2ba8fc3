"""The one URL join used for every call to a partner."""

from __future__ import annotations

import pytest

from gateway.urls import join


@pytest.mark.parametrize("base", [
    "https://emsp.example.com/ocpi/emsp/2.2.1/locations",
    "https://emsp.example.com/ocpi/emsp/2.2.1/locations/",
])
def test_join_with_or_without_trailing_slash(base: str) -> None:
    assert join(base, "NL", "CPO", "LOC1") == (
        "https://emsp.example.com/ocpi/emsp/2.2.1/locations/NL/CPO/LOC1")


def test_join_encodes_segments_and_keeps_queries() -> None:
    assert join("http://h/tokens/?x=1", "a b/c", "authorize", query="type=RFID") == (
        "http://h/tokens/a%20b%2Fc/authorize?x=1&type=RFID")


def test_join_without_segments_keeps_the_advertised_path() -> None:
    assert join("http://h/cdrs/") == "http://h/cdrs/"
    assert join("http://h:8080") == "http://h:8080"
