"""Fixtures live in tests/fixtures; async test modules set `pytestmark = pytest.mark.anyio`."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.http",
    "tests.fixtures.emsp",
    "tests.fixtures.hub",
    "tests.fixtures.cpo",
    "tests.fixtures.grpc",
    "tests.fixtures.thirdparty",
    "tests.fixtures.csms",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def authorize_timeout() -> float:
    """How long AuthorizeToken waits for the eMSP: long enough that an eMSP that answers is
    never taken for one that does not, however loaded the machine. A test of the timeout
    itself parametrizes a short one, with an eMSP that does not answer at all."""
    return 10.0
