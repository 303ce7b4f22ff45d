"""The storage contract is explicit: no dialect names compared, no probing, storage at the bottom.

Workflows ask the backend's dialect object and the named capability
protocols of :mod:`gridguard.storage.capabilities`; these tests read the
source so that a comparison with ``"sqlite"`` or a ``getattr(uow, ...)``
probe coming back fails here rather than on a plugin's backend.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "gridguard"

DIALECT_NAME_COMPARED = re.compile(
    r"""dialect(?:\.name)?\s*(?:==|!=|\bin\b|\bnot\s+in\b)"""
    r"""|(?:==|!=)\s*["'](?:sqlite|postgresql|memory)["']"""
)
PROBE = re.compile(
    r"""(?:getattr|hasattr)\(\s*(?:uow|self\.uow|self\._uow|storage|ws\.storage|self\.storage)"""
    r"""\s*,\s*["']"""
    r"""|inspect\.signature"""
)


def _sources() -> list[tuple[str, str]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).as_posix()
        out.append((rel, path.read_text(encoding="utf-8")))
    return out


def _hits(pattern: re.Pattern[str], skip: set[str]) -> list[str]:
    found = []
    for rel, text in _sources():
        if rel in skip:
            continue
        for number, line in enumerate(text.splitlines(), 1):
            if pattern.search(line) and not line.lstrip().startswith("#"):
                found.append(f"{rel}:{number}: {line.strip()}")
    return found


def test_the_patterns_catch_what_they_are_for() -> None:
    assert DIALECT_NAME_COMPARED.search('if ws.storage.dialect == "sqlite":')
    assert DIALECT_NAME_COMPARED.search('if dialect in ("sqlite", "postgresql"):')
    assert DIALECT_NAME_COMPARED.search('mark = "?" if name == "sqlite" else "%s"')
    assert not DIALECT_NAME_COMPARED.search("if dialect.runs_sql:")
    assert PROBE.search('send = getattr(uow, "send_new_rows", None)')
    assert PROBE.search('path = getattr(ws.storage, "path", None)')
    assert PROBE.search('elif "keyring" in inspect.signature(factory).parameters:')
    assert not PROBE.search("if isinstance(uow, NewRowSending):")
    assert not PROBE.search("return getattr(self._uow, name)"), "delegation is not a probe"


def test_no_module_compares_a_dialect_name() -> None:
    # The URL scheme check of the SQLite backend names its own scheme, not a dialect.
    hits = [h for h in _hits(DIALECT_NAME_COMPARED, set()) if 'parts.scheme != "sqlite"' not in h]
    assert hits == []


def test_no_module_probes_a_backend_for_undeclared_capabilities() -> None:
    assert _hits(PROBE, set()) == []


def test_storage_imports_only_the_model_the_converter_and_the_errors() -> None:
    grimp = pytest.importorskip("grimp")
    graph = grimp.build_graph("gridguard", exclude_type_checking_imports=True)

    def packages_imported_by(package: str) -> set[str]:
        found = set()
        for module in graph.find_children(f"gridguard.{package}") | {f"gridguard.{package}"}:
            for imported in graph.find_modules_directly_imported_by(module):
                parts = imported.split(".")
                if len(parts) > 1 and parts[1] != package:
                    found.add(parts[1])
        return found

    assert packages_imported_by("storage") <= {"model", "errors", "serialization"}
    assert "targeting" not in packages_imported_by("security")
    assert "security" not in packages_imported_by("storage")
