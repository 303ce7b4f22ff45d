"""docs/reports.md runs as written, on the campaign how-to's store."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

from doc_runner import new_namespace, run_page

ROOT = Path(__file__).resolve().parent.parent


def test_the_reports_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    run_page(ROOT / "docs" / "reports.md", namespace)
    python = namespace["python"]
    with open(work / "走访.csv", encoding="gbk", newline="") as handle:
        addresses = {row["地址"] for row in csv.DictReader(handle)}
    assert python["visited"] == len(addresses)  # the households of the visit file
    assert (work / "progress.csv").is_file()
    assert (work / "daily.csv").is_file()
    assert "markdown" not in python  # the reporter is only defined, not registered
    assert python["MarkdownReporter"].suffix == ".md"
