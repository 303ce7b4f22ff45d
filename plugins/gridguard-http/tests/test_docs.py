"""The Python examples of docs/http.md and docs/fhir.md run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from http_world import build_store

DOCS = Path(__file__).resolve().parents[3] / "docs"
DOC = DOCS / "http.md"


def blocks(doc: Path = DOC) -> list[str]:
    return re.findall(r"```python\n(.*?)```", doc.read_text(encoding="utf-8"), flags=re.S)


def test_the_guide_has_examples() -> None:
    assert len(blocks()) >= 3


@pytest.mark.parametrize("n", range(3))
def test_example_runs(
    n: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    build_store(tmp_path / "huayuan.db")
    exec(compile(blocks()[n], f"{DOC}:block{n}", "exec"), {})
    if n == 0:
        assert capsys.readouterr().out.strip() == "['h1', 'h2']"


def test_the_fhir_example_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    build_store(tmp_path / "huayuan.db")
    [block] = blocks(DOCS / "fhir.md")
    exec(compile(block, "fhir.md", "exec"), {})
    assert capsys.readouterr().out.strip() == "Bundle collection True"
