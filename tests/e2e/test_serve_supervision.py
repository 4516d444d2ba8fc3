"""`serve` runs its parts (gRPC, HTTP, push worker, WAL checkpoints) under one supervisor:
when one of them dies, the process says which and why in one line, stops the others and
exits non-zero, instead of serving on without it."""

from __future__ import annotations

import os
import re
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tests.e2e.test_serve import _read_until_listening


def test_a_push_worker_that_dies_stops_serve_with_its_reason(tmp_path: Path) -> None:
    database = tmp_path / "sidecar.db"
    process = subprocess.Popen(
        [sys.executable, "-m", "sidecar", "serve", "--http", "127.0.0.1:0",
         "--grpc", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--database", f"sqlite+aiosqlite:///{database}"],
        cwd=tmp_path, env={**os.environ, "OCPI_SIDECAR_ADMIN_KEY": "supervised"},
        stderr=subprocess.PIPE, text=True)
    try:
        found = _read_until_listening(process, time.monotonic() + 30)
        assert httpx.get(f"http://{found['http']}/ocpi/versions", timeout=10).status_code == 401
        # A real fault under a running process: the outbox table is gone (a wrong restore,
        # a hand-edited database). The push worker, which reads it every second, dies.
        with sqlite3.connect(database) as connection:
            connection.execute("DROP TABLE outbox")
        _, rest = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(10)
    assert process.returncode == 1, rest
    stopped = [line for line in rest.splitlines() if " stopped: " in line]
    assert len(stopped) == 1, rest
    assert re.search(r"ERROR ocpi_sidecar: push worker stopped: OperationalError: .*"
                     r"no such table: outbox; stopping the others$", stopped[0]), rest
    assert "Traceback" not in rest.split(stopped[0])[1], rest
