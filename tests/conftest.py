"""Shared test configuration.

Hypothesis profiles: ``ci`` (the default: 50 examples, no deadline),
``dev`` (Hypothesis defaults without a deadline) and ``thorough`` (500
examples). Pick one with ``HYPOTHESIS_PROFILE=thorough pytest``.

``huayuan_demo`` runs ``gridguard demo`` once per session for every module
that checks what the demo left behind; ``huayuan_demo_again`` runs it a
second time with the same seed, to check that it repeats.

``site`` is a folder on ``sys.path`` in which a test installs plugin
distributions with entry points (:mod:`plugin_site`).

Every test gets an empty cache folder of its own (``GRIDGUARD_CACHE_DIR``),
so the ``--help`` listing of one test never answers for another.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, settings

from demo_store import huayuan, run_demo
from plugin_site import site

__all__ = ["run_demo", "site"]

settings.register_profile(
    "ci", max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile("dev", deadline=None)
settings.register_profile("thorough", max_examples=500, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))


@pytest.fixture(autouse=True)
def _own_cache(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GRIDGUARD_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))


@pytest.fixture(scope="session")
def huayuan_demo() -> tuple[dict[str, Any], Path]:
    """The demo's summary and its SQLite database (read it, do not change it)."""
    summary, folder = huayuan()
    return summary, folder / "huayuan.db"


@pytest.fixture(scope="session")
def huayuan_demo_again(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The summary of a second demo run with the same seed."""
    return run_demo(tmp_path_factory.mktemp("huayuan-demo-again"))
