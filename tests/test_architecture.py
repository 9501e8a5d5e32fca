"""The folders of `components/` are the architecture, and their imports say so: the model at the
bottom (pure: no `pulumi_aws`, importing nothing above it), the package build and the checks on it,
the resources on those, and the composition (`component.py`, `shared_endpoints.py`) on top. The
runtime library is imported only for the package contract and the error types, never the other way."""

from __future__ import annotations

import ast
from pathlib import Path

COMPONENTS = Path(__file__).resolve().parent.parent / "components"
RUNTIME = Path(__file__).resolve().parent.parent / "vpclambda_runtime"
LAYERS = {"model": 0, "build": 1, "checks": 2, "resources": 3}
"""A module may import its own layer and the layers below it; the top-level modules compose them."""


def internal_imports(path: Path) -> set[str]:
    """The `components` packages and modules a module imports (relative imports resolved)."""
    package = path.relative_to(COMPONENTS.parent).with_suffix("").parts[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(package[: len(package) - node.level + 1])
            target = [*base, *(node.module.split(".") if node.module else [])]
            names = [target] if node.module else [[*target, alias.name] for alias in node.names]
            found.update(".".join(name) for name in names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("components"):
            found.add(node.module)
    return found


def layer_of(module: str) -> int | None:
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 2 else None


def third_party(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_no_module_imports_a_layer_above_its_own() -> None:
    upward = []
    for path in COMPONENTS.rglob("*.py"):
        own = layer_of(".".join(path.relative_to(COMPONENTS.parent).with_suffix("").parts))
        if own is None:
            continue
        for module in internal_imports(path):
            other = layer_of(module) if module.count(".") >= 2 else None
            if module.split(".")[:2] == ["components", "program"]:
                other = LAYERS["checks"]  # the engine's internals serve the look-ups
            if other is None and module.count(".") == 1 and module.split(".")[1] not in LAYERS:
                other = len(LAYERS)  # a top-level module: the composition
            if other is not None and other > own:
                upward.append(f"{path.relative_to(COMPONENTS.parent)} imports {module}")
    assert upward == []


def test_the_model_is_pure() -> None:
    for path in (COMPONENTS / "model").glob("*.py"):
        assert "pulumi_aws" not in third_party(path), path.name
        assert third_party(path) <= {"__future__", "pulumi", "vpclambda_runtime"} | set(
            __import__("sys").stdlib_module_names), (path.name, third_party(path))


def test_the_runtime_library_knows_nothing_of_the_component() -> None:
    for path in RUNTIME.rglob("*.py"):
        assert not {"components", "vpclambda", "pulumi", "pulumi_aws"} & third_party(path), path.name


def test_the_component_uses_the_runtime_only_through_its_contract_and_errors() -> None:
    used = {node.module for path in COMPONENTS.rglob("*.py") for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("vpclambda_runtime")}
    used |= {f"vpclambda_runtime.{alias.name}" for path in COMPONENTS.rglob("*.py")
             for node in ast.walk(ast.parse(path.read_text()))
             if isinstance(node, ast.ImportFrom) and node.module == "vpclambda_runtime" for alias in node.names}
    assert used <= {"vpclambda_runtime", "vpclambda_runtime.contract", "vpclambda_runtime.errors"}, used
