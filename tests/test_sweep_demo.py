"""The demo's sweep: the figures of the Huayuan account, from a seeded run."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

SWEEP_KEYS = (
    "days_to_cover",
    "households_visited",
    "households_phoned",
    "households_per_team_shift",
    "households_screened",
    "households_unreachable",
    "households_refused",
    "households_vacant",
    "persons_screened",
    "persons_filed",
    "team_shifts",
)


def test_the_sweep_matches_the_account(huayuan_demo: tuple[dict[str, Any], Path]) -> None:
    summary, _ = huayuan_demo
    assert set(SWEEP_KEYS) <= set(summary)
    assert summary["stairwells"] == 430
    assert summary["days_to_cover"] <= 6  # 25-30 January
    assert summary["days_to_cover_lower_bound"] <= summary["days_to_cover"]
    assert summary["households_visited"] == summary["households"] > 4_000
    assert 85 <= summary["households_per_team_shift"] <= 100  # "about 100 per afternoon"
    assert summary["sweep_teams_per_day"].endswith("-20")  # ramping up to 20 teams
    not_home = summary["households_not_home"]
    assert 0.08 * summary["households"] < not_home < 0.25 * summary["households"]
    assert 0 < summary["households_phoned"] <= not_home
    assert summary["households_unreachable"] < summary["households_phoned"]
    assert 0 < summary["households_refused"] < 50
    assert 0 < summary["households_vacant"] < 200
    assert 0.9 * summary["persons"] < summary["persons_screened"] <= summary["persons"]
    assert 0 < summary["persons_filed"] < 0.05 * summary["persons"]
    if summary.get("priority_households"):  # targeting ran first: its households go first
        priority, everyone = (
            int(x.strip(" %")) for x in summary["priority_households_visited_early"].split("/")
        )
        assert priority > everyone


def test_the_database_holds_what_the_summary_says(
    huayuan_demo: tuple[dict[str, Any], Path],
) -> None:
    summary, db = huayuan_demo
    conn = sqlite3.connect(db)
    try:
        door_days = conn.execute(
            "SELECT count(DISTINCT substr(\"at\", 1, 10)) FROM visits WHERE channel = 'door'"
        ).fetchone()[0]
        phoned = conn.execute(
            "SELECT count(DISTINCT household_id) FROM visits WHERE channel = 'phone'"
        ).fetchone()[0]
        wuhan = conn.execute(
            "SELECT count(*) FROM screenings WHERE trips LIKE '%武汉%'"
        ).fetchone()[0]
        temperatures = conn.execute(
            "SELECT min(temperature), max(temperature) FROM screenings"
        ).fetchone()
        orphans = conn.execute(
            "SELECT count(*) FROM screenings s JOIN visits v ON v.id = s.visit_id "
            "JOIN persons p ON p.id = s.person_id WHERE p.household_id <> v.household_id"
        ).fetchone()[0]
    finally:
        conn.close()
    assert door_days == summary["days_to_cover"]
    assert phoned == summary["households_phoned"]
    assert 0 < wuhan < 0.01 * summary["persons"]
    assert temperatures[0] >= 36.0
    assert temperatures[1] <= 38.5
    assert orphans == 0


def test_the_same_seed_sweeps_the_same_way(
    huayuan_demo: tuple[dict[str, Any], Path], huayuan_demo_again: dict[str, Any]
) -> None:
    summary, _ = huayuan_demo
    again = huayuan_demo_again
    assert {k: again[k] for k in SWEEP_KEYS} == {k: summary[k] for k in SWEEP_KEYS}
