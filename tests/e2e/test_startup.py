"""`ocpi-sidecar serve` as an operator starts it: each configuration or environment problem
is one line naming the option, exit 2 (configuration) or 1 (something unavailable), no
traceback; listeners are its own; a stop at any moment of start-up is a clean stop; the
admin key file appears only once serving can begin; logs in text or JSON."""

from __future__ import annotations

import asyncio
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.e2e.test_serve import _read_until_listening
from tests.fixtures.database import PG_URL, _fresh_postgres
from tests.fixtures.http import SERVE_LISTENING

FREE_PORTS = ["--http", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--grpc", "127.0.0.1:0"]
# No PostgreSQL server listens on port 1 of loopback.
CLOSED_PG = "postgresql://postgres@127.0.0.1:1/nothing"


def _env(extra: dict[str, str] | None = None) -> dict[str, str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_SIDECAR_")}
    return {**clean, **(extra or {})}


def _run(cwd: Path, *arguments: str, env: dict[str, str] | None = None,
         ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "sidecar", *arguments], cwd=cwd,
                          env=_env(env), capture_output=True, text=True, timeout=60)


def _one_line(done: subprocess.CompletedProcess[str], code: int, *named: str) -> str:
    """The single stderr line of a failed start, after checking what it must hold."""
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert done.returncode == code, done.stderr
    for name in named:
        assert name in lines[0], lines[0]
    return lines[0]


def _spawn(cwd: Path, *arguments: str, env: dict[str, str] | None = None,
           ) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "sidecar", "serve", *arguments], cwd=cwd,
                            env=_env(env), stderr=subprocess.PIPE, text=True)


def _started(cwd: Path, *arguments: str) -> tuple[subprocess.Popen[str], re.Match[str]]:
    process = _spawn(cwd, *FREE_PORTS, *arguments,
                     env={"OCPI_SIDECAR_ADMIN_KEY": "startup-admin-key"})
    try:
        return process, _read_until_listening(process, time.monotonic() + 30)
    except BaseException:
        process.kill()
        process.wait(10)
        raise


def _stop(process: subprocess.Popen[str]) -> str:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
    try:
        _, rest = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    return rest


@pytest.mark.parametrize(("arguments", "env", "named"), [
    (["--database", "mysql://user@db.example.com/sidecar"], {}, "--database"),
    (["--database", "::not a url::"], {}, "--database"),
    (["--http", "127.0.0.1:abc"], {}, "--http"),
    (["--http", ":8080"], {}, "use 0.0.0.0:8080 for every interface"),
    (["--http", "http://127.0.0.1:8080"], {}, "--http"),
    (["--grpc", "local host:50051"], {}, "--grpc"),
    (["--admin", "[::1:8081"], {}, "--admin"),
    (["--admin", "::1:8081"], {}, "in brackets"),
    (["--http", "127.0.0.1:65536"], {}, "--http"),
    (["--public-url", "not a url"], {}, "--public-url"),
    (["--public-url", "ftp://ocpi.example.com"], {}, "--public-url"),
    (["--public-url", "https://ocpi.example.com/?x=1"], {}, "no query or fragment"),
    (["--public-url", "https://"], {}, "--public-url"),
    (["--log-format", "xml"], {}, "--log-format"),
    ([], {"OCPI_SIDECAR_LOG_LEVEL": "loud"}, "OCPI_SIDECAR_LOG_LEVEL (--log-level)"),
    ([], {"OCPI_SIDECAR_LOG_FORMAT": "yaml"}, "OCPI_SIDECAR_LOG_FORMAT (--log-format)"),
    ([], {"OCPI_SIDECAR_DATABASE": "mysql://x/y"}, "OCPI_SIDECAR_DATABASE (--database)"),
    ([], {"OCPI_SIDECAR_PUBLIC_URL": "ftp://x"}, "OCPI_SIDECAR_PUBLIC_URL (--public-url)"),
], ids=["mysql", "unparsable-url", "port-abc", "empty-host", "scheme-in-address",
        "space-in-host", "open-bracket", "ipv6-without-brackets", "port-too-big",
        "public-not-url", "public-ftp", "public-query", "public-no-host", "log-format",
        "env-log-level", "env-log-format", "env-database", "env-public-url"])
def test_bad_configuration_is_one_line_and_exit_2(
    arguments: list[str], env: dict[str, str], named: str, tmp_path: Path
) -> None:
    _one_line(_run(tmp_path, "serve", *arguments, env=env), 2, named)
    # Refused before anything started: nothing was made in the working directory.
    assert not (tmp_path / "var").exists()


def test_an_unreachable_database_is_one_line_and_exit_1(tmp_path: Path) -> None:
    line = _one_line(_run(tmp_path, "serve", *FREE_PORTS, "--database", CLOSED_PG), 1,
                     "--database (OCPI_SIDECAR_DATABASE)", "127.0.0.1:1")
    assert "refused" in line.lower() or "connect call failed" in line.lower(), line
    assert not (tmp_path / "var" / "admin-key").exists()


