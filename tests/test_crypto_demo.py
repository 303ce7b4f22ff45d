"""The whole Huayuan demo on an encrypted store: the same figures, nothing in clear on disk."""

from __future__ import annotations

import base64
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from gridguard.cli import main
from gridguard.security.crypto import KEY_ENV, KEY_FILE_ENV
from test_crypto_store import leaks, number_forms, phone_forms, raw_bytes

TIMINGS = ("seconds",)


def _demo(folder: Path, env: dict[str, str]) -> dict[str, Any]:
    result = CliRunner().invoke(main, ["demo", "--json", "--out", str(folder)], env=env)
    assert result.exit_code == 0, result.output
    summary: dict[str, Any] = json.loads(result.stdout.replace(str(folder), "<out>"))
    return {k: v for k, v in summary.items() if not k.endswith(TIMINGS)}


def _messages(folder: Path) -> list[tuple[Any, ...]]:
    """The messages the demo delivered, without their times (and so in any order)."""
    lines = (folder / "notifications.jsonl").read_text(encoding="utf-8").splitlines()
    return sorted(
        (m["recipient"], m["topic"], m["subject"], m["body"]) for m in map(json.loads, lines)
    )


def test_the_demo_runs_the_same_on_an_encrypted_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.delenv(KEY_FILE_ENV, raising=False)
    plain = _demo(tmp_path / "plain", {})
    sealed = _demo(tmp_path / "sealed", {KEY_ENV: base64.b64encode(bytes(range(32))).decode()})
    assert sealed == plain
    for name in ("daily-2020-01-30.txt", "travellers-wuhan.csv"):
        assert (tmp_path / "sealed" / name).read_bytes() == (tmp_path / "plain" / name).read_bytes()
    reports = [
        json.loads((tmp_path / side / "daily-2020-01-30.json").read_text(encoding="utf-8"))
        for side in ("sealed", "plain")
    ]
    for report in reports:
        report.pop("generated_at")
    assert reports[0] == reports[1]
    assert _messages(tmp_path / "sealed") == _messages(tmp_path / "plain")
    with sqlite3.connect(tmp_path / "plain" / "huayuan.db") as conn:
        numbers = [r for (r,) in conn.execute("SELECT resident_id FROM persons") if r]
        phones = [
            p
            for (p,) in conn.execute("SELECT phone FROM persons UNION SELECT phone FROM households")
            if p
        ]
    secrets = {f for n in numbers for f in number_forms(n)} | {
        f for p in phones for f in phone_forms(p)
    }
    assert len(numbers) > 10_000
    assert leaks(raw_bytes(tmp_path / "plain" / "huayuan.db"), secrets)
    assert leaks(raw_bytes(tmp_path / "sealed" / "huayuan.db"), secrets) == set()
