"""A core in another language: the TypeScript example (examples/node-core/) against `serve`.

The core is generated from protos/ with buf and protoc-gen-es and speaks gRPC through
connect-node; here it drives the real `ocpi-sidecar serve` (a subprocess) while our fake
eMSP, registered through the real credentials handshake, checks what reached it. The npm
packages are installed by `scripts/node-core install` (CI runs it in .ci/run); this test only
compiles the TypeScript with the installed tsc. Without node or those packages the test is
skipped on a developer's machine but fails in CI, so that a broken set-up never passes.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fixtures.emsp import FakeEmsp
from tests.fixtures.thirdparty import Process, ServedCpo, die_with_parent
from tests.fixtures.waiting import eventually

pytestmark = pytest.mark.anyio

ROOT = Path(__file__).resolve().parents[2]
CORE_DIR = ROOT / "examples" / "node-core"
TSC = CORE_DIR / "node_modules" / ".bin" / "tsc"
LOCATION = "locations/NL/CPA/NODE-LOC1"
TOKEN_UID = "NODE0001"
# The core's progress line once its WatchCommands stream is being opened.
WATCHING = re.compile(r'"step":"watch_commands"')


def _required() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true")


def _unavailable(reason: str) -> None:
    if _required():
        pytest.fail(reason, pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def core_script() -> Path:
    """The compiled core, built once per module from the committed sources."""
    node = shutil.which("node")
    if node is None:
        _unavailable("node not found: install Node.js 20 or later to run the TypeScript core")
    wanted = json.loads((CORE_DIR / "package.json").read_text())
    for name, version in {**wanted["dependencies"], **wanted["devDependencies"]}.items():
        installed = CORE_DIR / "node_modules" / name / "package.json"
        if not installed.exists() or json.loads(installed.read_text())["version"] != version:
            _unavailable(f"npm package {name}@{version} not installed in "
                         f"{CORE_DIR.relative_to(ROOT)}: run scripts/node-core install")
    # tsc writes the same files whatever run compiles; parallel runs in one work tree agree.
    built = subprocess.run([str(TSC), "-p", str(CORE_DIR)], capture_output=True, text=True,
                           timeout=300)
    assert built.returncode == 0, built.stdout + built.stderr
    return CORE_DIR / "dist" / "src" / "core.js"


class Core:
    """The core's process; a thread reads its JSON progress lines into `process.lines`."""

    def __init__(self, script: Path, grpc_address: str) -> None:
        popen = subprocess.Popen(
            die_with_parent(["node", str(script), "--sidecar", grpc_address,
                             "--token-uid", TOKEN_UID, "--command-timeout-s", "60"]),
            cwd=CORE_DIR, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True)
        self.process = Process(popen)

    def wait_until_watching(self) -> None:
        assert self.process.popen.stdout is not None
        self.process.wait_for(WATCHING, self.process.popen.stdout, timeout=60)

    def parsed(self) -> list[dict[str, Any]]:
        steps = []
        for line in self.process.lines:
            try:
                steps.append(json.loads(line))
            except ValueError:
                steps.append({"step": "output", "line": line})
        return steps

    def finished(self) -> bool:
        return self.process.popen.poll() is not None

    def stop(self) -> None:
        self.process.stop()


@pytest.fixture
def core(core_script: Path, served_cpo: ServedCpo) -> Iterator[Core]:
    running = Core(core_script, served_cpo.grpc)
    try:
        yield running
    finally:
        running.stop()


def _token(uid: str) -> dict[str, Any]:
    """The eMSP's token, whitelisted ALWAYS: the CPO may allow it from its copy."""
    return {"country_code": "DE", "party_id": "EMP", "uid": uid, "type": "RFID",
            "contract_id": "DE-EMP-CNODE1", "issuer": "Fake eMSP", "valid": True,
            "whitelist": "ALWAYS", "last_updated": "2026-01-01T00:00:00Z"}


def _requests(emsp: FakeEmsp, method: str, prefix: str) -> list[Any]:
    return [r for r in emsp.received
            if r.method == method and r.path.startswith(f"/ocpi/2.2.1/{prefix}")]


