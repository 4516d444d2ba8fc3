"""Import rules of ARCHITECTURE.md, checked by reading the source (ast)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports_of(folder: str) -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in (ROOT / folder).rglob("*.py"):
        names: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names.update(alias.name for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                names.add(node.module)
        found[str(path.relative_to(ROOT))] = names
    return found


def offenders(folder: str, forbidden: tuple[str, ...], allowed: tuple[str, ...] = ()) -> list:
    return sorted(
        (path, name)
        for path, names in imports_of(folder).items()
        if path not in allowed
        for name in names
        if name.split(".")[0] in forbidden or name in forbidden
        or any(name.startswith(f + ".") for f in forbidden)
    )


def test_model_and_store_import_no_transport() -> None:
    transports = ("grpc", "starlette", "httpx", "hypercorn", "gateway", "ocpi_sidecar")
    assert offenders("sidecar/ocpi", transports) == []
    assert offenders("sidecar/store", transports) == []


def test_only_the_cli_imports_the_gateway() -> None:
    assert offenders("sidecar", ("gateway",), allowed=("sidecar/cli.py",)) == []


def test_gateway_never_imports_servicers_or_grpc() -> None:
    assert offenders("gateway", ("sidecar.servicers", "grpc", "ocpi_sidecar")) == []
