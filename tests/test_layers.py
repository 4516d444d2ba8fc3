"""Import rules of ARCHITECTURE.md, checked on the import graph read from the source (ast).

Every form counts: `import a.b`, `from a import b` (which may import the module `a.b`),
relative imports (resolved against the importing module's package), and imports inside
functions. The checker itself is tested on a tree of probes, one per way a rule was broken.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

TRANSPORTS = ("grpc", "starlette", "httpx", "hypercorn", "aiohttp", "ocpi_sidecar")

# (folder whose modules are checked, modules they must not import, files exempt)
RULES: tuple[tuple[str, tuple[str, ...], tuple[str, ...]], ...] = (
    # The OCPI object model is pure: no transport, no store, no servicers, no gateway.
    ("sidecar/ocpi", (*TRANSPORTS, "gateway", "sidecar.store", "sidecar.servicers"), ()),
    # The store holds rows: no transport, no servicers, no gateway.
    ("sidecar/store", (*TRANSPORTS, "gateway", "sidecar.servicers"), ()),
    # The domain applies core events over the store and the model: no transport, no generated
    # stubs, no servicers, no gateway.
    ("sidecar/domain", (*TRANSPORTS, "gateway", "sidecar.servicers"), ()),
    # Pricing is arithmetic on the model: no transport, no servicers, no gateway.
    ("sidecar/pricing", (*TRANSPORTS, "gateway", "sidecar.servicers"), ()),
    # Only the process entry point wires the two halves together.
    ("sidecar", ("gateway",), ("sidecar/cli.py",)),
    # The partner-facing half never reaches into the core-facing servicers or gRPC.
    ("gateway", ("sidecar.servicers", "grpc", "ocpi_sidecar"), ()),
)


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module a `from … import` names (relative ones resolved)."""
    if node.level == 0:
        return node.module or ""
    package = module.split(".") if is_package else module.split(".")[:-1]
    base = package[: len(package) - (node.level - 1)]
    return ".".join([*base, node.module] if node.module else base)


def imports_of(root: Path, path: Path) -> set[str]:
    """Every module `path` may import, as absolute dotted names."""
    module = _module_name(root, path)
    is_package = path.name == "__init__.py"
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node)
            names.add(source)
            # `from a import b` imports the module a.b when b is one.
            names.update(f"{source}.{alias.name}" for alias in node.names if alias.name != "*")
    return {name for name in names if name}


def _forbidden(name: str, forbidden: tuple[str, ...]) -> bool:
    return any(name == f or name.startswith(f + ".") for f in forbidden)


def violations(root: Path) -> list[tuple[str, str]]:
    """(file, imported module) pairs that break a rule, under `root`."""
    found = set()
    for folder, forbidden, exempt in RULES:
        for path in sorted((root / folder).rglob("*.py")):
            relative = str(path.relative_to(root))
            if relative in exempt:
                continue
            for name in imports_of(root, path):
                if _forbidden(name, forbidden):
                    found.add((relative, name))
    return sorted(found)


def test_the_code_keeps_the_layer_rules() -> None:
    assert violations(ROOT) == []


# One probe per way the rules were once broken unseen; each must be caught.
PROBES = {
    "gateway/probe_servicers.py": "from sidecar import servicers\n",
    "gateway/probe_servicer_module.py": "from sidecar.servicers import locations\n",
    "sidecar/store/probe_relative.py": "from ..servicers import locations\n",
    "sidecar/store/probe_relative_package.py": "from .. import servicers\n",
    "sidecar/pricing/probe_grpc.py": "def later() -> None:\n    import grpc\n",
    "sidecar/ocpi/probe_store.py": "from sidecar.store import tables\n",
    "sidecar/store/probe_servicers.py": "import sidecar.servicers.locations\n",
    "sidecar/servicers/probe_gateway.py": "from gateway.push import PushWorker\n",
    "sidecar/domain/probe_servicers.py": "from sidecar.servicers import transaction_mapping\n",
    "sidecar/domain/probe_stubs.py": "from ocpi_sidecar.v1 import transactions_pb2\n",
}


@pytest.mark.parametrize("probe", list(PROBES))
def test_each_probe_is_caught(tmp_path: Path, probe: str) -> None:
    for folder in ("gateway", "sidecar/store", "sidecar/pricing", "sidecar/ocpi",
                   "sidecar/servicers", "sidecar/domain"):
        (tmp_path / folder).mkdir(parents=True, exist_ok=True)
        (tmp_path / folder / "__init__.py").write_text("")
    (tmp_path / "sidecar" / "__init__.py").write_text("")
    (tmp_path / probe).write_text(PROBES[probe])
    assert {path for path, _ in violations(tmp_path)} == {probe}
