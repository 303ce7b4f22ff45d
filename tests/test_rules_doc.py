"""docs/rules.md runs as written, on the campaign how-to's store (condition snippets skipped)."""

from __future__ import annotations

import shutil
from pathlib import Path

from doc_runner import new_namespace, run_page

ROOT = Path(__file__).resolve().parent.parent


def test_the_rules_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    before = len(namespace["ran"])
    run_page(ROOT / "docs" / "rules.md", namespace)
    assert len(namespace["ran"]) - before == 4
    assert (work / "our-rules.toml").is_file()
    assert namespace["python"]["result"].summary()["day"] == "2020-01-30"
