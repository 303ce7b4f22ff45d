"""docs/targeting.md runs as written, on the campaign how-to's store."""

from __future__ import annotations

import shutil
from pathlib import Path

from doc_runner import new_namespace, run_page

ROOT = Path(__file__).resolve().parent.parent


def test_the_targeting_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    run_page(ROOT / "docs" / "targeting.md", namespace)
    python = namespace["python"]
    assert python["result"].unchanged == 5  # the areas again
    assert python["plan"].shifts
