"""The real `ocpi-sidecar serve` on free ports: OCPI versions answer, gRPC health SERVING."""

from __future__ import annotations

import base64
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.fixtures.http import SERVE_LISTENING


def _read_until_listening(process: subprocess.Popen[str], deadline: float) -> re.Match[str]:
    assert process.stderr is not None
    seen = []
    while time.monotonic() < deadline:
        line = process.stderr.readline()
        if not line:
            break
        seen.append(line)
        found = SERVE_LISTENING.search(line)
        if found:
            return found
    raise AssertionError("serve did not report its ports:\n" + "".join(seen))


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], str, str, str]]:
    """`ocpi-sidecar serve` in a fresh directory, on ports the kernel picks."""
    env = {**os.environ, "OCPI_SIDECAR_ADMIN_KEY": "e2e-admin-key"}
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
         "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0"],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True,
    )
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
        yield process, found["http"], found["admin"], found["grpc"]
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)


def test_serve_answers_versions_and_health(
    served: tuple[subprocess.Popen[str], str, str, str], tmp_path: Path
) -> None:
    process, http_address, admin_address, grpc_address = served
    admin = {"Authorization": "Bearer e2e-admin-key"}
    with httpx.Client(base_url=f"http://{http_address}", timeout=10) as client:
        assert client.get("/ocpi/versions").status_code == 401
        created = client.post(f"http://{admin_address}/admin/credentials-token-a",
                              headers=admin)
        assert created.status_code == 201
        token = base64.b64encode(created.json()["token"].encode()).decode()
        versions = client.get("/ocpi/versions", headers={"Authorization": f"Token {token}"})
    assert versions.status_code == 200
    assert versions.json()["data"] == [
        {"version": "2.2.1", "url": f"http://{http_address}/ocpi/cpo/2.2.1"}]
    with grpc.insecure_channel(grpc_address) as channel:
        health = health_pb2_grpc.HealthStub(channel)
        reply = health.Check(health_pb2.HealthCheckRequest(service=""), timeout=10)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
        located = health.Check(
            health_pb2.HealthCheckRequest(service="ocpi_sidecar.v1.LocationService"), timeout=10)
        assert located.status == health_pb2.HealthCheckResponse.SERVING
    # The embedded default: one SQLite file under var/ of the working directory.
    assert (tmp_path / "var" / "ocpi-sidecar.db").exists()
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


def test_db_seed_twice_adds_nothing_the_second_time(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'seeded.db'}"
    command = [sys.executable, "-m", "sidecar", "db", "seed", "--database", url]
    first = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    second = subprocess.run(command, capture_output=True, text=True, check=True, cwd=tmp_path)
    assert first.stdout.splitlines() == [
        "added: party NL/SDC", "added: location LOC1", "added: tariff TARIFF1"]
    assert second.stdout.strip() == "nothing to do: up to date"


def _start(tmp_path: Path, arguments: list[str], env: dict[str, str],
           umask: int = -1,
           ) -> tuple[subprocess.Popen[str], re.Match[str]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
         "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0", *arguments],
        cwd=tmp_path, env=env, stderr=subprocess.PIPE, text=True, umask=umask)
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
    except BaseException:
        process.kill()
        process.wait(10)
        raise
    return process, found


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    assert process.wait(20) == 0


@pytest.mark.parametrize("by", ["flag", "environment"])
def test_admin_key_from_a_file_never_shows_in_the_process_list(
    tmp_path: Path, by: str
) -> None:
    key_file = tmp_path / "admin.key"
    key_file.write_text("key-from-a-file\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_SIDECAR_ADMIN")}
    arguments = ["--admin-key-file", str(key_file)] if by == "flag" else []
    if by == "environment":
        env["OCPI_SIDECAR_ADMIN_KEY_FILE"] = str(key_file)
    process, found = _start(tmp_path, arguments, env)
    admin_address = found["admin"]
    try:
        command_line = Path(f"/proc/{process.pid}/cmdline").read_bytes()
        assert b"key-from-a-file" not in command_line
        with httpx.Client(base_url=f"http://{admin_address}/admin", timeout=10) as client:
            assert client.get("/partners", headers={
                "Authorization": "Bearer key-from-a-file"}).status_code == 200
            assert client.get("/partners", headers={
                "Authorization": "Bearer key-from-a-file\n".strip() + "x"}).status_code == 401
    finally:
        _stop(process)
    # Not made when a key is given: var/admin-key is only the fallback.
    assert not (tmp_path / "var" / "admin-key").exists()


def test_an_unreadable_admin_key_file_stops_serve_with_a_message(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_SIDECAR_ADMIN")}
    done = subprocess.run(
        [sys.executable, "-m", "sidecar", "serve", "--admin-key-file",
         str(tmp_path / "missing")], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=30)
    assert done.returncode == 2
    assert "--admin-key-file" in done.stderr and "Traceback" not in done.stderr


def test_files_serve_makes_are_private_whatever_the_umask(tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_SIDECAR_")}
    process, found = _start(tmp_path, [], env, umask=0)
    admin_address = found["admin"]
    try:
        key = (tmp_path / "var" / "admin-key").read_text().strip()
        with httpx.Client(base_url=f"http://{admin_address}/admin", timeout=10) as client:
            # A write, so that the database has its -wal and -shm files beside it.
            assert client.post("/credentials-token-a", headers={
                "Authorization": f"Bearer {key}"}).status_code == 201
        made = sorted((tmp_path / "var").rglob("*"))
        names = {p.name for p in made}
        assert {"admin-key", "ocpi-sidecar.db", "ocpi-sidecar.db-wal",
                "ocpi-sidecar.db-shm"} <= names
        modes = {str(p.relative_to(tmp_path)): oct(p.stat().st_mode & 0o777)
                 for p in [tmp_path / "var", *made]}
        assert modes == {name: oct(0o700 if (tmp_path / name).is_dir() else 0o600)
                         for name in modes}
    finally:
        _stop(process)
