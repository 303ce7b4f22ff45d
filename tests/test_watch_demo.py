"""The demo's building watch: the week's check-ins, a few missed, escalated once per day."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest


def test_the_watch_reports_its_figures(huayuan_demo: tuple[dict[str, Any], Path]) -> None:
    summary, _ = huayuan_demo
    observers = summary["observers"]
    days = 6
    assert summary["checkins"] + summary["missed_checkins"] == observers * days
    assert 0 < summary["missed_checkins"] < observers * days * 0.1
    assert summary["escalations"] > 0
    assert summary["escalations_repeat"] == 0


def test_the_database_holds_what_the_summary_says(
    huayuan_demo: tuple[dict[str, Any], Path],
) -> None:
    summary, db = huayuan_demo
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
    huayuan_demo: tuple[dict[str, Any], Path], huayuan_demo_again: dict[str, Any]
) -> None:
    summary, _ = huayuan_demo
    again = huayuan_demo_again
    keys = ("checkins", "missed_checkins", "checkin_anomalies", "watch_tasks", "escalations")
    assert {k: again[k] for k in keys} == {k: summary[k] for k in keys}


def test_the_step_runs_right_after_screening() -> None:
    from gridguard.demo import DEMO_STEPS

    after_screen = DEMO_STEPS[DEMO_STEPS.index("gridguard.demo._screening:screen") + 1]
    assert after_screen == "gridguard.demo._watch:watch"


@pytest.mark.parametrize(
    "topic",
    ["checkin_reminder", "missing_checkin_escalated", "missing_point_report", "stranger"],
)
@pytest.mark.parametrize("locale", ["zh-CN", "en"])
def test_every_watch_topic_has_a_template_and_a_route(topic: str, locale: str) -> None:
    from gridguard.notifications.settings import NotifySettings
    from gridguard.notifications.templates import TEMPLATES, Renderer

    assert set(TEMPLATES[locale][topic]) == {"subject", "body"}
    rendered = Renderer(locale).render(
        topic, {"building": "牡丹阁3栋", "observer": "陈建国", "date": "2020-01-26"}
    )
    assert "牡丹阁3栋" in rendered.subject
    assert "陈建国" not in rendered.body  # the observer's name is masked
    assert NotifySettings().route(topic) is not None
