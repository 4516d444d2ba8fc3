"""The console in a real headless Chromium against the real `serve` and a fake eMSP.

tests/e2e/console/flow.mjs drives Debian's /usr/bin/chromium with playwright-core (pinned,
installed under .tools/ by scripts/playwright-core). Screenshots of each page go to the
test's tmp_path and to test-artifacts/console/ in the repository root (git-ignored), which
CI keeps. Without node or chromium the test is skipped on a developer's machine and fails
in CI, so that a missing install never passes as green.
"""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from ocpi_sidecar.v1 import locations_pb2_grpc

from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.http import SERVE_LISTENING
from tests.fixtures.thirdparty import ROOT, Process, _required, die_with_parent
from tests.servicers.test_locations import evse, location, upsert

pytestmark = pytest.mark.anyio

CHROMIUM = Path("/usr/bin/chromium")
FLOW = Path(__file__).parent / "console" / "flow.mjs"
ARTIFACTS = ROOT / "test-artifacts" / "console"
KEY = "console-e2e-admin-key"
HOSTILE = "<script>alert(1)</script>"


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


def playwright_core() -> str:
    """The entry module of the pinned playwright-core (installed on first use)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        _unavailable("node and npm are needed for the console browser test")
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} is missing: apt-get install -y chromium")
    done = subprocess.run([str(ROOT / "scripts" / "playwright-core")], capture_output=True,
                          text=True, timeout=600)
    if done.returncode != 0:
        _unavailable(f"cannot install playwright-core:\n{done.stderr[-3000:]}")
    return done.stdout.strip()


@pytest.fixture
def playwright_entry() -> str:
    return playwright_core()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """`ocpi-sidecar serve` on SQLite in a scratch directory: its admin URL and gRPC address."""
    workdir = tmp_path / "cpo"
    workdir.mkdir()
    popen = subprocess.Popen(
        die_with_parent([
            sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
            "--admin", "127.0.0.1:0", "--grpc", "127.0.0.1:0", "--admin-key", KEY,
            "--database", f"sqlite+aiosqlite:///{workdir / 'sidecar.db'}"]),
        cwd=workdir, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE, text=True)
    process = Process(popen)
    found = process.wait_for(SERVE_LISTENING, popen.stderr, timeout=60)
    try:
        yield f"http://{found['admin']}", found["grpc"]
    finally:
        process.stop()


async def _seed(admin_url: str, grpc_address: str) -> None:
    """Our party NL/CPA and two locations, as the core would send them."""
    async with httpx.AsyncClient(base_url=f"{admin_url}/admin", timeout=10,
                                 headers={"Authorization": f"Bearer {KEY}"}) as admin:
        party = await admin.put("/parties/NL/CPA", json={"business_details": {"name": "CPO A"}})
        assert party.status_code in (200, 201), party.text
    async with grpc.aio.insecure_channel(grpc_address) as channel:
        stub = locations_pb2_grpc.LocationServiceStub(channel)
        for location_id in ("LOC1", "LOC2"):
            await stub.UpsertLocation(upsert(location(location_id, evse("EVSE1"))))


async def _run_flow(entry: str, admin_url: str, emsp: FakeEmsp, shots: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        "node", str(FLOW), entry, admin_url, KEY, emsp.versions_url, emsp.issue_token_a(),
        str(shots), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT)
    try:
        output, _ = await asyncio.wait_for(process.communicate(), 240)
    except TimeoutError:
        process.kill()
        await process.wait()
        raise AssertionError("the browser flow did not finish within 240 s") from None
    text = output.decode(errors="replace")
    assert process.returncode == 0, text
    return text


async def test_console_flow_in_a_real_browser(
    playwright_entry: str, served: tuple[str, str], emsp: FakeEmsp, tmp_path: Path,
) -> None:
    # (playwright_entry first: a missing browser fails or skips before serve starts)
    entry = playwright_entry
    admin_url, grpc_address = served
    emsp.name = HOSTILE
    emsp.refusals["locations/NL/CPA/LOC2"] = (400, 2001)
    emsp.refusal_messages["locations/NL/CPA/LOC2"] = f"EVSE uid unknown {HOSTILE}"
    await _seed(admin_url, grpc_address)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    try:
        output = await _run_flow(entry, admin_url, emsp, shots)
    finally:
        shutil.rmtree(ARTIFACTS, ignore_errors=True)
        shutil.copytree(shots, ARTIFACTS)
    assert "console flow: ok" in output
    # What the browser did reached the eMSP: the pushes, the rotation, the unregistering.
    assert emsp.objects["locations/NL/CPA/LOC1"]["id"] == "LOC1"
    assert "locations/NL/CPA/LOC2" not in emsp.objects
    assert any(r.method == "PUT" and r.path.endswith("/credentials") for r in emsp.received)
    assert any(r.method == "DELETE" and r.path.endswith("/credentials") for r in emsp.received)
    assert "C" not in emsp.accepted
    assert len(list(shots.glob("*.png"))) >= 12
