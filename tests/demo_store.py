"""The Huayuan demo, run once per test process for every test that reads what it left.

``tests/conftest.py`` serves it as the ``huayuan_demo`` fixture, and the
plugins' tests import this module too (it is the same module in one
process), so a run of the whole suite builds the demo once.
"""

from __future__ import annotations

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path
from typing import Any


def run_demo(folder: Path, seed: int = 2020) -> dict[str, Any]:
    """Run ``gridguard demo --json`` into ``folder`` and return its summary."""
    from click.testing import CliRunner

    from gridguard.cli import main

    result = CliRunner().invoke(main, ["demo", "--json", "--out", str(folder), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


@functools.cache
def huayuan() -> tuple[dict[str, Any], Path]:
    """The demo's summary and its folder (read them, do not change them)."""
    folder = Path(tempfile.mkdtemp(prefix="huayuan-demo-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return run_demo(folder), folder
