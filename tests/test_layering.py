"""The layers import downward only: edges (api, cli) over services over the core.

Read with `ast` from the source, so a lazy import inside a function counts too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "sendwarden"

# What each layer may import from the package (besides itself).
ALLOWED: dict[str, set[str]] = {
    "policy": set(),  # the pure core: no I/O, nothing else of ours
    "mailformat": set(),
    "tls": set(),
    "config": set(),
    "observability": set(),
    "transport": {"config", "mailformat", "policy", "tls"},
    "inbound": {"config", "mailformat", "policy", "tls"},
    "storage": {"config", "policy"},
    "schemas": {"policy", "storage", "transport"},
    "services": {
        "config",
        "inbound",
        "mailformat",
        "observability",
        "policy",
        "schemas",
        "storage",
        "tls",
        "transport",
        "webhooks",
    },
    # The event outbox is written by services in their own transactions; it uses
    # only their error types (services.errors) back.
    "webhooks": {"config", "observability", "policy", "services", "storage"},
}
EDGES = {"api", "cli"}


def _layer_of(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _imports(path: Path) -> set[str]:
    """`sendwarden.*` modules the file imports, wherever the import statement is."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return {name for name in found if name.startswith("sendwarden.")}


def _files(layer: str) -> list[Path]:
    directory = PACKAGE / layer
    return sorted(directory.rglob("*.py")) if directory.is_dir() else [PACKAGE / f"{layer}.py"]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports_only_what_lies_below_it(layer: str) -> None:
    wrong = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for path in _files(layer)
        for module in _imports(path)
        if _layer_of(module) not in ALLOWED[layer] | {layer}
    }
    assert not wrong, sorted(wrong)


def test_no_core_or_service_module_imports_an_edge() -> None:
    upward = {
        f"{path.relative_to(PACKAGE)} imports {module}"
        for layer in ALLOWED
        for path in _files(layer)
        for module in _imports(path)
        if _layer_of(module) in EDGES
    }
    assert not upward, sorted(upward)


def test_the_layering_check_sees_lazy_imports(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    from sendwarden.api.app import create_app\n")
    assert _imports(sample) == {"sendwarden.api.app"}


def test_every_package_directory_has_a_layer() -> None:
    directories = {p.name for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert directories <= set(ALLOWED) | EDGES | {"devsmtp", "ui", "webhooks"}, directories
