"""Fixtures of the HTTP plugin's tests."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
# the repository's test helpers (demo_store: the demo, built once per test process)
sys.path.append(str(Path(__file__).resolve().parents[3] / "tests"))
