"""The README's way to try the reference CSMS: `scripts/csms` (serve beside the bridge, one
command) and `scripts/csms simulate 1.6|2.0.1` (a charge point's session), with a real eMSP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.csms import CONTRACT_ID, TOKEN_UID, emsp_token, hand_priced
from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.http import free_socket
from tests.fixtures.thirdparty import Process, die_with_parent
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
LISTENING = re.compile(r"reference CSMS listening on (?P<url>ws://\S+)/<charge point id>")


def _port() -> int:
    sock = free_socket()
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@pytest.fixture
def script(tmp_path: Path) -> Iterator[dict[str, str]]:
    """`scripts/csms` running on ports of its own; yields its environment."""
    http, admin, grpc, listen = (f"127.0.0.1:{_port()}" for _ in range(4))
    env = {**os.environ, "OCPI_SIDECAR_HTTP": http, "OCPI_SIDECAR_ADMIN": admin,
           "OCPI_SIDECAR_GRPC": grpc, "CSMS_LISTEN": listen,
           "OCPI_SIDECAR_DATABASE": f"sqlite+aiosqlite:///{tmp_path / 'sidecar.db'}",
           "OCPI_SIDECAR_ADMIN_KEY": "csms-script-admin-key",
           "OCPI_SIDECAR_SESSION_PATCH_INTERVAL": "0.2"}
    popen = subprocess.Popen(die_with_parent([str(ROOT / "scripts" / "csms")]), cwd=ROOT,
                             env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                             stderr=subprocess.PIPE, text=True, start_new_session=True)
    both = Process(popen)
    try:
        both.wait_for(LISTENING, popen.stderr, 120)
        yield env
    finally:
        both.stop()
        # Whatever happened to the script, nothing it started outlives the test.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(popen.pid, signal.SIGKILL)
    # Stopped by SIGTERM, which the script passes on to both processes.
    assert popen.returncode == 143, "".join(both.lines)


@pytest.mark.parametrize("version", ["1.6", "2.0.1"])
async def test_scripts_csms_runs_serve_and_the_bridge_and_a_simulated_session_reaches_the_emsp(
        script: dict[str, str], emsp: FakeEmsp, version: str) -> None:
    env = script
    admin = env["OCPI_SIDECAR_ADMIN"]
    key = env["OCPI_SIDECAR_ADMIN_KEY"]
    # The operator registers an eMSP, which then pushes its driver's token.
    registered = await emsp.http.post(  # type: ignore[union-attr]
        f"http://{admin}/admin/partners", headers={"Authorization": f"Bearer {key}"},
        json={"versions_url": emsp.versions_url, "token": emsp.issue_token_a()})
    assert registered.status_code == 201, registered.text
    pushed = await emsp.call_cpo("PUT", f"{emsp.cpo_endpoints['tokens']}/DE/EMP/{TOKEN_UID}",
                                 json=emsp_token(whitelist="ALWAYS"))
    assert pushed.status_code in (200, 201), pushed.text

    simulated = await asyncio.create_subprocess_exec(
        str(ROOT / "scripts" / "csms"), "simulate", version, "--id-tag", TOKEN_UID,
        "--kwh", "2.5", cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    output, _ = await asyncio.wait_for(simulated.communicate(), 120)
    assert simulated.returncode == 0, output.decode()

    def cdrs() -> list[Any]:
        return [r for r in emsp.received if r.method == "POST" and "/cdrs" in r.path]

    await eventually(cdrs, within=30)
    (cdr,) = cdrs()
    assert cdr.body["cdr_token"]["contract_id"] == CONTRACT_ID
    assert cdr.body["total_energy"] == pytest.approx(2.5)
    assert cdr.body["total_cost"]["excl_vat"] == pytest.approx(hand_priced(2.5)[0])
    assert any(r.path.startswith("/ocpi/2.2.1/locations/NL/CPA/REF-LOC1") for r in emsp.received)
