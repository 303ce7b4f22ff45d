"""The reference and how-to pages run as written, in a folder holding the demo's store.

Pages that speak of ``huayuan.db`` run in a fresh folder with a copy of the
store ``gridguard demo`` builds (made once per session), so their ids (``hy``,
``hy-g1``, the demo's people) exist. Each page's ``console`` and ``python``
blocks run through the sybil runner (:mod:`doc_runner`); a block skipped on
purpose names its reason, which is recorded.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from doc_runner import new_namespace, run_page
from gridguard.cli import main

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    "architecture.md",
    "concepts.md",
    "encryption.md",
    "fhir.md",
    "hooks.md",
    "html.md",
    "http.md",
    "index.md",
    "notifications.md",
    "performance.md",
    "postgres.md",
    "security.md",
    "storage.md",
    "README.md",
]


SCHEMA = re.compile(r"[?&]schema=([a-z0-9_]+)")
"""A schema named in a PostgreSQL URL of a page."""


def drop_schemas(url: str, *names: str) -> None:
    """Drop the schemas the PostgreSQL page creates, so that it runs on an empty store each time."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as connection:
        for name in names:
            connection.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    result = CliRunner().invoke(main, ["demo", "--out", str(out)])
    assert result.exit_code == 0, result.output
    return out / "huayuan.db"


@pytest.mark.parametrize("name", PAGES)
def test_the_page_runs_as_written(name: str, demo_store: Path, tmp_path: Path) -> None:
    shutil.copy(demo_store, tmp_path / "huayuan.db")
    namespace = new_namespace(tmp_path)
    namespace["postgres_url"] = (
        os.environ.get("GRIDGUARD_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
        if os.environ.get("CI")
        else None
    )
    page = ROOT / name if name == "README.md" else ROOT / "docs" / name
    if namespace["postgres_url"]:
        # Every schema the page names starts empty, whatever an earlier run left there.
        drop_schemas(namespace["postgres_url"], *sorted(set(SCHEMA.findall(page.read_text()))))
    if name == "notifications.md":
        # The tutorial's plugin, as the reader would install it (its contract suite runs there).
        import test_notify_docs  # noqa: F401
    run_page(page, namespace)
    skipped = namespace.get("skipped", [])
    if namespace["postgres_url"]:
        assert not [reason for reason in skipped if "PostgreSQL server" in reason]
    assert all(len(reason.partition(": ")[2]) >= 10 for reason in skipped), skipped
