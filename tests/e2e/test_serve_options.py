"""`ocpi-sidecar` options as a user meets them: --version, --help naming each option's
default and environment variable, bad values refused in one line, exit 2, no traceback,
and the settings that once had no flag (the read limits, the guessing limiter) taking one."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from sidecar.settings import options
from tests.e2e.test_serve import _start, _stop


def _run(*arguments: str, env: dict[str, str] | None = None,
         cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OCPI_SIDECAR_")}
    return subprocess.run([sys.executable, "-m", "sidecar", *arguments],
                          env={**clean, **(env or {})}, cwd=cwd, capture_output=True,
                          text=True, timeout=60)


def test_version_prints_the_package_version() -> None:
    done = _run("--version")
    assert done.returncode == 0
    assert done.stdout.strip() == "ocpi-sidecar 0.1.0"


def test_serve_help_names_each_option_its_default_and_variable() -> None:
    done = _run("serve", "--help")
    assert done.returncode == 0
    # One entry per option: from its flag to the next, with argparse's wrapping undone.
    entries = {entry.split()[0]: " ".join(entry.split())
               for entry in re.split(r"\n  (?=--)", done.stdout)[1:]}
    assert sorted(entries) == sorted(o.flag for o in options())
    for declared in options():
        entry = entries[declared.flag]
        assert entry.endswith(f"env {declared.env})"), entry
        shown = declared.default_text.replace("`", "")
        assert shown == "—" or f"(default: {shown}; " in entry, entry


@pytest.mark.parametrize(("arguments", "env", "named"), [
    (["--http", "127.0.0.1:abc"], {}, "argument --http: '127.0.0.1:abc' is not HOST:PORT"),
    (["--grpc", "127.0.0.1"], {}, "argument --grpc: "),
    (["--authorize-timeout", "soon"], {}, "argument --authorize-timeout: 'soon' is not a"),
    (["--page-limit", "0"], {}, "argument --page-limit: '0': must be 1 or more"),
    (["--log-level", "LOUD"], {}, "argument --log-level: "),
    ([], {"OCPI_SIDECAR_SESSION_PATCH_INTERVAL": "abc"},
     "OCPI_SIDECAR_SESSION_PATCH_INTERVAL (--session-patch-interval): 'abc' is not a"),
    ([], {"OCPI_SIDECAR_HTTP": "localhost:99999"}, "OCPI_SIDECAR_HTTP (--http): "),
    ([], {"OCPI_SIDECAR_READ_CACHE_MB": "many"}, "OCPI_SIDECAR_READ_CACHE_MB"),
], ids=["http-port", "grpc-no-port", "float", "page-limit", "log-level", "env-float",
        "env-port", "env-int"])
def test_a_bad_value_is_one_line_naming_the_option_and_exit_2(
    arguments: list[str], env: dict[str, str], named: str, tmp_path: Path
) -> None:
    done = _run("serve", *arguments, env=env, cwd=tmp_path)
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and named in errors[0], done.stderr
    # Refused before anything started: nothing was made in the working directory.
    assert not (tmp_path / "var").exists()


def test_a_setting_that_had_no_flag_takes_one_and_the_flag_wins_over_the_variable(
    tmp_path: Path
) -> None:
    env = {**os.environ, "OCPI_SIDECAR_ADMIN_KEY": "options-admin-key",
           "OCPI_SIDECAR_AUTH_FAILURE_LIMIT": "1000"}
    process, found = _start(tmp_path, ["--auth-failure-limit", "2"], env)
    http_address = found["http"]
    try:
        wrong = {"Authorization": "Token d3Jvbmc="}
        with httpx.Client(base_url=f"http://{http_address}", timeout=10) as client:
            codes = [client.get("/ocpi/versions", headers=wrong).status_code
                     for _ in range(3)]
    finally:
        _stop(process)
    assert codes == [401, 401, 429]
