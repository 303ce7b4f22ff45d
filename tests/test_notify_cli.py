"""``gridguard notify``: dispatch, status and digest from the command line; the demo step."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

import gridguard
from gridguard.cli import main
from gridguard.notifications import enqueue
from gridguard.notify import Message
from gridguard.testing import sample_records


def _run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), prog_name="gridguard")


def _store(tmp_path: Path, count: int = 3) -> Path:
    db = tmp_path / "n.db"
    with gridguard.open(db) as ws:
        ws.add(sample_records())
        with ws.transaction() as uow:
            enqueue(
                uow,
                [
                    Message(
                        recipient=f"r{n}",
                        subject=f"通知 {n}",
                        body="b",
                        channel="file",
                        area_id="c1",
                    )
                    for n in range(count)
                ],
            )
    return db


def _config(tmp_path: Path, extra: str = "") -> Path:
    config = tmp_path / "notify.toml"
    config.write_text(
        'routes = []\n[channels.file]\ntype = "jsonl"\npath = "out.jsonl"\n'
        '[digest]\nchannels = ["file"]\n' + extra,
        encoding="utf-8",
    )
    return config


def test_dispatch_delivers_and_reports(tmp_path: Path) -> None:
    db, config = _store(tmp_path), _config(tmp_path)
    result = _run("notify", "dispatch", "--db", str(db), "--config", str(config), "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["sent"] == 3
    assert report["outbox"] == {"file": {"sent": 3}}
    lines = (tmp_path / "out.jsonl").read_text("utf-8").splitlines()
    assert sorted(json.loads(line)["subject"] for line in lines) == ["通知 0", "通知 1", "通知 2"]
    again = _run("notify", "dispatch", "--db", str(db), "--config", str(config))
    assert again.exit_code == 0
    assert "已送达 0" in again.output
    status = _run("notify", "status", "--db", str(db), "--config", str(config))
    assert status.output.strip() == "file: 已送达 3"


def test_status_of_an_empty_outbox(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    assert _run("init", "--db", str(db)).exit_code == 0
    result = _run("notify", "status", "--db", str(db), "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == {}


def test_digest_is_enqueued_once_per_day(tmp_path: Path) -> None:
    db, config = (
        _store(tmp_path, 0),
        _config(
            tmp_path,
            '[[contacts]]\nrole = "community_secretary"\narea_id = "east"\nname = "区书记"\n',
        ),
    )
    args = ("notify", "digest", "--db", str(db), "--config", str(config), "--date", "2020-01-26")
    assert "2 条新消息" in _run(*args).output
    assert "0 条新消息" in _run(*args).output


def test_a_bad_setting_is_one_line_naming_it(tmp_path: Path) -> None:
    db = _store(tmp_path)
    config = tmp_path / "bad.toml"
    config.write_text('[channels.hook]\ntype = "jsonl"\n', encoding="utf-8")
    result = _run("notify", "dispatch", "--db", str(db), "--config", str(config))
    assert result.exit_code == 2
    assert "channels.hook.path: required" in result.output
    assert "Traceback" not in result.output
    bad_option = _run(
        "notify", "dispatch", "--db", str(db), "--config", str(_config(tmp_path)), "--timeout", "-1"
    )
    assert bad_option.exit_code == 2
    assert "--timeout" in bad_option.output


def test_the_demo_step_delivers_the_outbox_to_a_file(tmp_path: Path) -> None:
    """The last demo step, after the Huayuan build: the day's digest, delivered to the file."""
    from gridguard.demo import DemoContext, QuietProgress, build_huayuan
    from gridguard.demo._notify import configure, dispatch
    from gridguard.synth import huayuan

    out = tmp_path / "demo"
    with gridguard.open(tmp_path / "demo.db") as ws:
        ctx = DemoContext(
            ws=ws, scenario=huayuan(2020), seed=2020, out=out, progress=QuietProgress()
        )
        build_huayuan(ctx)
        configure(ctx)
        with ws.transaction() as uow:  # a message an earlier step enqueued, on the demo's channel
            enqueue(
                uow,
                [
                    Message(
                        recipient="grid_worker",
                        subject="s",
                        body="b",
                        area_id="442000002003",
                        channel="file",
                    )
                ],
            )
        dispatch(ctx)
    assert ctx.summary["notifications_sent"] == 2
    assert ctx.summary["notifications_dead"] == 0
    assert ctx.summary["notifications_undeliverable"] == 0
    assert ("notifications_sent", "Notifications sent 通知已送达", "") in ctx.rows
    lines = [
        json.loads(line) for line in (out / "notifications.jsonl").read_text("utf-8").splitlines()
    ]
    assert sorted(line["topic"] for line in lines) == ["digest", "notice"]
    digest = next(line for line in lines if line["topic"] == "digest")
    assert digest["subject"] == "华苑社区 2020-01-25 日报"
