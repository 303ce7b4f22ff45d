"""The README's quickstart runs as written and prints what its comment says."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

README = Path(__file__).resolve().parent.parent / "README.md"


def _python_blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", README.read_text(encoding="utf-8"), flags=re.S)


def test_quickstart_runs_and_prints_its_promise(tmp_path: Path) -> None:
    (block,) = _python_blocks()
    assert len(block.strip().splitlines()) <= 16
    done = subprocess.run(
        [sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    promised = re.search(r"# (.+)$", block.strip().splitlines()[-1])
    assert promised is not None
    assert done.stdout.strip() == promised.group(1).strip()
    assert (tmp_path / "huayuan.db").exists()


def test_readme_gives_the_two_set_up_commands() -> None:
    text = README.read_text(encoding="utf-8")
    commands = re.search(r"```sh\n(.*?)```", text, flags=re.S)
    assert commands is not None
    lines = [ln for ln in commands.group(1).splitlines() if ln and not ln.startswith("#")]
    assert len(lines) == 2
    assert lines[0].endswith("gridguard demo")
    assert "nox -s tests" in lines[1]
    ci = (README.parent / ".ci" / "run").read_text(encoding="utf-8")
    assert "nox -s tests" in ci
