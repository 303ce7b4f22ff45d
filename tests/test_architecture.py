"""The layers hold: no cycle between gridguard's packages, and the contract catches a breach.

The contracts themselves live in pyproject.toml (``[tool.importlinter]``) and
run in ``nox -s lint``; these tests show that they are real: a storage module
that imports a workflow breaks them, and the package graph has no cycle.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

import gridguard

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = Path(gridguard.__file__).parent
LINT_IMPORTS = shutil.which("lint-imports", path=str(Path(sys.executable).parent))


def _package_edges() -> dict[str, set[str]]:
    """Top-level package -> the top-level packages it imports at run time."""
    graph = grimp.build_graph("gridguard", exclude_type_checking_imports=True)
    edges: dict[str, set[str]] = {}
    for module in graph.modules:
        if module == "gridguard":
            continue
        source = module.split(".")[1]
        for imported in graph.find_modules_directly_imported_by(module):
            if imported == "gridguard":
                continue
            target = imported.split(".")[1]
            if target != source:
                edges.setdefault(source, set()).add(target)
    return edges


def _cycle(edges: dict[str, set[str]]) -> list[str] | None:
    """One cycle in ``edges`` as a path of package names, or ``None``."""
    state: dict[str, int] = {}
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(edges):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_no_import_cycle_between_packages() -> None:
    cycle = _cycle(_package_edges())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}}) is None


@pytest.fixture
def copied_tree(tmp_path: Path) -> Path:
    """gridguard's source and its import-linter configuration, copied to ``tmp_path``."""
    shutil.copytree(
        PACKAGE, tmp_path / "src" / "gridguard", ignore=shutil.ignore_patterns("__pycache__")
    )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def _lint_imports(tree: Path) -> subprocess.CompletedProcess[str]:
    assert LINT_IMPORTS, "lint-imports is installed with the test dependencies"
    env = {**os.environ, "PYTHONPATH": str(tree / "src")}
    return subprocess.run(
        [LINT_IMPORTS, "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, check=False
    )


def test_the_layers_hold(copied_tree: Path) -> None:
    done = _lint_imports(copied_tree)
    assert done.returncode == 0, done.stdout + done.stderr


def test_a_storage_module_importing_a_workflow_breaks_the_layers(copied_tree: Path) -> None:
    base = copied_tree / "src" / "gridguard" / "storage" / "base.py"
    base.write_text(base.read_text() + "\nimport gridguard.sweep  # a layer breach\n")
    done = _lint_imports(copied_tree)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "gridguard.storage is not allowed to import gridguard.sweep" in done.stdout
    assert "gridguard.storage.base -> gridguard.sweep" in done.stdout
