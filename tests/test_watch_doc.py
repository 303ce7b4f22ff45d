"""docs/watch.md runs as written, on the campaign how-to's store."""

from __future__ import annotations

import shutil
from pathlib import Path

from doc_runner import new_namespace, run_page

ROOT = Path(__file__).resolve().parent.parent


def test_the_watch_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    run_page(ROOT / "docs" / "watch.md", namespace)
    python = namespace["python"]
    assert python["report"].enqueued >= 0
    silent = [m.place_id for m in python["silent"]]
    assert "b-011194e8675fc97e2f80" not in silent  # 牡丹阁2幢 reported on 26 January
    assert silent == ["b-28e6b172d6a92e7166e0"]  # 牡丹阁1幢's observer began on the 27th
    python["ws"].close()
