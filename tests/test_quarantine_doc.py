"""docs/quarantine.md runs as written, on the campaign how-to's database, with dates of 2020."""

from __future__ import annotations

import shutil
from pathlib import Path

import gridguard
from doc_runner import new_namespace, run_page
from gridguard.model import QuarantineOrder, ServiceCompletion

ROOT = Path(__file__).resolve().parent.parent


def test_the_quarantine_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    run_page(ROOT / "docs" / "quarantine.md", namespace)
    order = namespace["python"]["order"]
    with gridguard.open(work / "huayuan-campaign.db") as ws:
        stored = ws.get(QuarantineOrder, order.id)
        assert stored.status.value == "ended"
        assert ws.count(ServiceCompletion) == 1
