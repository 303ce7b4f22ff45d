"""docs/cli.md runs as written, in the folder the campaign how-to leaves behind.

Its console examples name the campaign's own places, people and files
(牡丹阁2幢, 报平安.csv, the ids the register import derived), so they run
after docs/campaign.md in the same folder and database; its Python example
runs there too. Synopses are ``text`` blocks and are not run.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from doc_runner import new_namespace, run_page

ROOT = Path(__file__).resolve().parent.parent


def test_the_command_line_page_runs_after_the_campaign(tmp_path: Path) -> None:
    work = tmp_path / "campaign"
    shutil.copytree(ROOT / "docs" / "examples" / "campaign", work)
    namespace = new_namespace(work)
    run_page(ROOT / "docs" / "campaign.md", namespace)
    before = len(namespace["ran"])
    run_page(ROOT / "docs" / "cli.md", namespace)
    ran = namespace["ran"][before:]
    assert len(ran) >= 20
    assert (work / "daily-0127.json").is_file()
    assert (work / "city.db").is_file()
    assert "stats" in namespace["python"]
