"""How option text becomes a value (sidecar/settings.py): HOST:PORT, the public URL and the
database URL, each refused in words that say what to write instead."""

from __future__ import annotations

import pytest

from sidecar.settings import address, database_url, public_url


@pytest.mark.parametrize(("given", "taken"), [
    ("8080", "127.0.0.1:8080"),
    ("0", "127.0.0.1:0"),
    ("0.0.0.0:8080", "0.0.0.0:8080"),
    ("[::1]:8080", "[::1]:8080"),
    ("[::]:0", "[::]:0"),
    ("localhost:65535", "localhost:65535"),
    ("sidecar.internal:50051", "sidecar.internal:50051"),
])
def test_addresses_taken(given: str, taken: str) -> None:
    assert address(given) == taken


@pytest.mark.parametrize(("given", "said"), [
    (":8080", "use 0.0.0.0:8080 for every interface"),
    ("127.0.0.1:abc", "port from 0 to 65535"),
    ("127.0.0.1:65536", "port from 0 to 65535"),
    ("127.0.0.1", "port from 0 to 65535"),
    ("::1:8080", "in brackets"),
    ("[::1:8080", "in brackets"),
    ("[127.0.0.1]:8080", "no IPv6 address"),
    ("http://127.0.0.1:8080", "without a scheme"),
    ("my host:8080", "neither an IP address nor a host name"),
    ("127.1:8080", "neither an IP address nor a host name"),
])
def test_addresses_refused(given: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        address(given)


@pytest.mark.parametrize(("given", "taken"), [
    ("https://ocpi.example.com", "https://ocpi.example.com"),
    ("https://ocpi.example.com/cpo/", "https://ocpi.example.com/cpo"),
    ("http://127.0.0.1:8080/", "http://127.0.0.1:8080"),
])
def test_public_urls_taken(given: str, taken: str) -> None:
    assert public_url(given) == taken


@pytest.mark.parametrize("given", ["not a url", "ftp://ocpi.example.com", "http://",
                                   "ocpi.example.com", "https://ocpi.example.com/?a=1",
                                   "https://ocpi.example.com/#top",
                                   "https://user:pw@ocpi.example.com"])
def test_public_urls_refused(given: str) -> None:
    with pytest.raises(ValueError):
        public_url(given)


@pytest.mark.parametrize("given", ["sqlite:///var/x.db", "sqlite+aiosqlite:///x.db",
                                   "postgresql://postgres@127.0.0.1/db",
                                   "postgresql+asyncpg://u:p@h:5432/db"])
def test_database_urls_taken(given: str) -> None:
    assert database_url(given) == given


@pytest.mark.parametrize(("given", "said"), [
    ("mysql://u@h/db", "mysql:// is not supported"),
    ("::::", "is not a database URL"),
    ("sqlite://", "needs a file"),
    ("postgresql+psycopg://u@h/db", "is not supported"),
])
def test_database_urls_refused(given: str, said: str) -> None:
    with pytest.raises(ValueError, match=said):
        database_url(given)