async def test_the_typescript_core_drives_serve_and_the_emsp_sees_it(
    served_cpo: ServedCpo, emsp: FakeEmsp, core: Core
) -> None:
    registered = await served_cpo.admin.post("/partners", json={
        "versions_url": emsp.versions_url, "token": emsp.issue_token_a()})
    assert registered.status_code == 201, registered.text
    pushed = await emsp.call_cpo("PUT", f"{emsp.cpo_endpoints['tokens']}/DE/EMP/{TOKEN_UID}",
                                 json=_token(TOKEN_UID))
    assert pushed.status_code in (200, 201), pushed.text

    # In a thread: the fake eMSP shares this event loop, and serve pushes to it meanwhile.
    await asyncio.to_thread(core.wait_until_watching)
    response_url = f"{emsp.url}/ocpi/2.2.1/commands/UNLOCK_CONNECTOR/node-1"
    answers: list[dict[str, Any]] = []

    async def accepted() -> bool:
        # REJECTED until the core's stream is open at the sidecar: the core prints its
        # progress line just before the stream reaches the server.
        reply = await emsp.call_cpo(
            "POST", f"{emsp.cpo_endpoints['commands']}/UNLOCK_CONNECTOR",
            json={"response_url": response_url, "location_id": "NODE-LOC1",
                  "evse_uid": "EVSE2", "connector_id": "2"})
        assert reply.status_code == 200, reply.text
        answers.append(reply.json()["data"])
        return bool(answers[-1]["result"] == "ACCEPTED")

    await eventually(accepted, within=30)
    await eventually(core.finished, within=60)
    steps = core.parsed()
    assert core.process.popen.returncode == 0, steps
    names = [s["step"] for s in steps]
    assert names[:4] == ["upsert_tariff", "upsert_location", "upsert_evse", "upsert_connector"]
    assert {"authorize_token", "start_transaction", "report_meter_values",
            "end_transaction", "command", "report_command_result"} <= set(names)
    assert names[-1] == "done"
    authorized = next(s for s in steps if s["step"] == "authorize_token")
    assert authorized["result"] == "ALLOWED"
    transaction_id = next(s for s in steps if s["step"] == "start_transaction")[
        "transaction_id"]
    (command,) = [s for s in steps if s["step"] == "command"]
    assert command["type"] == "UNLOCK_CONNECTOR"

    # Locations: the site as configured, and the statuses the core reported last.
    def location_final() -> bool:
        held = emsp.objects.get(LOCATION)
        return held is not None and {
            e["uid"]: e["status"] for e in held["evses"]} == {
            "EVSE1": "AVAILABLE", "EVSE2": "INOPERATIVE"}

    await eventually(location_final)
    evses = {e["uid"]: e for e in emsp.objects[LOCATION]["evses"]}
    assert [c["id"] for c in evses["EVSE2"]["connectors"]] == ["1", "2"]
    assert _requests(emsp, "PUT", LOCATION)
    patches = _requests(emsp, "PATCH", LOCATION)
    assert patches and all(set(p.body) == {"status", "last_updated"} for p in patches)
    # Pushes are coalesced, so not every status need go out; none but those the core set.
    assert {p.body["status"] for p in patches} <= {"AVAILABLE", "CHARGING", "INOPERATIVE"}

    # The session: PUT, then completed with the energy of the meter readings.
    session_key = f"sessions/NL/CPA/{transaction_id}"

    def session_completed() -> bool:
        held = emsp.objects.get(session_key)
        return held is not None and held["status"] == "COMPLETED"

    await eventually(session_completed)
    assert _requests(emsp, "PUT", session_key)
    assert emsp.objects[session_key]["kwh"] == pytest.approx(1.5)
    assert emsp.objects[session_key]["cdr_token"]["uid"] == TOKEN_UID

    # One CDR, of that session.
    await eventually(lambda: _requests(emsp, "POST", "cdrs"))
    (cdr,) = _requests(emsp, "POST", "cdrs")
    assert cdr.body["session_id"] == transaction_id
    assert cdr.body["total_energy"] == pytest.approx(1.5)

    # The command's result, at the URL the eMSP gave.
    path = response_url.removeprefix(emsp.url)
    await eventually(lambda: [r for r in emsp.received if r.path == path])
    (result,) = [r for r in emsp.received if r.path == path]
    assert result.method == "POST" and result.body["result"] == "ACCEPTED"
