"""Fixtures live in tests/fixtures; async test modules set `pytestmark = pytest.mark.anyio`."""

from __future__ import annotations

import pytest

pytest_plugins = [
    "tests.fixtures.database",
    "tests.fixtures.http",
    "tests.fixtures.emsp",
    "tests.fixtures.cpo",
    "tests.fixtures.grpc",
    "tests.fixtures.thirdparty",
]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"

