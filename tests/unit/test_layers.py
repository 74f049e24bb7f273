"""The folder tree is the architecture: each layer imports only the layers below it.

scoring (pure domain rules) < engine (models) < pipeline (composition) < api (HTTP edge).
Imports inside functions count too: a lazy import is still a dependency.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SERVICE = Path(__file__).resolve().parents[2] / "service"

# What each layer must never import (module prefixes).
FORBIDDEN: dict[str, tuple[str, ...]] = {
    "scoring": (
        "service.api",
        "service.engine",
        "service.pipeline",
        "service.state",
        "service.lifecycle",
        "service.cli",
        "service.metrics",
        "fastapi",
        "starlette",
        "uvicorn",
        "torch",
        "sentence_transformers",
        "ctranslate2",
        "transformers",
    ),
    "engine": (
        "service.api",
        "service.pipeline",
        "service.state",
        "service.lifecycle",
        "service.cli",
        "fastapi",
        "starlette",
    ),
    "pipeline": ("service.api", "service.cli", "fastapi", "starlette"),
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def violations(layer: str) -> list[str]:
    bad = []
    for path in sorted((SERVICE / layer).rglob("*.py")):
        for module in sorted(imported_modules(path)):
            if any(module == p or module.startswith(p + ".") for p in FORBIDDEN[layer]):
                bad.append(f"{path.relative_to(SERVICE.parent)} imports {module}")
    return bad


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_only_lower_layers(layer: str) -> None:
    assert (SERVICE / layer).is_dir(), f"service/{layer}/ is missing"
    assert violations(layer) == []


def test_the_check_sees_lazy_imports(tmp_path: Path) -> None:
    module = tmp_path / "m.py"
    module.write_text("def f():\n    from service.api.app import create_app\n    import torch\n")
    assert imported_modules(module) == {"service.api.app", "torch"}