def test_an_unknown_database_user_is_one_line_and_exit_1(tmp_path: Path) -> None:
    url = "postgresql://no_such_sidecar_role@127.0.0.1:5432/postgres"
    line = _one_line(_run(tmp_path, "serve", *FREE_PORTS, "--database", url), 1,
                     "--database (OCPI_SIDECAR_DATABASE)")
    if "refused" in line.lower():
        pytest.skip("no PostgreSQL at 127.0.0.1:5432")
    assert "no_such_sidecar_role" in line, line


def test_a_postgresql_database_without_the_schema_is_one_line_and_exit_1(
    tmp_path: Path
) -> None:
    try:
        asyncio.run(_fresh_postgres(PG_URL))
    except OSError as error:
        pytest.skip(f"no PostgreSQL: {error}")
    _one_line(_run(tmp_path, "serve", *FREE_PORTS, "--database", PG_URL), 1,
              "--database (OCPI_SIDECAR_DATABASE)", "migration", "db upgrade")


def test_a_var_that_is_a_file_is_one_line_and_exit_1(tmp_path: Path) -> None:
    (tmp_path / "var").write_text("not a directory\n")
    _one_line(_run(tmp_path, "serve", *FREE_PORTS), 1, "var/", "Not a directory")
    assert (tmp_path / "var").read_text() == "not a directory\n"


@pytest.mark.parametrize("option", ["grpc", "http", "admin"])
def test_a_port_another_serve_holds_is_one_line_and_exit_1(
    option: str, tmp_path: Path
) -> None:
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first, found = _started(first_dir)
    try:
        # Another instance, with another database, on the port the first one holds.
        arguments = list(FREE_PORTS)
        arguments[arguments.index(f"--{option}") + 1] = found[option]
        second = _run(second_dir, "serve", *arguments,
                      env={"OCPI_SIDECAR_ADMIN_KEY": "second"})
        _one_line(second, 1, f"--{option} (OCPI_SIDECAR_{option.upper()})", found[option],
                  "in use")
        # Nor can any socket share it by asking for SO_REUSEPORT: the first did not offer it.
        host, _, port = found[option].rpartition(":")
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            with pytest.raises(OSError, match="in use"):
                probe.bind((host, int(port)))
        # The first one still answers on it, alone.
        assert httpx.get(f"http://{found['http']}/ocpi/versions",
                         timeout=10).status_code == 401
    finally:
        rest = _stop(first)
    assert first.returncode == 0, rest


def test_a_port_alone_means_loopback_and_is_what_partners_are_told(tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = _spawn(tmp_path, "--http", str(port), "--admin", "127.0.0.1:0", "--grpc",
                     "127.0.0.1:0", env={"OCPI_SIDECAR_ADMIN_KEY": "k"})
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
    finally:
        rest = _stop(process)
    assert found["http"] == f"127.0.0.1:{port}"
    assert f"(versions: http://127.0.0.1:{port}/ocpi/versions)" in found.string
    assert process.returncode == 0, rest


def test_a_public_url_loses_its_trailing_slash(tmp_path: Path) -> None:
    process, found = _started(tmp_path, "--public-url", "https://ocpi.example.com/cpo/")
    _stop(process)
    assert "(versions: https://ocpi.example.com/cpo/ocpi/versions)" in found.string


def _catches_sigterm(pid: int) -> bool:
    status = Path(f"/proc/{pid}/status").read_text()
    caught = next(line for line in status.splitlines() if line.startswith("SigCgt:"))
    return bool(int(caught.split()[1], 16) & (1 << (signal.SIGTERM - 1)))


def _loaded(pid: int, library: str) -> bool:
    return library in Path(f"/proc/{pid}/maps").read_text()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["TERM", "INT"])
@pytest.mark.parametrize("moment", ["handlers-in-place", "0.1s-later", "0.4s-later",
                                    "1s-later", "listening"])
def test_a_stop_at_any_moment_of_start_up_is_clean(
    signum: int, moment: str, tmp_path: Path
) -> None:
    process = _spawn(tmp_path, *FREE_PORTS)
    try:
        # The first moment our code can answer for: once it catches the signals. Before
        # it, the interpreter's own start (tens of milliseconds) is no program's.
        deadline = time.monotonic() + 30
        while process.poll() is None and not _catches_sigterm(process.pid):
            assert time.monotonic() < deadline, "serve never caught SIGTERM"
            time.sleep(0.001)
        if moment == "handlers-in-place":
            # Caught from before the heavy imports (gRPC among them), not once they are done.
            assert not _loaded(process.pid, "cygrpc")
        elif moment == "listening":
            _read_until_listening(process, time.monotonic() + 30)
        else:
            time.sleep(float(moment.removesuffix("s-later")))
        process.send_signal(signum)
    finally:
        rest = _stop(process)
    assert "Traceback" not in rest, rest
    assert process.returncode == 0, rest
    assert rest.splitlines()[-1].endswith(" stopped"), rest


