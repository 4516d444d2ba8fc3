"""scripts/bootstrap says on stderr what it is doing while it works, and nothing when there
is nothing to do. Run for real on a copy, with a stand-in interpreter that records what it
is asked (making a venv, pip installs) instead of spending half a minute installing."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).parents[2]
# Answers like `python`: `-m venv DIR` makes DIR/bin/python (itself); anything else is noted.
STAND_IN = """#!/usr/bin/env bash
echo "$@" >> "$CALLS"
if [ "$1" = "--version" ]; then echo "Python 3.11.0"; exit 0; fi
if [ "$1" = "-m" ] && [ "$2" = "venv" ]; then
  mkdir -p "$3/bin" && cp "$0" "$3/bin/python" && chmod +x "$3/bin/python"
fi
"""


def _bootstrap(copy: Path, python: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHON": str(python), "CALLS": str(copy / "calls")}
    return subprocess.run([str(copy / "scripts" / "bootstrap")], env=env, capture_output=True,
                          text=True, timeout=60, check=True)


def test_bootstrap_says_what_it_does_then_is_quiet(tmp_path: Path) -> None:
    copy = tmp_path / "repo"
    (copy / "scripts").mkdir(parents=True)
    shutil.copy(ROOT / "scripts" / "bootstrap", copy / "scripts" / "bootstrap")
    shutil.copy(ROOT / "pyproject.toml", copy / "pyproject.toml")
    python = tmp_path / "python"
    python.write_text(STAND_IN)
    python.chmod(0o755)
    first = _bootstrap(copy, python)
    said = first.stderr.splitlines()
    assert [line.split(" with ")[0].split(" (")[0] for line in said] == [
        "bootstrap: making .venv", "bootstrap: installing dependencies", "bootstrap: up to date"]
    assert "about 30 s on first run" in said[1]
    assert first.stdout == ""
    assert "-m pip install --quiet -e .[dev]" in (copy / "calls").read_text()
    again = _bootstrap(copy, python)
    assert again.stderr == "" and again.stdout == ""
