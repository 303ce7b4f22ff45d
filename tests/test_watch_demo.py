"""The demo's building watch: the week's check-ins, a few missed, escalated once per day."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gridguard.cli import main


def _demo(folder: Path, seed: int = 2020) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["demo", "--json", "--out", str(folder), "--seed", str(seed)])
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout)
    return summary


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    folder = tmp_path_factory.mktemp("watch-demo")
    return _demo(folder), folder / "huayuan.db"


def test_the_watch_reports_its_figures(demo: tuple[dict[str, Any], Path]) -> None:
    summary, _ = demo
    observers = summary["observers"]
    days = 6
    assert summary["checkins"] + summary["missed_checkins"] == observers * days
    assert 0 < summary["missed_checkins"] < observers * days * 0.1
    assert summary["escalations"] > 0
    assert summary["escalations_repeat"] == 0


def test_the_database_holds_what_the_summary_says(demo: tuple[dict[str, Any], Path]) -> None:
    summary, db = demo
    with sqlite3.connect(db) as conn:
        (checkins,) = conn.execute("SELECT count(*) FROM checkins").fetchone()
        (watch_tasks,) = conn.execute(
            "SELECT count(*) FROM tasks WHERE rule_set_id = 'building_watch'"
        ).fetchone()
        topics = dict(
            conn.execute(
                "SELECT topic, count(*) FROM outbox WHERE topic IN "
                "('checkin_reminder', 'missing_checkin', 'missing_checkin_escalated') "
                "GROUP BY topic"
            ).fetchall()
        )
    assert checkins == summary["checkins"]
    assert watch_tasks == summary["watch_tasks"]
    # One reminder per missed building-day: the observer hears once, however often the job ran.
    assert topics["checkin_reminder"] == summary["missed_checkins"]
    assert sum(topics.values()) == summary["escalations"]


def test_the_same_seed_gives_the_same_week(
    demo: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    summary, _ = demo
    again = _demo(tmp_path)
    keys = ("checkins", "missed_checkins", "checkin_anomalies", "watch_tasks", "escalations")
    assert {k: again[k] for k in keys} == {k: summary[k] for k in keys}


def test_the_step_runs_right_after_screening() -> None:
    from gridguard.demo import DEMO_STEPS

    after_screen = DEMO_STEPS[DEMO_STEPS.index("gridguard.rules.demo:screen") + 1]
    assert after_screen == "gridguard.watch.demo:watch"


@pytest.mark.parametrize(
    "topic",
    ["checkin_reminder", "missing_checkin_escalated", "missing_point_report", "stranger"],
)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_watch_topic_has_a_template_and_a_route(topic: str, locale: str) -> None:
    from gridguard.notify.settings import NotifySettings
    from gridguard.notify.templates import TEMPLATES, Renderer

    assert set(TEMPLATES[locale][topic]) == {"subject", "body"}
    rendered = Renderer(locale).render(
        topic, {"building": "牡丹阁3栋", "observer": "陈建国", "date": "2020-01-26"}
    )
    assert "牡丹阁3栋" in rendered.subject
    assert "陈建国" not in rendered.body  # the observer's name is masked
    assert NotifySettings().route(topic) is not None