def test_the_admin_key_file_is_written_only_once_serving_can_begin(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", *FREE_PORTS, "--database", CLOSED_PG)
    assert done.returncode == 1, done.stderr
    assert not (tmp_path / "var" / "admin-key").exists()
    process = _spawn(tmp_path, *FREE_PORTS)
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
        key = (tmp_path / "var" / "admin-key").read_text().strip()
        assert httpx.get(f"http://{found['admin']}/admin/partners", timeout=10, headers={
            "Authorization": f"Bearer {key}"}).status_code == 200
    finally:
        rest = _stop(process)
    assert process.returncode == 0, rest


def test_the_admin_key_file_location_is_said_before_ready(tmp_path: Path) -> None:
    process = _spawn(tmp_path, *FREE_PORTS)
    assert process.stderr is not None
    seen = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            seen.append(line)
            if not line or SERVE_LISTENING.search(line):
                break
    finally:
        _stop(process)
    said = [line for line in seen if "admin key: in " in line]
    assert len(said) == 1 and said[0].rstrip().endswith(str(tmp_path / "var" / "admin-key"))


def test_db_commands_have_the_same_one_line_errors(tmp_path: Path) -> None:
    _one_line(_run(tmp_path, "db", "upgrade", "--database", CLOSED_PG), 1,
              "--database (OCPI_SIDECAR_DATABASE)")
    _one_line(_run(tmp_path, "db", "seed", "--database", "mysql://x/y"), 2, "--database")
    _one_line(_run(tmp_path, "db", "upgrade", env={"OCPI_SIDECAR_LOG_LEVEL": "loud"}), 2,
              "OCPI_SIDECAR_LOG_LEVEL (--log-level)")


def test_db_help_shows_defaults_and_variables(tmp_path: Path) -> None:
    done = _run(tmp_path, "db", "upgrade", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    for flag, env in (("--database", "OCPI_SIDECAR_DATABASE"),
                      ("--log-level", "OCPI_SIDECAR_LOG_LEVEL"),
                      ("--log-format", "OCPI_SIDECAR_LOG_FORMAT")):
        assert re.search(rf"{flag} \S+ .*?\(default: [^;]+; env {env}\)", text), text


TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3} (DEBUG|INFO|WARNING|ERROR) "
                       r"[\w.]+: \S")
JSON_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.mark.parametrize("log_format", ["text", "json"])
def test_every_log_line_has_the_chosen_format(log_format: str, tmp_path: Path) -> None:
    process = _spawn(tmp_path, *FREE_PORTS, "--log-format", log_format)
    assert process.stderr is not None
    lines = []
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = process.stderr.readline()
            if not line:
                break
            lines.append(line)
            if "Running on" in line and sum("Running on" in seen for seen in lines) == 2:
                break
    finally:
        lines += _stop(process).splitlines(keepends=True)
    assert process.returncode == 0, "".join(lines)
    if log_format == "text":
        assert all(TEXT_LINE.match(line) for line in lines), "".join(lines)
        return
    records = [json.loads(line) for line in lines]
    for record in records:
        assert {"time", "level", "logger", "message"} <= record.keys(), record
        assert JSON_TIME.match(record["time"]), record
    loggers = {record["logger"] for record in records}
    # Hypercorn's own lines come through the same handler.
    assert {"ocpi_sidecar", "hypercorn.error"} <= loggers, loggers
    assert records[-1]["message"] == "stopped"


def test_the_log_format_can_come_from_the_environment(tmp_path: Path) -> None:
    done = _run(tmp_path, "serve", *FREE_PORTS, "--database", CLOSED_PG,
                env={"OCPI_SIDECAR_LOG_FORMAT": "json"})
    (line,) = done.stderr.splitlines()
    record = json.loads(line)
    assert record["level"] == "ERROR" and "--database" in record["message"]


def test_registering_with_a_closed_port_says_the_connection_was_refused(
    tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    process, found = _started(tmp_path)
    admin = {"Authorization": "Bearer startup-admin-key"}
    try:
        with httpx.Client(base_url=f"http://{found['admin']}/admin", headers=admin,
                          timeout=30) as client:
            assert client.put("/parties/NL/CPO", json={
                "business_details": {"name": "CPO"}}).status_code in (200, 201)
            refused = client.post("/partners", json={
                "versions_url": f"http://127.0.0.1:{closed}/ocpi/versions", "token": "tok"})
            malformed = {bad: client.post("/partners",
                                          json={"versions_url": bad, "token": "tok"})
                         for bad in ("not a url", "ftp://x", "http://")}
    finally:
        _stop(process)
    assert refused.status_code == 502, refused.text
    assert "connection refused" in refused.json()["error"], refused.text
    assert "Timeout" not in refused.json()["error"], refused.text
    for bad, reply in malformed.items():
        assert reply.status_code == 400, (bad, reply.text)
        assert reply.json()["field"] == "versions_url", (bad, reply.text)
