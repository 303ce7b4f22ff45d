"""The demo's JSON summary, the daily report and the census agree on every shared figure.

Campaigns drawn at random: the demo's seed decides the city, the sweep,
the screening answers, the check-ins, the services and the quarantines.
For the daily report of the summary's report day, every figure that the
summary also gives (under the report's name or the one listed in
``SAME``) has the same value, the quarantine figures equal the census's
of that day, and a figure name the two share is either the same figure
or listed in ``OTHER_PERIOD`` with the reason it differs.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from gridguard.cli import main
from gridguard.quarantine import census
from gridguard.report.document import Figures
from gridguard.reporting import daily_report
from gridguard.workspace import open_workspace

SAME = {
    "households": "households",
    "households_visited": "households_visited",
    "households_screened": "households_screened",
    "flagged_persons": "persons_flagged",
    "notifications_undeliverable": "notifications_undeliverable",
}
"""Summary key -> the daily report's figure for the same count on the report's day."""

OTHER_PERIOD = {
    "checkins": "the summary counts the week's check-ins, the report the day's",
    "service_requests": "the summary counts every request of the demo, the report the day's",
}
"""Names the summary and the report share for figures over different periods, and why."""


def _demo(folder: Path, seed: int) -> dict[str, Any]:
    """``gridguard demo --json`` into ``folder``: its summary."""
    args = ["demo", "--json", "--out", str(folder), "--seed", str(seed)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


def _figures(report: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _, block in report.blocks():
        if isinstance(block, Figures):
            for item in block.items:
                assert found.get(item.key, item.value) == item.value, item.key
                found[item.key] = item.value
    return found


@settings(max_examples=2, deadline=None, phases=[Phase.explicit, Phase.generate])
@given(seed=st.integers(0, 100_000))
def test_summary_report_and_census_agree(seed: int) -> None:
    # A demo takes seconds: two seeds a run, and no shrinking (a seed does not shrink).
    with tempfile.TemporaryDirectory() as folder:
        summary = _demo(Path(folder), seed)
        day = dt.date.fromisoformat(summary["daily_report_day"])
        with open_workspace(Path(folder) / "huayuan.db") as ws:
            report = daily_report(ws, day=day)
            rows = census(ws, day=day)
    figures = _figures(report)
    assert summary["screening_day"] == summary["daily_report_day"]
    for ours, theirs in SAME.items():
        assert summary[ours] == figures[theirs], (seed, ours)
    by_risk = summary["screening_by_risk"]
    for risk in ("high", "medium", "low"):
        assert by_risk.get(risk, 0) == figures[f"risk_{risk}"], (seed, risk)
    shared = (set(summary) & set(figures)) - set(SAME.values())
    assert shared <= set(OTHER_PERIOD), f"a name for two figures: {shared - set(OTHER_PERIOD)}"
    assert figures["quarantine_active"] == sum(r.active for r in rows)
    assert figures["quarantine_new"] == sum(r.new_today for r in rows)
    assert figures["quarantine_ending"] == sum(r.ending_today for r in rows)
    assert figures["quarantine_released"] == sum(r.released_today for r in rows)
