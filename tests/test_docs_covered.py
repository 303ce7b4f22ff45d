"""Every code block of every page under docs/ and of README.md is run, or skipped on purpose.

A page whose ``console`` or ``python`` blocks the doc runner executes must be
run by some test (``run_page`` called on it); a block that is not run must
say why: a ``<!-- skip: next "REASON" -->`` comment before it (sybil's
directive, for a ``console`` or ``python`` block), a ``<!-- not run: REASON
-->`` note before a block of another kind (sybil ignores those, so a skip
there would skip the next example instead), or a kind that
is not code (``text`` for synopses and printed output, ``{eval-rst}`` and
``{toctree}`` for Sphinx, built with -W -n by ``nox -s docs``), or a ``json``
or ``toml`` file the runner writes first (a paragraph ending in ``this is
`NAME`:``). So a new page, or a new block, cannot be forgotten.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]
RUN = {"console", "python"}
NOT_CODE = {"text", "{eval-rst}", "{toctree}"}
FENCE = re.compile(r"^\s*```(\S*)\s*$")
NOT_RUN = re.compile(r"<!-- not run: [^>]{10,} -->")
SKIP = re.compile(
    r'<!-- skip: next "([^"]{10,})" -->|<!-- skip: next if\(.*reason="([^"]{10,})"\) -->'
)
FILE_INTRO = re.compile(r"this is `[^`]+`:\s*$")


def blocks(page: Path) -> list[tuple[int, str, str]]:
    """(line, language, text before it) of each fenced block of ``page``."""
    lines = page.read_text(encoding="utf-8").splitlines()
    found: list[tuple[int, str, str]] = []
    inside = False
    for number, line in enumerate(lines, start=1):
        match = FENCE.match(line)
        if match is None:
            continue
        if not inside:
            before = "\n".join(x.strip() for x in lines[max(0, number - 4) : number - 1]).strip()
            found.append((number, match.group(1), before))
        inside = not inside
    return found


def pages_run_by_tests() -> set[str]:
    """Names of the pages that some test hands to ``run_page``."""
    names: set[str] = set()
    for test in (ROOT / "tests").glob("test_*.py"):
        text = test.read_text(encoding="utf-8")
        if "run_page" in text:
            names.update(re.findall(r'"([\w-]+\.md)"', text))
    return names


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_block_is_run_or_skipped_with_a_reason(page: Path) -> None:
    run_by_tests = pages_run_by_tests()
    forgotten = []
    for line, language, before in blocks(page):
        skipped = SKIP.search(before.splitlines()[-1] if before else "")
        if skipped:
            continue
        last = before.splitlines()[-1] if before else ""
        assert not last.startswith("<!-- skip"), f"{page.name}:{line}: a skip needs a reason"
        if language in NOT_CODE:
            continue
        if language not in RUN and NOT_RUN.fullmatch(last):
            continue
        if language in {"json", "toml"} and FILE_INTRO.search(before):
            continue
        if page.name == "README.md" and language == "sh":
            continue  # the set-up block: CI runs it itself (see test_readme.py)
        if language in RUN and page.name in run_by_tests:
            continue
        forgotten.append(f"{page.name}:{line}: ```{language}")
    assert forgotten == []


def test_the_list_of_pages_is_the_docs_folder() -> None:
    assert len(PAGES) >= 20
    assert {p.name for p in PAGES} >= {"campaign.md", "cli.md", "index.md", "README.md"}
